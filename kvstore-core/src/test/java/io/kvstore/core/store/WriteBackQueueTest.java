package io.kvstore.core.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.tier.TestPages;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class WriteBackQueueTest {

  private static final long MS = 1_000_000L;

  @Test
  void shouldHandOutEntriesInOrderWithTheirExactBytes() throws Exception {
    try (WriteBackQueue q = new WriteBackQueue(64 << 10, 64)) {
      for (int k = 0; k < 5; k++) {
        assertTrue(q.offer(1, k, TestPages.page(1, k, 3, 1000 + k)));
      }
      assertEquals(5, q.depth());
      for (int k = 0; k < 5; k++) {
        long seq = q.take(MS);
        assertEquals(k, q.keyLo(seq));
        assertEquals(3, TestPages.check(q.page(seq), 1, k));
        q.complete(seq);
      }
      assertEquals(0, q.depth());
      assertEquals(0, q.usedBytes());
      assertEquals(-1, q.take(MS), "nothing left");
    }
  }

  @Test
  void shouldHandOutConsecutiveEntriesAsABatchWithinItsLimits() throws Exception {
    int page = TestPages.page(1, 0, 1, 4000).remaining();
    try (WriteBackQueue q = new WriteBackQueue(64L * page, 64)) {
      for (int k = 0; k < 10; k++) {
        assertTrue(q.offer(1, k, TestPages.page(1, k, 1, 4000)));
      }
      long[] first = new long[1];
      assertEquals(4, q.takeBatch(MS, 4, Long.MAX_VALUE, first), "at most 4 pages");
      long a = first[0];
      assertEquals(3, q.takeBatch(MS, 32, 3L * page, first), "at most 3 pages' bytes");
      long b = first[0];
      assertEquals(a + 4, b, "the next batch starts where the last one ended");
      assertEquals(1, q.takeBatch(MS, 32, 1, first), "the first entry whatever its size");
      long c = first[0];
      assertEquals(2, q.takeBatch(MS, 32, Long.MAX_VALUE, first), "what is pending, no more");
      long d = first[0];
      assertEquals(0, q.takeBatch(MS, 32, Long.MAX_VALUE, first), "nothing left");
      for (int k = 0; k < 3; k++) {
        assertEquals(4 + k, q.keyLo(b + k));
        assertEquals(1, TestPages.check(q.page(b + k), 1, 4 + k));
      }
      // Completing a later batch first reclaims nothing; the oldest batch then frees them all.
      q.completeAll(new long[] {b + 2, b, b + 1}, 3);
      q.completeAll(new long[] {c, d, d + 1}, 3);
      assertEquals(10, q.depth());
      q.completeAll(new long[] {a, a + 1, a + 2, a + 3}, 4);
      assertEquals(0, q.depth());
      assertEquals(0, q.usedBytes());
      assertTrue(q.awaitEmpty(MS));
    }
  }

  @Test
  void shouldRefuseWithoutWaitingWhenFullAndReclaimOnlyTheOldestDoneRun() throws Exception {
    int page = TestPages.page(1, 0, 1, 4000).remaining();
    try (WriteBackQueue q = new WriteBackQueue(4L * page, 64)) {
      for (int k = 0; k < 4; k++) {
        assertTrue(q.offer(1, k, TestPages.page(1, k, 1, 4000)));
      }
      assertFalse(q.offer(1, 9, TestPages.page(1, 9, 1, 4000)), "full: refused at once");
      long first = q.take(MS);
      long second = q.take(MS);
      q.complete(second); // done out of order: the oldest still holds its bytes
      assertFalse(q.offer(1, 9, TestPages.page(1, 9, 1, 4000)));
      assertFalse(q.awaitRoom(page, 5 * MS), "no room while the oldest is being written");
      q.complete(first);
      assertTrue(q.awaitRoom(page, 5 * MS));
      assertTrue(q.offer(1, 9, TestPages.page(1, 9, 1, 4000)), "two entries reclaimed");
      assertTrue(q.offer(1, 10, TestPages.page(1, 10, 1, 4000)));
    }
  }

  /**
   * Writers that freed no room for the whole bound are stalled (a frozen disk): a put then does
   * not wait, where each page of a 32-page PUT used to wait the bound again (a daemon's PUTs took
   * 3.2 s with the default 100 ms while its disk was frozen). Writers that make progress are
   * waited for as before.
   */
  @Test
  void shouldNotWaitForWritersThatMadeNoProgressForTheWholeBound() throws Exception {
    int page = TestPages.page(1, 0, 1, 4000).remaining();
    long bound = 60_000 * MS; // a put that waits it fails the test's timeout, not a speed limit
    try (WriteBackQueue q = new WriteBackQueue(2L * page, 64)) {
      assertTrue(q.offer(1, 0, TestPages.page(1, 0, 1, 4000)));
      assertTrue(q.offer(1, 1, TestPages.page(1, 1, 1, 4000)));
      long first = q.take(MS);
      q.progressAgoForTest(bound + MS);
      assertFalse(
          assertTimeoutPreemptively(Duration.ofSeconds(20), () -> q.awaitRoom(page, bound)),
          "stalled writers: no room, and no wait");

      // Progress again: a put waits for the writer that is about to free room.
      q.progressAgoForTest(0);
      Thread writer = new Thread(() -> {
        try {
          Thread.sleep(50);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        q.complete(first);
      });
      writer.start();
      assertTrue(
          assertTimeoutPreemptively(Duration.ofSeconds(20), () -> q.awaitRoom(page, bound)),
          "room once the writer completed");
      writer.join();
    }
  }

  @Test
  void shouldNeverSplitAnEntryAcrossTheEndOfTheArena() throws Exception {
    // Random sizes for many laps: every page taken must be intact (an entry that wrapped would
    // come back torn).
    SplittableRandom r = new SplittableRandom(5);
    try (WriteBackQueue q = new WriteBackQueue(50_000, 16)) {
      long next = 0;
      long expect = 0;
      for (int round = 0; round < 2000; round++) {
        int len = r.nextInt(0, 12_000);
        if (q.offer(2, next, TestPages.page(2, next, 1, len))) {
          next++;
        }
        if (r.nextBoolean() || !q.offer(2, next, TestPages.page(2, next, 1, 10))) {
          long seq = q.take(0);
          if (seq >= 0) {
            assertEquals(expect++, q.keyLo(seq));
            TestPages.check(q.page(seq), 2, q.keyLo(seq));
            q.complete(seq);
          }
        } else {
          next++;
        }
        assertTrue(q.usedBytes() <= 50_000);
      }
      assertTrue(expect > 1000, "many entries went round: " + expect);
    }
  }

  @Test
  void shouldCancelEveryEntryOfAKeyAndServeOnlyLiveOnes() throws Exception {
    try (WriteBackQueue q = new WriteBackQueue(64 << 10, 64)) {
      q.offer(3, 1, TestPages.page(3, 1, 1, 500));
      q.offer(3, 2, TestPages.page(3, 2, 1, 500));
      q.offer(3, 1, TestPages.page(3, 1, 2, 500));
      ByteBuffer dst = ByteBuffer.allocate(1000);
      assertEquals(564, q.copyIfQueued(3, 1, dst));
      assertEquals(2, TestPages.check(dst.flip(), 3, 1), "the newest copy is served");
      assertThrows(IllegalArgumentException.class, () -> q.copyIfQueued(3, 1, ByteBuffer.allocate(10)));
      assertEquals(2, q.cancel(3, 1));
      assertEquals(-1, q.lengthIfQueued(3, 1));
      assertEquals(-1, q.copyIfQueued(3, 1, ByteBuffer.allocate(1000)));
      assertEquals(TieredStore.OWN, q.ownershipIfQueued(3, 2, TestPages.NAMESPACE));
      assertEquals(TieredStore.FOREIGN, q.ownershipIfQueued(3, 2, TestPages.NAMESPACE + 1));
      long seq = q.take(MS);
      assertTrue(q.isCanceled(seq), "a writer sees the cancellation");
      q.complete(seq);
      seq = q.take(MS);
      assertFalse(q.isCanceled(seq));
      q.complete(seq);
      seq = q.take(MS);
      assertTrue(q.isCanceled(seq));
      q.complete(seq);
      assertTrue(q.awaitEmpty(MS));
    }
  }

  @Test
  void shouldServeHeldPagesWithoutArenaBytesAndReleaseEachHoldOnce() throws Exception {
    java.util.List<Long> released = new java.util.ArrayList<>();
    WriteBackQueue q = new WriteBackQueue(64 << 10, 64, (tier, hold) -> released.add(tier * 1000L + hold));
    try {
      ByteBuffer[] pages = new ByteBuffer[4];
      for (int k = 0; k < 4; k++) {
        pages[k] = TestPages.page(1, k, 2, 3000).asReadOnlyBuffer();
        assertTrue(q.offerHeld(1, k, pages[k], 0, 10 + k));
      }
      assertTrue(q.offer(1, 9, TestPages.page(1, 9, 2, 3000)), "copies and held pages mix");
      assertEquals(0, q.lengthIfQueued(1, 9) - pages[0].remaining(), "same length");
      assertEquals(pages[0].remaining() * 4L, q.heldBytes());
      assertEquals(pages[0].remaining(), q.usedBytes(), "held pages take no arena bytes");
      ByteBuffer dst = ByteBuffer.allocate(8192);
      assertEquals(pages[2].remaining(), q.copyIfQueued(1, 2, dst));
      assertEquals(2, TestPages.check(dst.flip(), 1, 2), "a get copies the held page exactly");
      assertEquals(TieredStore.OWN, q.ownershipIfQueued(1, 3, TestPages.NAMESPACE));

      long[] first = new long[1];
      assertEquals(2, q.takeBatch(MS, 2, Long.MAX_VALUE, first));
      int[] tiers = new int[2];
      long[] holds = new long[2];
      for (int k = 0; k < 2; k++) {
        long seq = first[0] + k;
        assertEquals(2, TestPages.check(q.page(seq), 1, k), "the writer reads the held slot");
        tiers[k] = q.holdTier(seq);
        holds[k] = q.holdToken(seq);
      }
      q.completeAll(new long[] {first[0], first[0] + 1}, 2);
      assertFalse(q.awaitEmpty(MS), "not empty while holds are out, even of completed entries");
      q.releaseAll(tiers, holds, 2);
      assertEquals(java.util.List.of(10L, 11L), released);
      assertEquals(-1, q.copyIfQueued(1, 0, dst.clear()), "a completed entry is not served");
      q.shutdown();
    } finally {
      q.close(); // the entries never taken: their holds go back now, once
    }
    assertEquals(java.util.List.of(10L, 11L, 12L, 13L), released);
  }

  @Test
  void shouldRefuseHeldPagesWithoutAReleaserOrWhenClosed() {
    ByteBuffer page = TestPages.page(1, 1, 1, 100);
    try (WriteBackQueue q = new WriteBackQueue(64 << 10, 64)) {
      assertFalse(q.offerHeld(1, 1, page, 0, 1), "no releaser: the caller copies instead");
    }
    WriteBackQueue q = new WriteBackQueue(64 << 10, 64, (tier, hold) -> {});
    q.shutdown();
    assertFalse(q.offerHeld(1, 1, page, 0, 1));
    q.close();
  }

  @Test
  void shouldReleaseOnlyTheUntakenHeldPagesOnShutdownWhileAWriterHoldsItsOwn() throws Exception {
    java.util.List<Long> released = new java.util.ArrayList<>();
    try (WriteBackQueue q = new WriteBackQueue(64 << 10, 64, (tier, hold) -> released.add(hold))) {
      for (int k = 0; k < 3; k++) {
        assertTrue(q.offerHeld(1, k, TestPages.page(1, k, 1, 500).asReadOnlyBuffer(), 0, k));
      }
      long seq = q.take(MS); // a writer takes the first, and is stuck writing it
      q.shutdown();
      q.releaseUntaken();
      assertEquals(java.util.List.of(1L, 2L), released, "the untaken ones, once");
      assertEquals(-1, q.copyIfQueued(1, 1, ByteBuffer.allocate(1024)), "no longer served");
      assertEquals(1, TestPages.check(q.page(seq), 1, 0), "the taken page is still whole");
      assertFalse(q.awaitEmpty(MS));
      int[] tiers = {q.holdTier(seq)};
      long[] holds = {q.holdToken(seq)};
      q.complete(seq); // the writer comes back: completes, then releases its own
      q.releaseAll(tiers, holds, 1);
      assertEquals(java.util.List.of(1L, 2L, 0L), released);
    }
    assertEquals(3, released.size(), "close releases nothing twice");
  }
}
