package io.kvstore.core.store;

import static io.kvstore.core.store.StoreFixtures.MAX_PAGE;
import static io.kvstore.core.store.StoreFixtures.dst;
import static io.kvstore.core.store.StoreFixtures.small;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.kvstore.core.tier.PinnedPage;
import io.kvstore.core.tier.TestPages;
import io.kvstore.core.tier.TierKind;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Clean and dirty pages, the flush on close, and close while the store is in use. */
class TieredStoreWriteBackTest {

  private static final int PAYLOAD = 8 * 1024;
  private static final int PAGES = 150;

  @TempDir Path dir;

  private static void putAll(TieredStore store, long hi, int count) {
    for (int k = 0; k < count; k++) {
      assertTrue(store.put(TestPages.page(hi, k, 1, PAYLOAD)));
    }
  }

  @Test
  void shouldServeEveryPageHeldAfterCloseAndReopen() {
    try (TieredStore store = small(dir).build()) {
      putAll(store, 1, PAGES);
      assertTrue(store.stats().writeBack().dirtyPages() > 0, "some pages are dirty in memory");
    }
    try (TieredStore store = small(dir).build()) {
      ByteBuffer dst = dst();
      for (long k = 0; k < PAGES; k++) {
        dst.clear();
        assertTrue(store.get(1, k, dst) > 0, "page " + k + " was written down on close");
        TestPages.check(dst.flip(), 1, k);
      }
    }
  }

  @Test
  void shouldLoseTheDirtyPagesWithoutTheFlushOnClose() throws Exception {
    // The counterpart of the test above: it shows that test would fail without the flush.
    long dirty;
    try (LogCapture close = new LogCapture(StoreCloser.class)) {
      try (TieredStore store = small(dir).flushOnClose(false).build()) {
        putAll(store, 2, PAGES);
        assertTrue(store.awaitWriteBack(30_000));
        dirty = store.stats().writeBack().dirtyPages();
        assertTrue(dirty > 0);
      }
      // The close says what it leaves behind, so that a restart can be checked against it.
      String left = String.format(java.util.Locale.ROOT,
          "; %,d dirty pages and 0 queued pages were not written (shutdown.flush is off)", dirty);
      assertTrue(close.lines().stream().anyMatch(l -> l.contains(left)), close.lines().toString());
    }
    try (TieredStore store = small(dir).build()) {
      int missing = 0;
      ByteBuffer dst = dst();
      for (long k = 0; k < PAGES; k++) {
        dst.clear();
        if (store.get(2, k, dst) < 0) {
          missing++;
        }
      }
      assertEquals(dirty, missing, "exactly the dirty pages are lost");
    }
  }

  @Test
  void shouldWriteNothingToSsdUnderAReadOnlyWorkload() {
    try (TieredStore store = small(dir).build()) {
      putAll(store, 3, PAGES);
    }
    try (TieredStore store = small(dir).build()) {
      SplittableRandom r = new SplittableRandom(3);
      ByteBuffer dst = dst();
      for (int i = 0; i < 3000; i++) {
        long k = r.nextInt(PAGES);
        dst.clear();
        assertTrue(store.get(3, k, dst) > 0);
        TestPages.check(dst.flip(), 3, k);
        if (i % 7 == 0) {
          try (PinnedPage p = store.getPinned(3, r.nextInt(PAGES))) {
            assertTrue(p != null);
          }
        }
      }
      StoreStats s = store.stats();
      assertEquals(0, s.writeBack().ssdWrites(), s.writeBack().toString());
      assertEquals(0, s.writeBack().queued(), s.writeBack().toString());
      assertTrue(s.writeBack().cleanDrops() > 1000, "clean pages were dropped for free");
      assertTrue(s.tier(TierKind.SSD).hits() > 1000);
    }
  }

  @Test
  void shouldLetCallsInFlightFinishAndRefuseLaterOnesOnClose() throws Exception {
    TieredStore store = small(dir).build();
    putAll(store, 4, 60);
    PinnedPage held = store.getPinned(4, 59);
    assertTrue(held != null);
    int threads = 4;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong ops = new AtomicLong();
    CountDownLatch running = new CountDownLatch(threads);
    List<Future<?>> futures = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      final int seed = t;
      futures.add(
          pool.submit(
              () -> {
                SplittableRandom r = new SplittableRandom(seed);
                ByteBuffer dst = ByteBuffer.allocateDirect(MAX_PAGE);
                running.countDown();
                try {
                  while (!stop.get()) {
                    long k = r.nextInt(80);
                    switch (r.nextInt(4)) {
                      case 0:
                        store.put(TestPages.page(4, k, 1, PAYLOAD));
                        break;
                      case 1:
                        dst.clear();
                        if (store.get(4, k, dst) > 0) {
                          TestPages.check(dst.flip(), 4, k);
                        }
                        break;
                      case 2:
                        try (PinnedPage p = store.getPinned(4, k)) {
                          if (p != null) {
                            TestPages.check(p.buffer(), 4, k);
                          }
                        }
                        break;
                      default:
                        store.delete(4, k);
                    }
                    ops.incrementAndGet();
                  }
                } catch (IllegalStateException e) {
                  if (!"store is closed".equals(e.getMessage())) {
                    fail("a call racing close failed otherwise than 'store is closed'", e);
                  }
                }
                return null;
              }));
    }
    running.await();
    while (ops.get() < 500) {
      Thread.sleep(1);
    }
    store.close();
    for (Future<?> f : futures) {
      f.get(60, TimeUnit.SECONDS); // every worker ended by 'store is closed', nothing else
    }
    stop.set(true);
    pool.shutdown();
    assertTrue(pool.awaitTermination(60, TimeUnit.SECONDS));
    // A page pinned before close stays readable until released (memory is freed after the pin).
    TestPages.check(held.buffer(), 4, 59);
    held.close();
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> store.get(4, 1, dst()));
    assertEquals("store is closed", e.getMessage());
    store.close(); // idempotent
  }
}
