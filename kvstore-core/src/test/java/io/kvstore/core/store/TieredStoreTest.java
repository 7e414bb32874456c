package io.kvstore.core.store;

import static io.kvstore.core.store.StoreFixtures.MAX_PAGE;
import static io.kvstore.core.store.StoreFixtures.dst;
import static io.kvstore.core.store.StoreFixtures.small;
import static io.kvstore.core.store.StoreFixtures.whereIs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.BlockHasher;
import io.kvstore.common.BlockKey;
import io.kvstore.common.Namespace;
import io.kvstore.common.PageFormat;
import io.kvstore.core.index.IndexEntry;
import io.kvstore.core.tier.PinnedPage;
import io.kvstore.core.tier.TestPages;
import io.kvstore.core.tier.TierKind;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TieredStoreTest {

  private static final int PAYLOAD = 8 * 1024;

  @TempDir Path dir;

  @Test
  void shouldReturnExactBytesFromWhicheverTierHoldsThePage() throws InterruptedException {
    try (TieredStore store = small(dir).build()) {
      // 200 pages of 8 KiB: far more than the hot and DRAM tiers hold, so most end on SSD.
      for (int k = 0; k < 200; k++) {
        assertTrue(store.put(TestPages.page(1, k, 1, PAYLOAD)));
      }
      assertTrue(store.awaitWriteBack(30_000));
      StoreStats s = store.stats();
      assertTrue(s.tier(TierKind.DRAM).demotions() > 0, "hot evictions were written to DRAM");
      assertTrue(s.tier(TierKind.SSD).demotions() > 0, "DRAM evictions were written to SSD");
      for (TierKind memoryTier : new TierKind[] {TierKind.HOT, TierKind.DRAM}) {
        StoreStats.TierStats t = s.tier(memoryTier);
        assertTrue(t.memoryBytes() >= t.usedBytes() && t.usedBytes() > 0,
            memoryTier + " holds the memory its pages use: " + t);
      }
      assertEquals(0, s.tier(TierKind.SSD).memoryBytes(), "the SSD tier's pages are on disk");
      ByteBuffer dst = dst();
      for (int k = 0; k < 200; k++) {
        dst.clear();
        int n = store.get(1, k, dst);
        assertEquals(PageFormat.pageLength(PAYLOAD), n, "page " + k + " is held by some tier");
        TestPages.check(dst.flip(), 1, k);
      }
      assertEquals(0, store.stats().misses());
    }
  }

  @Test
  void shouldPromoteAPageFoundBelowTheFastestTier() throws InterruptedException {
    try (TieredStore store = small(dir).build()) {
      for (int k = 0; k < 100; k++) {
        store.put(TestPages.page(2, k, 1, PAYLOAD));
      }
      assertTrue(store.awaitWriteBack(30_000)); // on SSD, not waiting in the write-back queue
      assertEquals(TierKind.SSD, whereIs(store, 2, 0), "the first page went down to SSD");
      ByteBuffer dst = dst();
      store.get(2, 0, dst);
      TestPages.check(dst.flip(), 2, 0);
      assertEquals(TierKind.HOT, whereIs(store, 2, 0), "a hit on SSD promotes to the hot tier");
      StoreStats s = store.stats();
      assertEquals(1, s.tier(TierKind.SSD).hits());
      assertEquals(1, s.tier(TierKind.HOT).promotions());
      dst.clear();
      store.get(2, 0, dst);
      assertEquals(1, store.stats().tier(TierKind.HOT).hits());
    }
  }

  @Test
  void shouldRejectAMalformedPageWithItsCodeAndStoreNothing() {
    try (TieredStore store = small(dir).build()) {
      ByteBuffer page = TestPages.page(3, 1, 1, 1000);
      page.put(PageFormat.HEADER_LENGTH + 10, (byte) (page.get(PageFormat.HEADER_LENGTH + 10) ^ 1));
      BadPageException e = assertThrows(BadPageException.class, () -> store.put(page));
      assertEquals(PageFormat.ERR_PAYLOAD_CRC, e.code());
      assertTrue(e.getMessage().contains("payload checksum"), e.getMessage());

      ByteBuffer shortPage = ByteBuffer.allocate(10);
      assertEquals(
          PageFormat.ERR_TOO_SHORT,
          assertThrows(BadPageException.class, () -> store.put(shortPage)).code());
      assertEquals(-1, store.get(3, 1, dst()));
      assertEquals(0, store.stats().puts());
    }
  }

  @Test
  void shouldRefuseAPageLargerThanEveryTier() {
    try (TieredStore store = small(dir).ssdBytes(0).build()) {
      assertFalse(store.put(TestPages.page(4, 1, 1, MAX_PAGE))); // header pushes it past the max
      assertEquals(1, store.stats().putRejects());
    }
  }

  @Test
  void shouldNeverServeAnOlderVersionAfterAReplace() {
    try (TieredStore store = small(dir).build()) {
      store.put(TestPages.page(5, 0, 1, PAYLOAD));
      for (int k = 1; k < 100; k++) {
        store.put(TestPages.page(5, k, 1, PAYLOAD));
      }
      assertEquals(TierKind.SSD, whereIs(store, 5, 0));
      store.put(TestPages.page(5, 0, 2, PAYLOAD)); // version 2 goes to the hot tier
      ByteBuffer dst = dst();
      store.get(5, 0, dst);
      assertEquals(2, TestPages.check(dst.flip(), 5, 0));
      // Push version 2 all the way down again: it must replace version 1 on SSD.
      for (int k = 100; k < 200; k++) {
        store.put(TestPages.page(5, k, 1, PAYLOAD));
      }
      dst.clear();
      assertTrue(store.get(5, 0, dst) > 0);
      assertEquals(2, TestPages.check(dst.flip(), 5, 0));
    }
  }

  @Test
  void shouldDeleteFromEveryTier() {
    try (TieredStore store = small(dir).build()) {
      for (int k = 0; k < 100; k++) {
        store.put(TestPages.page(6, k, 1, PAYLOAD));
      }
      ByteBuffer dst = dst();
      store.get(6, 0, dst); // now on SSD and promoted to hot: two copies
      assertTrue(store.delete(6, 0));
      assertNull(whereIs(store, 6, 0));
      assertEquals(-1, store.get(6, 0, dst.clear()));
      assertFalse(store.delete(6, 0));
      assertEquals(1, store.stats().deletes());
    }
  }

  @Test
  void shouldReportTheLeadingRunAndWhereItsBlocksAre() {
    Namespace ns =
        Namespace.builder()
            .modelId("test/model")
            .dtype("bfloat16")
            .numLayers(2)
            .numKvHeads(2)
            .headDim(64)
            .blockSize(16)
            .build();
    int[] tokens = new SplittableRandom(1).ints(16 * 60, 0, 32000).toArray();
    BlockKey[] keys = BlockHasher.keys(ns, tokens);
    try (TieredStore store = small(dir).build()) {
      BlockKey parent = BlockKey.ROOT_PARENT;
      for (int i = 0; i < 50; i++) {
        ByteBuffer payload = ByteBuffer.allocate(PAYLOAD);
        payload.putLong(0, i);
        assertTrue(store.put(keys[i], parent, ns.id(), 16, payload));
        parent = keys[i];
      }
      long[] chain = new long[2 * keys.length];
      for (int i = 0; i < keys.length; i++) {
        chain[2 * i] = keys[i].hi();
        chain[2 * i + 1] = keys[i].lo();
      }
      int[] perTier = new int[3];
      assertEquals(50, store.lookupPrefix(chain, keys.length, perTier));
      assertEquals(50, perTier[0] + perTier[1] + perTier[2]);
      assertTrue(perTier[TierKind.HOT.ordinal()] > 0 && perTier[TierKind.SSD.ordinal()] > 0);

      store.delete(keys[10].hi(), keys[10].lo());
      assertEquals(10, store.lookupPrefix(chain, keys.length, perTier), "the run stops at a hole");
      assertEquals(0, store.lookupPrefix(chain, 0, null));
      assertThrows(IllegalArgumentException.class, () -> store.lookupPrefix(chain, 61, null));
    }
  }

  @Test
  void shouldPrefetchPagesFromSsdIntoMemory() throws Exception {
    try (TieredStore store = small(dir).build()) {
      for (int k = 0; k < 100; k++) {
        store.put(TestPages.page(7, k, 1, PAYLOAD));
      }
      long[] keys = {7, 0, 7, 1, 7, 2};
      for (int i = 0; i < 3; i++) {
        assertEquals(TierKind.SSD, whereIs(store, 7, i));
      }
      int inMemory =
          store.prefetch(keys, 3, System.nanoTime() + TimeUnit.SECONDS.toNanos(30)).get(30, TimeUnit.SECONDS);
      assertEquals(3, inMemory);
      for (int i = 0; i < 3; i++) {
        assertTrue(whereIs(store, 7, i) != TierKind.SSD, "page " + i + " is in memory now");
      }
      assertEquals(3, store.stats().prefetchedPages());
      // A deadline already past promotes nothing.
      assertEquals(0, (int) store.prefetch(new long[] {7, 50}, 1, System.nanoTime() - 1).get());
    }
  }

  @Test
  void shouldPinAPageFromSsdByPromotingIt() {
    try (TieredStore store = small(dir).build()) {
      for (int k = 0; k < 100; k++) {
        store.put(TestPages.page(8, k, 1, PAYLOAD));
      }
      assertEquals(TierKind.SSD, whereIs(store, 8, 0));
      try (PinnedPage p = store.getPinned(8, 0)) {
        assertNotNull(p);
        ByteBuffer view = p.buffer();
        assertTrue(view.isReadOnly());
        TestPages.check(view, 0, view.limit(), 8, 0);
      }
      assertNull(store.getPinned(8, 1000));
    }
  }

  @Test
  void shouldPinOnlyPagesAlreadyInMemoryWithoutPromoting() {
    try (TieredStore store = small(dir).build()) {
      for (int k = 0; k < 100; k++) {
        store.put(TestPages.page(9, k, 1, PAYLOAD));
      }
      assertEquals(TierKind.SSD, whereIs(store, 9, 0));
      TierKind dramOrHot = whereIs(store, 9, 99);
      assertTrue(dramOrHot == TierKind.HOT || dramOrHot == TierKind.DRAM);
      long getsBefore = store.stats().gets();

      long missesBefore = store.stats().misses();
      assertNull(store.pinIfInMemory(9, 0), "on SSD only: not read from there");
      assertEquals(TierKind.SSD, whereIs(store, 9, 0), "and not promoted");
      assertEquals(getsBefore, store.stats().gets(), "a null for an SSD page counts nothing");
      assertNull(store.pinIfInMemory(9, 1000), "a miss");
      assertEquals(getsBefore + 1, store.stats().gets(), "a miss everywhere is counted");
      assertEquals(missesBefore + 1, store.stats().misses());

      try (PinnedPage p = store.pinIfInMemory(9, 99)) {
        assertNotNull(p);
        assertTrue(p.buffer().isReadOnly());
        TestPages.check(p.buffer(), 0, p.buffer().limit(), 9, 99);
      }
      StoreStats s = store.stats();
      assertEquals(getsBefore + 2, s.gets(), "the miss and this hit");
      assertEquals(1, s.tier(dramOrHot).hits());
      assertEquals(missesBefore + 1, s.misses());
    }
  }

  @Test
  void shouldReleaseEveryPinSoPinnedMemoryIsReclaimed() {
    // Hot and DRAM tiers never evict a pinned page: if pins leaked, later puts would stop fitting.
    try (TieredStore store = small(dir).ssdBytes(0).build()) {
      for (int round = 0; round < 20; round++) {
        for (int k = 0; k < 40; k++) {
          assertTrue(store.put(TestPages.page(10, round * 40L + k, 1, PAYLOAD)),
              "round " + round + " page " + k + " fits: every earlier pin was released");
          try (PinnedPage p = store.pinIfInMemory(10, round * 40L + k)) {
            assertNotNull(p);
          }
        }
      }
    }
  }

  @Test
  void shouldKeepEveryTierWithinItsCapacityUnderARandomWorkload() {
    SplittableRandom r = new SplittableRandom(42);
    try (TieredStore store = small(dir).build()) {
      ByteBuffer dst = dst();
      for (int op = 0; op < 3000; op++) {
        long k = r.nextInt(400);
        int choice = r.nextInt(10);
        if (choice < 5) {
          store.put(TestPages.page(9, k, r.nextInt(1, 100), r.nextInt(0, MAX_PAGE - 64)));
        } else if (choice < 9) {
          dst.clear();
          if (store.get(9, k, dst) > 0) {
            TestPages.check(dst.flip(), 9, k);
          }
        } else {
          store.delete(9, k);
        }
        for (StoreStats.TierStats t : store.stats().tiers()) {
          assertTrue(
              t.usedBytes() <= t.capacityBytes(),
              t.kind() + " holds " + t.usedBytes() + " > " + t.capacityBytes() + " after op " + op);
        }
      }
    }
  }

  @Test
  void shouldRefuseUseAfterCloseAndBadSettings() {
    TieredStore store = small(dir).build();
    store.close();
    store.close(); // idempotent
    assertThrows(IllegalStateException.class, () -> store.get(1, 1, dst()));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> small(dir).policy("nope").build());
    assertTrue(e.getMessage().contains("lru"), "the message lists valid policies: " + e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> small(dir).ssdAdmission("sometimes").build());
    assertThrows(
        IllegalArgumentException.class, () -> small(dir).hotBytes(0).dramBytes(0).ssdBytes(0).build());
  }

  @Test
  void shouldRecordOneAccessInTheDirectoryPerGetServedFromSsd() {
    // SSD only: every get is read from the SSD tier, which shares the store's directory.
    try (TieredStore store = small(dir).hotBytes(0).dramBytes(0).build()) {
      store.put(TestPages.page(15, 1, 1, PAYLOAD));
      IndexEntry e = new IndexEntry();
      assertTrue(store.index().get(15, 1, e));
      long before = e.accessCount();
      for (int i = 0; i < 3; i++) {
        assertTrue(store.get(15, 1, dst()) > 0);
      }
      assertTrue(store.index().get(15, 1, e));
      assertEquals(before + 3, e.accessCount(), "one access per get, not one per layer");
    }
  }

  @Test
  void shouldCountEachLogicalGetOnceWhateverPathServesIt() throws InterruptedException {
    // SSD only: getPinned cannot pin (no memory tier), so a reader falls back to get().
    try (TieredStore store = small(dir).hotBytes(0).dramBytes(0).build()) {
      store.put(TestPages.page(13, 1, 1, PAYLOAD));
      assertNull(store.pinIfInMemory(13, 1), "on SSD: left to getPinned, not counted");
      assertNull(store.getPinned(13, 1), "held but not pinnable: left to get, not counted");
      ByteBuffer dst = dst();
      assertTrue(store.get(13, 1, dst) > 0);
      StoreStats s = store.stats();
      assertEquals(1, s.gets());
      assertEquals(0, s.misses());
      assertEquals(1, s.tier(TierKind.SSD).hits());

      assertNull(store.pinIfInMemory(13, 2), "a miss everywhere is counted where it is seen");
      assertNull(store.getPinned(13, 3));
      s = store.stats();
      assertEquals(3, s.gets());
      assertEquals(2, s.misses());
    }
    // With memory tiers: an SSD page is promoted and pinned, counted once as an SSD hit.
    try (TieredStore store = small(dir.resolve("b")).build()) {
      for (int k = 0; k < 100; k++) {
        store.put(TestPages.page(14, k, 1, PAYLOAD));
      }
      assertTrue(store.awaitWriteBack(30_000)); // on SSD, not waiting in the write-back queue
      long before = store.stats().gets();
      try (PinnedPage p = store.getPinned(14, 0)) {
        assertNotNull(p);
      }
      StoreStats s = store.stats();
      assertEquals(before + 1, s.gets());
      assertEquals(1, s.tier(TierKind.SSD).hits());
    }
  }
}
