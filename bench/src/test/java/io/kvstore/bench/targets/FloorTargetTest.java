package io.kvstore.bench.targets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.PageFormat;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class FloorTargetTest {

  private static final long NS = 99;
  private static final int PAYLOAD = 16 << 10;
  private static final int LENGTH = PageFormat.pageLength(PAYLOAD);
  /** Slots of 20 KiB (the page rounded up to 4 KiB): four of them. */
  private static final long FOUR_PAGES = 4 * 20 << 10;

  private static long[] keys(long first, int n) {
    long[] k = new long[2 * n];
    for (int i = 0; i < n; i++) {
      k[2 * i] = 7;
      k[2 * i + 1] = first + i;
    }
    return k;
  }

  @Test
  void shouldLendReadOnlyPagesThatVerifyAsCompareVerifiesThem() throws IOException {
    try (FloorTarget t = new FloorTarget(NS, 1 << 20); Session s = t.openSession()) {
      assertTrue(s.fetchesInPlace());
      long[] k = keys(100, 3);
      ByteBuffer[] views = new ByteBuffer[3];
      assertEquals(3, s.fetchPrefixInPlace(k, 3, views, LENGTH));
      for (int i = 0; i < 3; i++) {
        assertTrue(BenchPages.verify(views[i], 7, 100 + i, NS, LENGTH), "page " + i);
        assertTrue(views[i].isReadOnly());
        assertEquals(LENGTH, views[i].remaining());
      }
      s.releaseFetched();
    }
  }

  @Test
  void shouldNeverLendOneSlotToTwoSessionsAtOnce() throws IOException {
    try (FloorTarget t = new FloorTarget(NS, FOUR_PAGES);
        Session a = t.openSession();
        Session b = t.openSession()) {
      ByteBuffer[] va = new ByteBuffer[2];
      ByteBuffer[] vb = new ByteBuffer[2];
      a.fetchPrefixInPlace(keys(0, 2), 2, va, LENGTH);
      b.fetchPrefixInPlace(keys(10, 2), 2, vb, LENGTH);
      // Had b stamped a slot a holds, a's page would carry b's key.
      for (int i = 0; i < 2; i++) {
        assertTrue(BenchPages.verify(va[i], 7, i, NS, LENGTH), "a's page " + i);
        assertTrue(BenchPages.verify(vb[i], 7, 10 + i, NS, LENGTH), "b's page " + i);
      }
      // Every slot is lent: one more is refused with a message, not stamped over a held page.
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> a.fetchPrefixInPlace(keys(20, 5), 5, new ByteBuffer[5], LENGTH));
      assertTrue(e.getMessage().contains("--working-set"), e.getMessage());
      // That fetch released a's earlier pages first; b's are still held and intact.
      for (int i = 0; i < 2; i++) {
        assertTrue(BenchPages.verify(vb[i], 7, 10 + i, NS, LENGTH), "b's page " + i);
      }
      b.releaseFetched();
      a.releaseFetched();
      ByteBuffer[] all = new ByteBuffer[4];
      assertEquals(4, a.fetchPrefixInPlace(keys(30, 4), 4, all, LENGTH), "released slots are free");
    }
  }

  @Test
  void shouldLendIntactPagesOfOneLengthAfterPagesOfAnother() throws IOException {
    // 4 KiB pages fill a 64 KiB working set, so their headers land inside the 16 KiB pages'
    // payloads that follow: released, they must leave the pattern as it was (compare's matrix runs
    // 64 KiB cells, then 2 MiB cells, on one target).
    int small = PageFormat.pageLength(4000);
    try (FloorTarget t = new FloorTarget(NS, 64 << 10); Session s = t.openSession()) {
      for (int round = 0; round < 3; round++) {
        ByteBuffer[] smallViews = new ByteBuffer[16];
        assertEquals(16, s.fetchPrefixInPlace(keys(0, 16), 16, smallViews, small));
        for (int i = 0; i < 16; i++) {
          assertTrue(BenchPages.verify(smallViews[i], 7, i, NS, small), "small page " + i);
        }
        s.releaseFetched();
        ByteBuffer[] views = new ByteBuffer[3];
        assertEquals(3, s.fetchPrefixInPlace(keys(100, 3), 3, views, LENGTH),
            "round " + round);
        for (int i = 0; i < 3; i++) {
          assertTrue(BenchPages.verify(views[i], 7, 100 + i, NS, LENGTH), "round " + round
              + ", page " + i);
        }
        s.releaseFetched();
      }
    }
  }

  @Test
  void shouldStorePutsApartFromTheLentPages() throws IOException {
    try (FloorTarget t = new FloorTarget(NS, FOUR_PAGES); Session s = t.openSession()) {
      ByteBuffer page = ByteBuffer.allocateDirect(LENGTH);
      BenchPages.build(page, BenchPages.payloadTemplate(PAYLOAD, 3), 7, 1, 0, 0, NS, 16, PAYLOAD);
      ByteBuffer[] pages = {page.duplicate(), page.duplicate()};
      for (int round = 0; round < 3; round++) {
        assertEquals(2, s.put(pages, 2));
      }
      assertEquals(0, pages[0].position(), "positions left as they were");
      ByteBuffer[] views = new ByteBuffer[4];
      assertEquals(4, s.fetchPrefixInPlace(keys(0, 4), 4, views, LENGTH));
      for (int i = 0; i < 4; i++) {
        assertTrue(BenchPages.verify(views[i], 7, i, NS, LENGTH), "page " + i);
      }
    }
  }

  @Test
  void shouldRefuseAWorkingSetOutOfRangeAndAPageLargerThanIt() throws IOException {
    assertThrows(IllegalArgumentException.class, () -> new FloorTarget(NS, 0));
    assertThrows(IllegalArgumentException.class, () -> new FloorTarget(NS, (1L << 30) + 1));
    try (FloorTarget t = new FloorTarget(NS, 8 << 10); Session s = t.openSession()) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> s.fetchPrefixInPlace(keys(0, 1), 1, new ByteBuffer[1], LENGTH));
      assertTrue(e.getMessage().contains("larger than the floor's working set"), e.getMessage());
    }
  }
}
