package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.PageFormat;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A read from the SSD tier, and the bytes-on-disk figure that metrics read, do not wait for the
 * tier's allocation lock, which a put holds while it rolls to a new segment (a file created or
 * renamed: seconds on a stalled disk). The read is served while another thread holds the lock; only
 * its hint to the eviction policy is skipped.
 */
class SsdTierReadLockTest {

  private static final int PAYLOAD = 4000;
  private static final int LEN = PageFormat.pageLength(PAYLOAD);

  @TempDir Path dir;

  @Test
  void shouldServeAReadAndTheBytesOnDiskWhileAPutHoldsTheAllocationLock() throws Exception {
    try (SsdTier tier = new SsdTier(SsdTierConfig.builder(dir, 8 << 20).maxPages(1000).build())) {
      ByteBuffer page = Pages.page(1, 2, 0, 0, PAYLOAD, 7);
      assertTrue(tier.put(page.duplicate()));
      ReentrantLock alloc = tier.allocationLockForTest();
      CountDownLatch held = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      Thread holder =
          new Thread(
              () -> {
                alloc.lock(); // as a put rolling to a new segment on a stalled disk
                try {
                  held.countDown();
                  release.await();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                } finally {
                  alloc.unlock();
                }
              },
              "stalled-roll");
      holder.start();
      try {
        assertTrue(held.await(30, TimeUnit.SECONDS));
        ByteBuffer dst = ByteBuffer.allocateDirect(LEN);
        int read =
            LockWaits.withoutWaitingFor(
                alloc, "the read waits for the allocation lock held by a put", () -> tier.get(1, 2, dst));
        assertEquals(LEN, read);
        dst.flip();
        assertEquals(page.duplicate().rewind(), dst, "the exact bytes that were put");
        // The metrics' figure, the same way: from a thread that does not hold the lock.
        long bytes =
            LockWaits.withoutWaitingFor(
                alloc, "the bytes on disk wait for the allocation lock held by a put", tier::diskBytes);
        assertTrue(bytes >= LEN, "the page's bytes are on disk: " + bytes);
        assertTrue(alloc.isLocked(), "served while the lock was still held");
      } finally {
        release.countDown();
        holder.join();
      }
      // Once the lock is free, reads go on being served (and told to the policy) as before.
      ByteBuffer again = ByteBuffer.allocateDirect(LEN);
      assertEquals(LEN, tier.get(1, 2, again));
    }
  }
}
