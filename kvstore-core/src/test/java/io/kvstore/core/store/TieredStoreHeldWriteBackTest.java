package io.kvstore.core.store;

import static io.kvstore.core.store.StoreFixtures.MAX_PAGE;
import static io.kvstore.core.store.StoreFixtures.dst;
import static io.kvstore.core.store.StoreFixtures.whereIs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.tier.TestPages;
import io.kvstore.core.tier.TierKind;
import io.kvstore.core.tier.TierWriteException;
import io.kvstore.core.tier.dram.DramTier;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dirty pages the DRAM tier evicts ahead of need go to write-back in their own slots, uncopied
 * ({@link io.kvstore.core.tier.EvictionListener#onEvictHeld}): served from there until written, a
 * delete or newer put of the key still wins, a failed write drops and counts them and gives their
 * slots back, and a close with writes in flight gives every slot back.
 */
class TieredStoreHeldWriteBackTest {

  private static final int PAYLOAD = 8 * 1024;

  @TempDir Path dir;

  private FaultyTier faulty;

  /** No hot tier: the DRAM tier (256 KiB) is the only memory tier, the one that holds. */
  private TieredStoreBuilder builder() {
    TieredStoreBuilder b = StoreFixtures.small(dir).hotBytes(0).degradedRetryMillis(5, 20);
    b.ssdTierWrapper = t -> faulty = new FaultyTier(t);
    return b;
  }

  private static DramTier dram(TieredStore store) {
    return (DramTier) store.tiers()[0];
  }

  private static void putAll(TieredStore store, long hi, int from, int to, int version) {
    for (int k = from; k < to; k++) {
      assertTrue(store.put(TestPages.page(hi, k, version, PAYLOAD)), "put of " + k + " succeeds");
    }
  }

  /** Exact bytes of version {@code version}, or a miss (false). */
  private static boolean exactOrMiss(TieredStore store, long hi, long k, int version) {
    ByteBuffer dst = dst();
    if (store.get(hi, k, dst) < 0) {
      return false;
    }
    assertEquals(version, TestPages.check(dst.flip(), hi, k), "version of " + k);
    return true;
  }

  @Test
  void shouldServeHeldPagesUntilWrittenAndGiveTheirSlotsBack() throws Exception {
    try (TieredStore store = builder().build()) {
      faulty.stallWrites();
      try {
        putAll(store, 1, 0, 40, 1); // 8 KiB pages: the DRAM tier holds about 30
        WriteBack wb = store.writeBack();
        assertTrue(wb.queuedHeld.sum() > 0, "victims were queued in their slots: " + wb.queuedHeld);
        assertTrue(dram(store).heldBytes() > 0);
        for (long k = 0; k < 40; k++) {
          assertTrue(exactOrMiss(store, 1, k, 1), "page " + k + " is served (memory or queue)");
        }
      } finally {
        faulty.releaseStall();
      }
      assertTrue(store.awaitWriteBack(30_000));
      assertEquals(0, dram(store).heldBytes(), "every held slot was given back after its write");
      StoreStats.WriteBackStats s = store.stats().writeBack();
      assertEquals(0, s.drops(), s.toString());
      for (long k = 0; k < 40; k++) {
        assertTrue(exactOrMiss(store, 1, k, 1), "page " + k + " is exact after its write-back");
      }
    }
  }

  /**
   * A get served from a page waiting for write-back is a queue hit, not a tier's: the tiers' hits,
   * the queue hits and the misses add up to the gets (docs/metrics.md divides by the gets).
   */
  @Test
  void shouldCountGetsServedFromTheQueueAsQueueHitsAndInNoTier() throws Exception {
    try (TieredStore store = builder().build()) {
      faulty.stallWrites();
      try {
        putAll(store, 4, 0, 40, 1);
        StoreStats before = store.stats();
        int served = 0;
        for (long k = 0; k < 40; k++) {
          served += exactOrMiss(store, 4, k, 1) ? 1 : 0;
        }
        StoreStats after = store.stats();
        long tierHits = 0;
        for (int t = 0; t < after.tiers().size(); t++) {
          tierHits += after.tiers().get(t).hits() - before.tiers().get(t).hits();
        }
        long queueHits = after.writeBack().queueHits() - before.writeBack().queueHits();
        long misses = after.misses() - before.misses();
        assertEquals(40, after.gets() - before.gets());
        assertEquals(40, served, "every page is in memory or waiting in the queue");
        assertTrue(queueHits > 0, "some gets were served from the queue: " + after.writeBack());
        assertEquals(served, tierHits + queueHits, "each hit counted once: " + after);
        assertEquals(0, misses);
      } finally {
        faulty.releaseStall();
      }
    }
  }

  @Test
  void shouldDropCountAndReleaseHeldPagesWhoseWriteFails() throws Exception {
    try (TieredStore store = builder().build()) {
      putAll(store, 2, 0, 40, 1);
      assertTrue(store.awaitWriteBack(30_000));
      faulty.failWrites(TierWriteException.Reason.IO_ERROR);
      long heldBefore = store.writeBack().queuedHeld.sum();
      putAll(store, 2, 40, 100, 1);
      assertTrue(store.awaitWriteBack(30_000));
      assertTrue(store.writeBack().queuedHeld.sum() > heldBefore, "held pages met the failure");
      StoreStats.WriteBackStats s = store.stats().writeBack();
      assertTrue(s.failures() >= 1 && s.drops() >= 1, s.toString());
      assertTrue(store.health().ssdDegraded());
      assertEquals(0, dram(store).heldBytes(), "a dropped held page's slot is given back");
      for (long k = 0; k < 100; k++) {
        exactOrMiss(store, 2, k, 1);
      }
      faulty.failWrites(null);
      for (int round = 0; round < 500 && store.health().ssdDegraded(); round++) {
        putAll(store, 2, 1000 + 10 * round, 1010 + 10 * round, 2);
        assertTrue(store.awaitWriteBack(30_000));
        Thread.sleep(10);
      }
      assertFalse(store.health().ssdDegraded(), store.health().toString());
      assertEquals(0, dram(store).heldBytes());
    }
  }

  /**
   * A put of a key a stalled writer is writing waits for that write (an older version must not
   * land after it), but not holding the key lock: gets of the key (served from its held slot
   * meanwhile) and of the other keys of its lock stripe go on. Before, the put held the lock for
   * the whole stall; in the daemon, with the disk frozen, every store thread then waited behind it
   * and clients timed out.
   */
  @Test
  void shouldLetGetsOfAKeyBeingWrittenGoOnWhileAPutOfItWaitsForTheWrite() throws Exception {
    try (TieredStore store = builder().dramBytes(1L << 20).memoryShards(1).build()) {
      WriteBack wb = store.writeBack();
      faulty.stallWrites();
      Thread putter = null;
      try {
        assertTrue(store.put(TestPages.page(3, 0, 1, PAYLOAD)));
        for (int k = 2; !wb.writing(3, 0); k++) {
          assertTrue(k < 400, "page 0 was evicted and taken by a writer");
          assertTrue(store.put(TestPages.page(3, k, 1, PAYLOAD)));
          for (int i = 0; i < 1000 && !wb.writing(3, 0) && wb.queued.sum() > 0; i++) {
            Thread.sleep(1);
          }
        }
        java.util.concurrent.atomic.AtomicBoolean stored = new java.util.concurrent.atomic.AtomicBoolean();
        putter = new Thread(() -> stored.set(store.put(TestPages.page(3, 0, 2, PAYLOAD))), "putter");
        putter.start();
        for (int i = 0; i < 10_000 && putter.getState() != Thread.State.WAITING; i++) {
          Thread.sleep(1);
        }
        assertEquals(Thread.State.WAITING, putter.getState(), "the put waits for the stalled write");
        assertTrue(
            assertTimeoutPreemptively(
                java.time.Duration.ofSeconds(20), () -> exactOrMiss(store, 3, 0, 1)),
            "a get of the key is served (version 1, from its slot) while the put waits");
        faulty.releaseStall();
        putter.join(30_000);
        assertTrue(stored.get());
        assertTrue(exactOrMiss(store, 3, 0, 2), "the newer put");
      } finally {
        faulty.releaseStall();
        if (putter != null) {
          putter.join(30_000);
        }
      }
      assertTrue(store.awaitWriteBack(30_000));
      exactOrMiss(store, 3, 0, 2); // version 2 or a miss, never version 1 (checked inside)
    }
  }

  @Test
  void shouldNeverWriteBackAHeldPageAfterItsDeleteOrANewerPut() throws Exception {
    // One shard of 1 MiB: the hold-ahead room (an eighth of the slots) has room for four pages.
    try (TieredStore store = builder().dramBytes(1L << 20).memoryShards(1).build()) {
      WriteBack wb = store.writeBack();
      faulty.stallWrites();
      try {
        // The least recently used pages, evicted first, in this order: 0 and 1 go to the two
        // writers, which stall on them; 1000 and 1001 then wait in the queue, held. (A key a
        // writer holds as being written makes its delete wait for the write.)
        for (long k : new long[] {0, 1, 1000, 1001}) {
          assertTrue(store.put(TestPages.page(3, k, 1, PAYLOAD)));
        }
        for (int k = 2; wb.queued.sum() < 4; k++) {
          assertTrue(k < 400, "the first pages were evicted");
          assertTrue(store.put(TestPages.page(3, k, 1, PAYLOAD)));
          long victims = wb.queued.sum();
          for (int i = 0; i < 1000 && faulty.stalledNow.get() < Math.min(2, victims); i++) {
            Thread.sleep(1); // let a writer take the victim alone
          }
        }
        assertEquals(2, faulty.stalledNow.get(), "both writers stalled");
        assertEquals(4, wb.queuedHeld.sum(), "the four victims were queued in their slots");
        for (long k : new long[] {1000, 1001}) {
          assertEquals(TierKind.SSD, whereIs(store, 3, k), "queued (counted as SSD)");
          assertTrue(exactOrMiss(store, 3, k, 1), "a held page is served from its slot");
        }
        assertTrue(store.delete(3, 1000));
        assertTrue(store.put(TestPages.page(3, 1001, 2, PAYLOAD)));
        assertTrue(wb.cancelled.sum() >= 2);
        assertFalse(exactOrMiss(store, 3, 1000, 1), "deleted");
        assertTrue(exactOrMiss(store, 3, 1001, 2), "the newer put");
      } finally {
        faulty.releaseStall();
      }
      assertTrue(store.awaitWriteBack(30_000));
      putAll(store, 3, 2000, 2200, 1); // everything moves down to SSD, written or dropped
      assertTrue(store.awaitWriteBack(30_000));
      // Before the gets below: a get of an SSD page promotes it, which evicts (and holds) another.
      assertEquals(0, dram(store).heldBytes(), "every held slot was given back");
      assertFalse(exactOrMiss(store, 3, 1000, 1), "a deleted page never comes back");
      exactOrMiss(store, 3, 1001, 2); // version 2 or a miss, never version 1 (checked inside)
    }
  }

  @Test
  void shouldGiveEveryHeldSlotBackOnACloseWithWritesInFlight() throws Exception {
    TieredStore store = builder().flushOnClose(false).closeGraceMillis(200).build();
    DramTier dram = dram(store);
    faulty.stallWrites();
    try {
      putAll(store, 4, 0, 60, 1);
      assertTrue(dram.heldBytes() > 0, "held pages wait behind the stalled writers");
      store.close(); // interrupts the stalled writers; their pages and the queued ones are dropped
    } finally {
      faulty.releaseStall();
    }
    assertEquals(0, dram.heldBytes(), "every held slot was given back");
    assertTrue(store.stats().writeBack().drops() > 0, store.stats().writeBack().toString());
  }

  @Test
  void shouldGiveBackEveryHeldSlotAWriterStuckPastTheGraceDidNotTake() throws Exception {
    TieredStore store =
        builder().dramBytes(1L << 20).memoryShards(1).flushOnClose(false).closeGraceMillis(100).build();
    DramTier dram = dram(store);
    WriteBack wb = store.writeBack();
    faulty.stallWritesIgnoringInterrupts(); // writers stuck in the kernel: deaf to interrupts
    try {
      // The first two victims go to the two writers, which get stuck on them; the next ones wait
      // in the queue, at least two of them held, untaken.
      for (int k = 0; wb.queuedHeld.sum() < 4; k++) {
        assertTrue(k < 400, "pages were evicted");
        assertTrue(store.put(TestPages.page(5, k, 1, PAYLOAD)));
        long victims = wb.queued.sum();
        for (int i = 0; i < 1000 && faulty.stalledNow.get() < Math.min(2, victims); i++) {
          Thread.sleep(1);
        }
      }
      assertEquals(2, faulty.stalledNow.get(), "both writers stuck");
      long heldBefore = dram.heldBytes();
      store.close(); // the grace runs out with both writers stuck
      // The stuck writers' own pages (one each, held or copied) are theirs to give back later.
      assertTrue(dram.heldBytes() < heldBefore, "the pages no writer took were given back");
    } finally {
      faulty.releaseStall();
    }
    for (int i = 0; i < 5000 && dram.heldBytes() > 0; i++) {
      Thread.sleep(1); // the writers finish (their writes fail on the closed tier) and release
    }
    assertEquals(0, dram.heldBytes(), "every held slot was given back");
  }

  /**
   * Threads own disjoint keys and put new versions of them or delete them, while their own filler
   * puts keep the DRAM tier evicting (held pages written back meanwhile by both writers): the
   * owner's read is always its last put or, after a delete, a miss; never an older version. How
   * many evictions are held depends on how the writers keep up, so the workload runs in rounds
   * (each thread's keys and versions carried on) until more than 100 were, at most 20 rounds: the
   * held path is always exercised, however fast the host runs the first round.
   */
  @Test
  void shouldNeverServeAnOlderVersionOrADeletedPageUnderConcurrentWriteBack() throws Exception {
    int threads = 4;
    int keysPerThread = 8;
    // Per thread: last put version of each key (negative: deleted after it), next filler key.
    int[][] versions = new int[threads][keysPerThread];
    long[] fillers = new long[threads];
    for (int t = 0; t < threads; t++) {
      fillers[t] = 1_000_000L * (t + 1);
    }
    try (TieredStore store = StoreFixtures.small(dir).hotBytes(0).writeBackThreads(2).build()) {
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      for (int round = 0; round < 20 && store.writeBack().queuedHeld.sum() <= 100; round++) {
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          final int thread = t;
          final int seed = round * threads + t;
          futures.add(pool.submit(() -> {
            SplittableRandom r = new SplittableRandom(seed);
            ByteBuffer dst = ByteBuffer.allocateDirect(MAX_PAGE);
            int[] version = versions[thread];
            long filler = fillers[thread];
            for (int op = 0; op < 1500; op++) {
              int i = r.nextInt(keysPerThread);
              long k = thread * 100L + i;
              int choice = r.nextInt(10);
              if (choice < 5) {
                int next = Math.abs(version[i]) + 1;
                assertTrue(store.put(TestPages.page(12, k, next, r.nextInt(1024, 12 * 1024))));
                version[i] = next;
              } else if (choice < 7) {
                store.delete(12, k);
                version[i] = -Math.abs(version[i]);
              } else {
                assertTrue(store.put(TestPages.page(12, filler++, 1, 8 * 1024))); // evicts
              }
              dst.clear();
              if (store.get(12, k, dst) > 0) {
                assertTrue(version[i] > 0, "key " + k + " came back after its delete");
                assertEquals(version[i], TestPages.check(dst.flip(), 12, k), "key " + k);
              }
            }
            fillers[thread] = filler;
            return null;
          }));
        }
        for (Future<?> f : futures) {
          f.get(5, TimeUnit.MINUTES); // the round's writes of versions and fillers happen-before
        }
      }
      pool.shutdown();
      assertTrue(pool.awaitTermination(1, TimeUnit.MINUTES));
      assertTrue(store.awaitWriteBack(60_000));
      assertTrue(store.writeBack().queuedHeld.sum() > 100, "held write-back was exercised");
      assertEquals(0, dram(store).heldBytes());
      assertEquals(0, store.stats().corruptions());
    }
  }
}
