package io.kvstore.core.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.tier.TestPages;
import io.kvstore.core.tier.ssd.SsdTier;
import io.kvstore.core.tier.ssd.SsdTierConfig;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The write-back writers' batches: what a writer does when a key lock of its batch is held. */
class WriteBackBatchTest {

  private static final int PAYLOAD = 4000;

  @TempDir Path dir;

  private static boolean awaitContains(SsdTier ssd, long hi, long lo) throws InterruptedException {
    for (int i = 0; i < 1000 && !ssd.contains(hi, lo); i++) {
      Thread.sleep(10);
    }
    return ssd.contains(hi, lo);
  }

  /**
   * A put or delete holds its key lock while it waits for the write of a key a writer has marked;
   * so a writer with marked keys must not wait for another key lock. Here the second page's key
   * lock is held (as by such a put): the writer writes the first page alone, unmarks it, and only
   * then waits for the second one's lock. Before the fix it waited for that lock with the first
   * key marked, and wrote nothing until it was released.
   */
  @Test
  void shouldWriteThePagesBeforeABusyKeyLockAndTheRestOnceItIsFree() throws Exception {
    KeyLocks locks = new KeyLocks(64);
    long busy = 2;
    while (locks.lockFor(1, busy) == locks.lockFor(1, 1)) {
      busy++;
    }
    assertNotSame(locks.lockFor(1, 1), locks.lockFor(1, busy));
    try (SsdTier ssd = new SsdTier(SsdTierConfig.builder(dir, 4 << 20).maxPages(1000).build());
        WriteBackQueue queue = new WriteBackQueue(1 << 20, 64)) {
      // Both queued before the writer starts: it takes them as one batch.
      assertTrue(queue.offer(1, 1, TestPages.page(1, 1, 1, PAYLOAD)));
      assertTrue(queue.offer(1, busy, TestPages.page(1, busy, 1, PAYLOAD)));
      ReentrantLock held = locks.lockFor(1, busy);
      held.lock();
      WriteBack wb;
      try {
        wb =
            new WriteBack(ssd, locks, queue, new SsdHealth(10, 100), 1, 100, new LongAdder());
        assertTrue(awaitContains(ssd, 1, 1), "the page before the busy key lock is written");
        wb.awaitNotWriting(1, 1); // returns: the first key is no longer marked
        assertFalse(ssd.contains(1, busy));
      } finally {
        held.unlock();
      }
      assertTrue(queue.awaitEmpty(TimeUnit.SECONDS.toNanos(10)));
      assertTrue(ssd.contains(1, busy), "the rest is written once its key lock is free");
      assertEquals(2, wb.ssdWrites.sum());
      assertEquals(0, wb.drops.sum());
      assertTrue(wb.stop(false, System.nanoTime() + TimeUnit.SECONDS.toNanos(10)));
    }
  }
}
