package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.PageFormat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A put that starts a new segment makes its file (a new one, or a kept one renamed) outside the
 * tier's allocation lock: on a stalled disk that file operation can take seconds, and a delete
 * that empties a segment, a write that finishes, or a drop, all of which take the lock, must not
 * wait for it. A file that cannot be made fails that put only, and gives back what it took.
 */
class SsdTierRollLockTest {

  private static final int PAYLOAD = 4000;
  private static final int LEN = PageFormat.pageLength(PAYLOAD);

  @TempDir Path dir;

  /** One page per segment: every put after the first starts a new segment. */
  private SsdTier open(long capacity) {
    return new SsdTier(
        SsdTierConfig.builder(dir, capacity)
            .maxPageBytes(LEN)
            .maxPages(1 << 16)
            .segmentBytes(LEN)
            .build());
  }

  private static ByteBuffer page(long k) {
    return Pages.page(k, k, 0, 0, PAYLOAD, k);
  }

  private static void assertServes(SsdTier tier, long k) {
    Pages.assertServes(tier, k, PAYLOAD);
  }

  @Test
  void shouldMakeANewSegmentsFileOutsideTheAllocationLock() throws Exception {
    try (SsdTier tier = open(64L << 20)) {
      assertTrue(tier.put(page(1)));
      assertTrue(tier.put(page(2)));
      ReentrantLock alloc = tier.allocationLockForTest();
      CountDownLatch stalled = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      AtomicBoolean lockHeldDuringFileOp = new AtomicBoolean();
      tier.beforeSegmentFileForTest =
          () -> {
            lockHeldDuringFileOp.set(alloc.isHeldByCurrentThread());
            stalled.countDown();
            try {
              release.await(); // a stalled disk
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          };
      CompletableFuture<Boolean> rolling = CompletableFuture.supplyAsync(() -> tier.put(page(3)), LockWaits.OWN_THREAD);
      try {
        assertTrue(stalled.await(30, TimeUnit.SECONDS), "the put of page 3 starts a segment");
        assertFalse(lockHeldDuringFileOp.get(), "the segment file is made under the allocation lock");
        // Page 1 is alone in its segment: deleting it drops the segment, which takes the lock.
        assertTrue(
            LockWaits.withoutWaitingFor(
                alloc,
                "a delete that empties a segment waits for a new segment's file",
                () -> tier.delete(1, 1)));
        assertEquals(LEN, LockWaits.withoutWaitingFor(alloc, "a read waits", () -> tier.get(2, 2,
            ByteBuffer.allocateDirect(LEN))));
        // Another put that needs a new segment waits for this one's file, without spinning.
        tier.beforeSegmentFileForTest = null;
        CompletableFuture<Boolean> second = CompletableFuture.supplyAsync(() -> tier.put(page(4)), LockWaits.OWN_THREAD);
        assertFalse(rolling.isDone(), "the first put is still making its file");
        release.countDown();
        assertTrue(rolling.get(30, TimeUnit.SECONDS));
        assertTrue(second.get(30, TimeUnit.SECONDS));
      } finally {
        release.countDown();
        tier.beforeSegmentFileForTest = null;
      }
      ByteBuffer dst = ByteBuffer.allocateDirect(LEN);
      assertEquals(-1, tier.get(1, 1, dst), "deleted");
      for (long k = 2; k <= 4; k++) {
        assertServes(tier, k);
      }
      assertEquals(3, tier.pageCount());
    }
    // And after a clean close and reopen.
    try (SsdTier tier = open(64L << 20)) {
      for (long k = 2; k <= 4; k++) {
        assertServes(tier, k);
      }
      assertEquals(3, tier.pageCount());
    }
  }

  @Test
  void shouldFailOnlyThePutWhoseSegmentFileCannotBeMadeAndGiveBackItsSlotAndKeptFile()
      throws Exception {
    // Small enough that the tier evicts and keeps evicted segments' files for reuse.
    long capacity = 96L * LEN + (2L << 20);
    try (SsdTier tier = open(capacity)) {
      long k = 1;
      while (tier.segmentFilesReused() == 0) {
        assertTrue(tier.put(page(k)), "page " + k);
        k++;
        assertTrue(k < 100_000, "the tier never reused a file");
      }
      long failures = tier.writeFailures();
      long pages = tier.pageCount();
      for (int attempt = 0; attempt < 3; attempt++) {
        tier.beforeSegmentFileForTest =
            () -> {
              throw new UncheckedIOException(new IOException("injected: the disk is gone"));
            };
        long key = k;
        SsdStorageException e = assertThrows(SsdStorageException.class, () -> tier.put(page(key)));
        assertTrue(e.getMessage().startsWith("cannot create a segment file in "), e.getMessage());
        assertTrue(e.getMessage().contains("injected: the disk is gone"), e.getMessage());
        assertEquals(failures + attempt + 1, tier.writeFailures());
        assertTrue(tier.pageCount() <= pages, "a failed put adds no page");
        assertEquals(-1, tier.get(key, key, ByteBuffer.allocateDirect(LEN)));
        tier.beforeSegmentFileForTest = null;
        // The slot and the kept file came back: the next puts start segments as before.
        long reused = tier.segmentFilesReused();
        for (int i = 0; i < 10; i++, k++) {
          assertTrue(tier.put(page(k)), "page " + k);
          assertServes(tier, k);
          assertTrue(tier.diskBytes() <= capacity, "bytes on disk within the capacity");
        }
        assertTrue(tier.segmentFilesReused() > reused, "kept files are still reused");
        pages = tier.pageCount();
      }
    }
  }

  @Test
  void shouldKeepEveryLivePageAndTheDiskBoundWhenManyPutsRollAndEvictAtOnce() throws Exception {
    // One page per segment at capacity: every put rolls, most evict, kept files are reused, and
    // deletes drop segments, from four threads at once. Each thread owns its keys and remembers
    // which version of each it stored last, so every page read back has one right answer.
    long capacity = 64L * LEN + (2L << 20);
    int threads = 4;
    int keysPerThread = 300;
    int opsPerThread = 1500;
    long[][] version = new long[threads][keysPerThread];
    try (SsdTier tier = open(capacity)) {
      java.util.List<CompletableFuture<Void>> work = new java.util.ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int me = t;
        work.add(
            CompletableFuture.runAsync(
                () -> {
                  java.util.Random rnd = new java.util.Random(20261203L + me);
                  ByteBuffer dst = ByteBuffer.allocateDirect(LEN);
                  for (int op = 0; op < opsPerThread; op++) {
                    int k = rnd.nextInt(keysPerThread);
                    long key = me * 1_000_000L + k + 1;
                    if (rnd.nextInt(5) == 0) {
                      tier.delete(key, key);
                      version[me][k] = 0;
                    } else if (rnd.nextInt(3) == 0 && version[me][k] > 0) {
                      dst.clear();
                      int n = tier.get(key, key, dst);
                      if (n >= 0) { // or evicted meanwhile: a miss
                        assertTrue(
                            Pages.sameBytes(Pages.page(key, key, 0, 0, PAYLOAD, version[me][k]), dst, 0, LEN),
                            "key " + key + " version " + version[me][k]);
                      }
                    } else {
                      long v = op + 1;
                      assertTrue(tier.put(Pages.page(key, key, 0, 0, PAYLOAD, v)));
                      version[me][k] = v;
                    }
                    assertTrue(tier.diskBytes() <= capacity, "bytes on disk " + tier.diskBytes());
                  }
                },
                LockWaits.OWN_THREAD));
      }
      for (CompletableFuture<Void> f : work) {
        f.get(120, TimeUnit.SECONDS); // a roll that never finishes fails here, not by hanging
      }
      assertTrue(tier.segmentFilesReused() > 0, "kept files were reused");
      assertTrue(tier.evictions() > 0, "the tier evicted");
    }
    // Reopened: every page it still holds is the last version put, and no deleted key came back.
    try (SsdTier tier = open(capacity)) {
      ByteBuffer dst = ByteBuffer.allocateDirect(LEN);
      long found = 0;
      for (int t = 0; t < threads; t++) {
        for (int k = 0; k < keysPerThread; k++) {
          long key = t * 1_000_000L + k + 1;
          dst.clear();
          int n = tier.get(key, key, dst);
          if (version[t][k] == 0) {
            assertEquals(-1, n, "deleted key " + key + " came back");
          } else if (n >= 0) {
            found++;
            assertTrue(
                Pages.sameBytes(Pages.page(key, key, 0, 0, PAYLOAD, version[t][k]), dst, 0, LEN),
                "key " + key + " after the reopen");
          }
        }
      }
      assertTrue(found > 0, "some pages survive at capacity");
      assertEquals(found, tier.pageCount(), "the tier holds exactly the pages found");
    }
  }
}
