package io.kvstore.core.store;

import static io.kvstore.core.store.StoreFixtures.MAX_PAGE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.tier.PinnedPage;
import io.kvstore.core.tier.TestPages;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 8 threads put, get, pin, look up, prefetch and delete over a small key space, so pages keep moving
 * between all three tiers and the write-back queue while being read; every byte of every hit is
 * checked, and so is its version: no page comes back after its delete, no version after a newer
 * put replaced it.
 */
class TieredStoreConcurrencyTest {

  private static final int THREADS = 8;
  private static final int OPS_PER_THREAD = 4000;
  private static final int KEYS = 300;

  @TempDir Path dir;

  /**
   * Key k is written (put or delete) only by thread {@code k % THREADS}, which records each
   * completed write in {@code state[k]} = version * 2 (+1 if the key is absent after it). Any
   * thread may read any key; a page read must then be a version no older than the last write that
   * completed before the read began (never a version a later write replaced, never a page back
   * after its delete) and no newer than the last write that began before the read ended.
   */
  @Test
  void shouldNeverServeADeletedOrReplacedVersionUnderConcurrentMixedLoad() throws Exception {
    AtomicLong hits = new AtomicLong();
    AtomicLongArray state = new AtomicLongArray(KEYS);
    AtomicLongArray begun = new AtomicLongArray(KEYS); // the version of the write begun last
    for (int k = 0; k < KEYS; k++) {
      state.set(k, 1); // version 0, absent
    }
    try (TieredStore store = StoreFixtures.small(dir).build()) {
      ExecutorService pool = Executors.newFixedThreadPool(THREADS);
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        final int thread = t;
        futures.add(pool.submit(() -> {
          SplittableRandom r = new SplittableRandom(thread);
          ByteBuffer dst = ByteBuffer.allocateDirect(MAX_PAGE);
          for (int op = 0; op < OPS_PER_THREAD; op++) {
            int k = r.nextInt(KEYS);
            int choice = r.nextInt(100);
            if (choice < 40) {
              k = ownKey(k, thread);
              long next = state.get(k) / 2 + 1;
              begun.set(k, next);
              if (choice < 33) {
                boolean ok =
                    store.put(TestPages.page(11, k, (int) next, r.nextInt(0, 12 * 1024)));
                state.set(k, ok ? next * 2 : next * 2 + 1);
              } else {
                store.delete(11, k);
                state.set(k, next * 2 + 1);
              }
              // Nobody else writes this key: the owner's own read is exact or, after a delete, a miss.
              dst.clear();
              long s = state.get(k);
              if (store.get(11, k, dst) > 0) {
                assertEquals(s / 2, TestPages.check(dst.flip(), 11, k), "owner reads its last put");
                assertEquals(0, s & 1, "key " + k + " came back after its delete");
              }
            } else if (choice < 75) {
              long before = state.get(k);
              dst.clear();
              if (store.get(11, k, dst) > 0) {
                checkVersion(TestPages.check(dst.flip(), 11, k), before, begun.get(k), k);
                hits.incrementAndGet();
              }
            } else if (choice < 88) {
              long before = state.get(k);
              try (PinnedPage p = store.getPinned(11, k)) {
                if (p != null) {
                  ByteBuffer v = p.buffer();
                  checkVersion(TestPages.check(v, 0, v.limit(), 11, k), before, begun.get(k), k);
                  hits.incrementAndGet();
                }
              }
            } else if (choice < 95) {
              long[] chain = {11, k, 11, (k + 1) % KEYS, 11, (k + 2) % KEYS};
              int run = store.lookupPrefix(chain, 3, new int[3]);
              assertTrue(run >= 0 && run <= 3);
            } else {
              store.prefetch(new long[] {11, k}, 1, System.nanoTime() + 1_000_000_000L);
            }
          }
          return null;
        }));
      }
      for (Future<?> f : futures) {
        f.get(5, TimeUnit.MINUTES); // rethrows any assertion failure of a worker
      }
      pool.shutdown();
      assertTrue(pool.awaitTermination(1, TimeUnit.MINUTES));
      assertTrue(hits.get() > 1000, "the load exercised hits: " + hits.get());
      for (StoreStats.TierStats t : store.stats().tiers()) {
        assertTrue(t.usedBytes() <= t.capacityBytes(), t.toString());
      }
      assertTrue(store.awaitWriteBack(60_000));
      // Quiescent now: a deleted key is a miss, any other the last version put or a miss.
      ByteBuffer dst = ByteBuffer.allocateDirect(MAX_PAGE);
      for (int k = 0; k < KEYS; k++) {
        dst.clear();
        long s = state.get(k);
        if (store.get(11, k, dst) > 0) {
          assertEquals(0, s & 1, "key " + k + " came back after its delete");
          assertEquals(s / 2, TestPages.check(dst.flip(), 11, k), "key " + k + " is the last put");
        }
      }
      assertEquals(0, store.stats().corruptions());
    }
  }

  /** The key nearest to k that thread {@code thread} owns. */
  private static int ownKey(int k, int thread) {
    int own = k - k % THREADS + thread;
    return own < KEYS ? own : own - THREADS;
  }

  /**
   * A version read after the write recorded as {@code before} completed and before any write later
   * than version {@code begunAfter} began.
   */
  private static void checkVersion(int version, long before, long begunAfter, int k) {
    long least = before / 2 + (before & 1); // after a delete of v, only a later put v+1.. may show
    assertTrue(
        version >= least,
        "key " + k + ": read v" + version + " but v" + (before / 2) + ((before & 1) == 1
            ? " was deleted" : " had replaced it") + " before the read began");
    assertTrue(version <= begunAfter, "key " + k + ": read v" + version + " not yet put");
  }

  @Test
  void shouldLoseNoPageWhileConcurrentPutsDemoteThroughEveryTier() throws Exception {
    // The SSD tier holds every page, so nothing may be missing at the end: each page evicted from
    // the hot or DRAM tier must have been written back, whatever other keys were locked meanwhile.
    int perThread = 400;
    try (TieredStore store = StoreFixtures.small(dir).ssdBytes(64L << 20).build()) {
      ExecutorService pool = Executors.newFixedThreadPool(THREADS);
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        final long thread = t;
        futures.add(pool.submit(() -> {
          for (long k = 0; k < perThread; k++) {
            assertTrue(store.put(TestPages.page(12, thread * perThread + k, 1, 6 * 1024)));
          }
          return null;
        }));
      }
      for (Future<?> f : futures) {
        f.get(5, TimeUnit.MINUTES);
      }
      pool.shutdown();
      // write-back runs behind the puts: wait for the queue to drain before counting what reached SSD
      store.awaitWriteBack(60_000);
      assertTrue(store.stats().tier(io.kvstore.core.tier.TierKind.SSD).demotions() > 1000,
          store.stats().writeBack().toString());
      ByteBuffer dst = ByteBuffer.allocateDirect(MAX_PAGE);
      for (long k = 0; k < THREADS * perThread; k++) {
        dst.clear();
        assertTrue(store.get(12, k, dst) > 0, "page " + k + " was lost");
        TestPages.check(dst.flip(), 12, k);
      }
    }
  }
}
