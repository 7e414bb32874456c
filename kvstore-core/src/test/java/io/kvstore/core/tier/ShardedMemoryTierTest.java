package io.kvstore.core.tier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.kvstore.common.PageFormat;
import io.kvstore.core.tier.dram.DramTier;
import io.kvstore.core.tier.hot.HotTier;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The memory tiers with several shards, under many threads: every byte read is checked, a deleted
 * page never comes back, a pinned page is never evicted (checked inside the eviction listener) nor
 * changed, and close() under concurrent readers frees nothing a reader still uses.
 */
class ShardedMemoryTierTest {

  private static final int MAX_PAGE = 16 * 1024;
  private static final int SHARDS = 4;
  /** 32 slabs of 32 KiB: 8 per shard, room for about 256 pages of 4 KiB or 64 of 16 KiB. */
  private static final long CAPACITY = 1L << 20;

  private static Tier tier(String kind) {
    return kind.equals("hot")
        ? HotTier.builder(CAPACITY, MAX_PAGE).shards(SHARDS).slabBytes(32 * 1024).build()
        : DramTier.builder(CAPACITY, MAX_PAGE).shards(SHARDS).slabBytes(32 * 1024).build();
  }

  private static int shardCount(Tier tier) {
    return tier instanceof HotTier ? ((HotTier) tier).shardCount() : ((DramTier) tier).shardCount();
  }

  @ParameterizedTest
  @ValueSource(strings = {"hot", "dram"})
  void shouldUseTheShardsAskedForAndFewerWhenSmall(String kind) {
    try (Tier tier = tier(kind)) {
      assertEquals(SHARDS, shardCount(tier));
    }
    // 4 slabs cannot give 4 shards 4 slabs each: one shard.
    try (Tier small =
        kind.equals("hot")
            ? HotTier.builder(4 * MAX_PAGE, MAX_PAGE).shards(SHARDS).build()
            : DramTier.builder(4 * MAX_PAGE, MAX_PAGE).shards(SHARDS).build()) {
      assertEquals(1, shardCount(small));
      for (int i = 0; i < 4; i++) {
        assertTrue(small.put(TestPages.page(1, i, 1, MAX_PAGE - PageFormat.HEADER_LENGTH)));
      }
      assertEquals(4, small.pageCount(), "the whole capacity is usable by one shard");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"hot", "dram"})
  void shouldStoreLargestPageInEveryShardWhileOthersAreFull(String kind) {
    try (Tier tier = tier(kind)) {
      // Fill the tier with small pages, pin one in every shard's way, then store largest pages.
      for (int i = 0; i < 600; i++) {
        assertTrue(tier.put(TestPages.page(2, i, 1, 1000)));
      }
      for (int i = 0; i < 64; i++) {
        assertTrue(
            tier.put(TestPages.page(3, i, 1, MAX_PAGE - PageFormat.HEADER_LENGTH)),
            "largest page " + i + " fits whatever its shard holds");
        TestPages.check(read(tier, 3, i), 3, i);
      }
      assertTrue(tier.usedBytes() <= tier.capacityBytes());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"hot", "dram"})
  void shouldStayExactWithManyThreads(String kind) throws Exception {
    Tier tier = tier(kind);
    try {
      // (key lo << 32 | version) of every page pinned now, counted; the listener checks it.
      Map<Long, Integer> pinned = new ConcurrentHashMap<>();
      AtomicReference<Throwable> failure = new AtomicReference<>();
      AtomicLong evictions = new AtomicLong();
      tier.setEvictionListener(
          (hi, lo, page) -> {
            try {
              int version = TestPages.check(page, hi, lo);
              if (pinned.getOrDefault(pinKey(hi, lo, version), 0) > 0) {
                fail("pinned page " + hi + "/" + lo + " v" + version + " was evicted");
              }
              evictions.incrementAndGet();
            } catch (Throwable t) {
              failure.compareAndSet(null, t);
            }
          });
      int threads = 8;
      CountDownLatch start = new CountDownLatch(1);
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      AtomicLong hits = new AtomicLong();
      try {
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          int seed = t;
          futures.add(pool.submit(() -> workload(tier, seed, start, pinned, hits)));
        }
        start.countDown();
        for (Future<?> future : futures) {
          future.get(120, TimeUnit.SECONDS);
        }
      } finally {
        pool.shutdownNow();
        assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
      }
      if (failure.get() != null) {
        throw new AssertionError("eviction listener", failure.get());
      }
      assertTrue(evictions.get() > 0, "the workload must evict");
      assertTrue(hits.get() > 0, "the workload must hit");
      assertTrue(tier.usedBytes() <= tier.capacityBytes());
      long readable = 0;
      for (long hi = 0; hi <= threads; hi++) {
        for (long lo = 0; lo < 48; lo++) {
          ByteBuffer page = read(tier, hi, lo);
          if (page != null) {
            TestPages.check(page, hi, lo);
            readable++;
          }
        }
      }
      assertEquals(readable, tier.pageCount(), "page count matches what can be read");
    } finally {
      tier.close();
    }
  }

  private static long pinKey(long hi, long lo, int version) {
    return (hi << 56) ^ (lo << 32) ^ (version & 0xFFFF_FFFFL);
  }

  /**
   * One thread: its own keys (hi = seed + 1), whose latest version it knows, so a get must return
   * exactly that version or a miss (evicted), and a miss after a delete until the next put; shared
   * keys (hi = 0) written by everyone, checked byte for byte; and pins held across later operations
   * (up to 3 at a time), checked intact when released.
   */
  private static Void workload(
      Tier tier, int seed, CountDownLatch start, Map<Long, Integer> pinned, AtomicLong hits)
      throws InterruptedException {
    Random random = new Random(seed);
    long own = seed + 1;
    int[] latest = new int[48];
    boolean[] deleted = new boolean[48];
    ArrayDeque<PinnedPage> pins = new ArrayDeque<>();
    ArrayDeque<long[]> pinIds = new ArrayDeque<>();
    ByteBuffer dst = ByteBuffer.allocateDirect(MAX_PAGE);
    start.await();
    try {
      for (int op = 0; op < 2500; op++) {
        boolean shared = random.nextInt(4) == 0;
        long hi = shared ? 0 : own;
        int lo = random.nextInt(48);
        int choice = random.nextInt(20);
        if (choice < 8) {
          int version = shared ? seed * 100_000 + op : ++latest[lo];
          int payload = random.nextInt(MAX_PAGE - PageFormat.HEADER_LENGTH + 1);
          boolean stored = tier.put(TestPages.page(hi, lo, version, payload));
          if (!shared) {
            if (stored) {
              deleted[lo] = false;
            } else {
              latest[lo]--; // a refused put changes nothing: the previous state stands
            }
          }
        } else if (choice < 15) {
          dst.clear();
          int length = tier.get(hi, lo, dst);
          if (length != Tier.MISS) {
            int version = TestPages.check(dst, 0, length, hi, lo);
            hits.incrementAndGet();
            if (!shared) {
              assertFalse(deleted[lo], "a deleted page came back: " + hi + "/" + lo);
              assertEquals(latest[lo], version, "stale version of " + hi + "/" + lo);
            }
          }
        } else if (choice < 18) {
          PinnedPage pin = tier.pin(hi, lo);
          if (pin != null) {
            int version = TestPages.check(pin.buffer(), hi, lo);
            pinned.merge(pinKey(hi, lo, version), 1, Integer::sum);
            pins.add(pin);
            pinIds.add(new long[] {hi, lo, version});
          }
          if (pins.size() > 3) {
            release(pins.poll(), pinIds.poll(), pinned);
          }
        } else {
          tier.delete(hi, lo);
          if (!shared) {
            deleted[lo] = true;
            assertEquals(Tier.MISS, tier.length(hi, lo), "deleted page still present");
          }
        }
      }
    } finally {
      while (!pins.isEmpty()) {
        release(pins.poll(), pinIds.poll(), pinned);
      }
      org.agrona.BufferUtil.free(dst);
    }
    return null;
  }

  /** Checks the pinned bytes are unchanged, forgets the pin, then closes it (in that order). */
  private static void release(PinnedPage pin, long[] id, Map<Long, Integer> pinned) {
    assertEquals((int) id[2], TestPages.check(pin.buffer(), id[0], id[1]), "pinned page changed");
    pinned.merge(pinKey(id[0], id[1], (int) id[2]), -1, Integer::sum);
    pin.close();
  }

  @ParameterizedTest
  @ValueSource(strings = {"hot", "dram"})
  void shouldServeOtherShardsWhileOneShardIsBusy(String kind) throws Exception {
    try (Tier tier = tier(kind)) {
      for (int i = 0; i < 64; i++) {
        assertTrue(tier.put(TestPages.page(9, i, 1, 3000)));
      }
      // A listener that blocks (what a listener must never do) holds one shard's lock for as long
      // as the test wants: operations on keys of the other shards must still complete.
      CountDownLatch inListener = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      AtomicBoolean block = new AtomicBoolean(true);
      tier.setEvictionListener(
          (hi, lo, page) -> {
            if (block.getAndSet(false)) {
              inListener.countDown();
              try {
                release.await();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            }
          });
      ExecutorService pool = Executors.newCachedThreadPool();
      try {
        Future<?> evicting =
            pool.submit(
                () -> {
                  for (int i = 0; inListener.getCount() > 0; i++) {
                    tier.put(TestPages.page(10, i, 1, MAX_PAGE - PageFormat.HEADER_LENGTH));
                  }
                  return null;
                });
        assertTrue(inListener.await(60, TimeUnit.SECONDS), "an eviction must happen");
        AtomicLong done = new AtomicLong();
        List<Future<?>> reads = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
          long lo = i;
          reads.add(
              pool.submit(
                  () -> {
                    ByteBuffer page = read(tier, 9, lo);
                    if (page != null) {
                      TestPages.check(page, 9, lo);
                    }
                    done.incrementAndGet();
                    return null;
                  }));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (done.get() < 32 && System.nanoTime() < deadline) {
          Thread.sleep(1);
        }
        assertTrue(
            done.get() >= 32,
            "with one of " + SHARDS + " shards held, reads of the others complete: " + done.get());
        release.countDown();
        evicting.get(60, TimeUnit.SECONDS);
        for (Future<?> f : reads) {
          f.get(60, TimeUnit.SECONDS);
        }
        assertEquals(64, done.get());
      } finally {
        release.countDown();
        pool.shutdownNow();
        assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"hot", "dram"})
  void shouldKeepPinsInEveryShardUnderConcurrentPressure(String kind) throws Exception {
    try (Tier tier = tier(kind)) {
      Set<Long> evicted = ConcurrentHashMap.newKeySet();
      tier.setEvictionListener((hi, lo, page) -> evicted.add(hi == 5 ? lo : -1 - lo));
      List<PinnedPage> pins = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        assertTrue(tier.put(TestPages.page(5, i, 1, 5000)));
        pins.add(tier.pin(5, i));
      }
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
          int seed = t;
          futures.add(
              pool.submit(
                  () -> {
                    Random random = new Random(seed);
                    for (int i = 0; i < 2000; i++) {
                      int payload = random.nextInt(MAX_PAGE - PageFormat.HEADER_LENGTH);
                      assertTrue(tier.put(TestPages.page(6 + seed, i, 1, payload)), "put " + i);
                    }
                    return null;
                  }));
        }
        for (Future<?> future : futures) {
          future.get(120, TimeUnit.SECONDS);
        }
      } finally {
        pool.shutdownNow();
        assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
      }
      assertTrue(evicted.size() > 1000, "the flood must evict");
      for (int i = 0; i < 16; i++) {
        assertFalse(evicted.contains((long) i), "pinned page " + i + " was evicted");
        TestPages.check(pins.get(i).buffer(), 5, i);
        TestPages.check(read(tier, 5, i), 5, i);
        pins.get(i).close();
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"hot", "dram"})
  void shouldCloseUnderConcurrentReadersWithoutFreeingMemoryInUse(String kind) throws Exception {
    // The direct-memory count is the JVM's: garbage buffers of earlier tests freed by the cleaner
    // while this test runs would lower it and hide (or fake) the tier's own memory. Let them go
    // first.
    long before = settledDirectBytes();
    Tier tier = tier(kind);
    for (int i = 0; i < 64; i++) {
      assertTrue(tier.put(TestPages.page(8, i, 1, 8000)));
    }
    PinnedPage heldAcrossClose = tier.pin(8, 3);
    assertNotNull(heldAcrossClose);
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong exactReads = new AtomicLong();
    AtomicLong refusedAfterClose = new AtomicLong();
    CountDownLatch running = new CountDownLatch(4);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    List<Future<?>> futures = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      int seed = t;
      futures.add(
          pool.submit(
              () -> {
                Random random = new Random(seed);
                ByteBuffer dst = ByteBuffer.allocate(MAX_PAGE);
                running.countDown();
                while (!stop.get()) {
                  int lo = random.nextInt(64);
                  try {
                    if (random.nextBoolean()) {
                      dst.clear();
                      int length = tier.get(8, lo, dst);
                      if (length != Tier.MISS) {
                        TestPages.check(dst, 0, length, 8, lo);
                        exactReads.incrementAndGet();
                      }
                    } else {
                      try (PinnedPage pin = tier.pin(8, lo)) {
                        if (pin != null) {
                          TestPages.check(pin.buffer(), 8, lo);
                          exactReads.incrementAndGet();
                        }
                      }
                    }
                  } catch (IllegalStateException closed) {
                    refusedAfterClose.incrementAndGet();
                  }
                }
                return null;
              }));
    }
    running.await();
    awaitCount(exactReads, 1000, futures);
    tier.close();
    awaitCount(refusedAfterClose, refusedAfterClose.get() + 100, futures);
    stop.set(true);
    for (Future<?> future : futures) {
      future.get(60, TimeUnit.SECONDS);
    }
    pool.shutdown();
    assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
    assertEquals(0, tier.pageCount());
    assertEquals(0, tier.usedBytes());
    assertThrows(IllegalStateException.class, () -> tier.pin(8, 3));
    assertTrue(directBytes() > before, "a pin is held: the memory must still be there");
    TestPages.check(heldAcrossClose.buffer(), 8, 3);
    heldAcrossClose.close();
    assertEquals(before, directBytes(), "the last unpin after close frees the memory");
  }

  /** Waits until {@code counter} reaches {@code target}, or a worker ended (its failure shows). */
  private static void awaitCount(AtomicLong counter, long target, List<Future<?>> workers) {
    while (counter.get() < target && workers.stream().noneMatch(Future::isDone)) {
      Thread.onSpinWait();
    }
  }

  private static ByteBuffer read(Tier tier, long hi, long lo) {
    ByteBuffer dst = ByteBuffer.allocate(MAX_PAGE);
    int length = tier.get(hi, lo, dst);
    return length == Tier.MISS ? null : dst.flip();
  }

  /**
   * Direct bytes after a GC, once the cleaner has freed the garbage buffers of earlier tests
   * (bounded wait): unchanged over four samples 25 ms apart (one equal pair was not enough after
   * tests that leave hundreds of MiB of direct garbage: the cleaner paused, then freed more during
   * the test).
   */
  private static long settledDirectBytes() throws InterruptedException {
    System.gc();
    long last = directBytes();
    int same = 0;
    for (int i = 0; i < 200 && same < 4; i++) {
      Thread.sleep(25);
      long now = directBytes();
      if (now == last) {
        same++;
      } else {
        same = 0;
        if (i % 20 == 19) {
          System.gc();
        }
      }
      last = now;
    }
    return last;
  }

  private static long directBytes() {
    for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
      if (pool.getName().equals("direct")) {
        return pool.getMemoryUsed();
      }
    }
    throw new IllegalStateException("no direct buffer pool");
  }
}
