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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 8 threads put, get, pin, look up, prefetch and delete over a small key space, so pages keep moving
 * between all three tiers while being read; every byte of every hit is checked against the page
 * that some put wrote for that key.
 */
class TieredStoreConcurrencyTest {

  private static final int THREADS = 8;
  private static final int OPS_PER_THREAD = 4000;
  private static final int KEYS = 300;

  @TempDir Path dir;

  @Test
  void shouldReturnExactBytesOrMissUnderConcurrentMixedLoad() throws Exception {
    AtomicLong hits = new AtomicLong();
    try (TieredStore store = StoreFixtures.small(dir).build()) {
      ExecutorService pool = Executors.newFixedThreadPool(THREADS);
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        final long seed = t;
        futures.add(pool.submit(() -> {
          SplittableRandom r = new SplittableRandom(seed);
          ByteBuffer dst = ByteBuffer.allocateDirect(MAX_PAGE);
          for (int op = 0; op < OPS_PER_THREAD; op++) {
            long k = r.nextInt(KEYS);
            int choice = r.nextInt(100);
            if (choice < 35) {
              store.put(TestPages.page(11, k, r.nextInt(1, 1000), r.nextInt(0, 12 * 1024)));
            } else if (choice < 75) {
              dst.clear();
              if (store.get(11, k, dst) > 0) {
                TestPages.check(dst.flip(), 11, k);
                hits.incrementAndGet();
              }
            } else if (choice < 85) {
              try (PinnedPage p = store.getPinned(11, k)) {
                if (p != null) {
                  ByteBuffer v = p.buffer();
                  TestPages.check(v, 0, v.limit(), 11, k);
                  hits.incrementAndGet();
                }
              }
            } else if (choice < 92) {
              store.delete(11, k);
            } else if (choice < 97) {
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
      // Quiescent now: every key is either a miss or an intact page.
      ByteBuffer dst = ByteBuffer.allocateDirect(MAX_PAGE);
      for (long k = 0; k < KEYS; k++) {
        dst.clear();
        if (store.get(11, k, dst) > 0) {
          TestPages.check(dst.flip(), 11, k);
        }
      }
      assertEquals(0, store.stats().corruptions());
    }
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
      assertTrue(store.stats().tier(io.kvstore.core.tier.TierKind.SSD).demotions() > 1000);
      ByteBuffer dst = ByteBuffer.allocateDirect(MAX_PAGE);
      for (long k = 0; k < THREADS * perThread; k++) {
        dst.clear();
        assertTrue(store.get(12, k, dst) > 0, "page " + k + " was lost");
        TestPages.check(dst.flip(), 12, k);
      }
    }
  }
}
