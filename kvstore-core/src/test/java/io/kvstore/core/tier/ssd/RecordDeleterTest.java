package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/**
 * The deleter's bookkeeping: which keys are pending (what writers wait for) through many submits
 * and completions in any order of keys, the tombstones released, and every queued delete finished
 * by a close.
 */
class RecordDeleterTest {

  @Test
  void shouldKnowExactlyWhichKeysArePendingThroughAFullTable() throws Exception {
    int n = CrashJournal.INTENTS;
    Semaphore allowed = new Semaphore(0);
    AtomicReference<RecordDeleter> self = new AtomicReference<>();
    AtomicIntegerArray released = new AtomicIntegerArray(n);
    RecordDeleter d =
        new RecordDeleter(
            (entry, hi, lo, seg, off) -> {
              allowed.acquireUninterruptibly();
              self.get().recordDeleted(entry);
            },
            released::incrementAndGet,
            "test-deleter");
    self.set(d);
    try {
      SplittableRandom r = new SplittableRandom(42);
      long[] hi = new long[n];
      long[] lo = new long[n];
      for (int e = 0; e < n; e++) {
        hi[e] = r.nextLong() & 0xFFF; // few distinct hi: many keys share hash neighbourhoods
        lo[e] = r.nextLong();
        d.submit(e, hi[e], lo[e], null, 0);
      }
      assertEquals(n, d.pending());
      for (int e = 0; e < n; e++) {
        assertTrue(d.isPending(hi, lo, e, 1), "key of entry " + e);
        assertFalse(d.isPending(new long[] {hi[e]}, new long[] {lo[e] + 1}, 0, 1));
      }
      // The deleter finishes them in queue order; check the rest stays pending all the way.
      for (int done = 0; done < n; ) {
        int step = Math.min(n - done, 1 + r.nextInt(5000));
        allowed.release(step);
        done += step;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (d.pending() > n - done && System.nanoTime() < deadline) {
          Thread.sleep(1);
        }
        assertEquals(n - done, d.pending());
        for (int e = 0; e < n; e += 97) {
          assertEquals(e >= done, d.isPending(hi, lo, e, 1), "entry " + e + " after " + done);
        }
      }
      for (int e = 0; e < n; e++) {
        assertEquals(1, released.get(e), "tombstone " + e + " released once");
      }
    } finally {
      allowed.release(n);
      d.close();
    }
  }

  /** Two tombstones of one key (deleted, put again, deleted): pending until both are done. */
  @Test
  void shouldKeepAKeyPendingUntilEachOfItsTombstonesIsDone() throws Exception {
    Semaphore allowed = new Semaphore(0);
    AtomicReference<RecordDeleter> self = new AtomicReference<>();
    RecordDeleter d =
        new RecordDeleter(
            (entry, hi, lo, seg, off) -> {
              allowed.acquireUninterruptibly();
              self.get().recordDeleted(entry);
            },
            e -> {},
            "test-deleter");
    self.set(d);
    try {
      long[] hi = {7};
      long[] lo = {9};
      d.submit(0, 7, 9, null, 0);
      long second = d.submit(1, 7, 9, null, 0);
      allowed.release(1);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (d.pending() > 1 && System.nanoTime() < deadline) {
        Thread.sleep(1);
      }
      assertEquals(1, d.pending());
      assertTrue(d.isPending(hi, lo, 0, 1), "one tombstone of the key is left");
      allowed.release(1);
      assertTrue(d.awaitFinished(1, second, TimeUnit.SECONDS.toNanos(30)));
      assertFalse(d.isPending(hi, lo, 0, 1));
    } finally {
      allowed.release(2);
      d.close();
    }
  }

  @Test
  void shouldFinishEveryQueuedDeleteBeforeTheCloseReturns() {
    AtomicIntegerArray finished = new AtomicIntegerArray(16);
    AtomicReference<RecordDeleter> self = new AtomicReference<>();
    RecordDeleter d =
        new RecordDeleter(
            (entry, hi, lo, seg, off) -> {
              self.get().recordDeleted(entry);
              finished.incrementAndGet(entry);
            },
            e -> {},
            "test-deleter");
    self.set(d);
    long[] tickets = new long[16];
    for (int e = 0; e < 16; e++) {
      tickets[e] = d.submit(e, e, e, null, 0);
    }
    d.close();
    for (int e = 0; e < 16; e++) {
      assertEquals(1, finished.get(e));
      assertTrue(d.awaitFinished(e, tickets[e], 0), "finished, no wait needed");
    }
    assertEquals(0, d.pending());
  }

  /**
   * A work that throws before saying the record is gone (a bug, not a disk fault: those it handles
   * itself): the thread goes on with the next delete, writers of the key no longer wait, and the
   * tombstone's journal entry stays taken, so the open after a crash still deletes the record.
   * Before, the key stayed pending for ever and every writer of it waited for ever.
   */
  @Test
  void shouldGoOnAndLetWritersOfTheKeyGoWhenTheWorkThrows() {
    AtomicReference<RecordDeleter> self = new AtomicReference<>();
    AtomicIntegerArray released = new AtomicIntegerArray(4);
    RecordDeleter d =
        new RecordDeleter(
            (entry, hi, lo, seg, off) -> {
              if (entry == 1) {
                throw new IllegalStateException("a bug in the work");
              }
              self.get().recordDeleted(entry);
            },
            released::incrementAndGet,
            "test-deleter");
    self.set(d);
    try {
      long[] hi = {7};
      long[] lo = {8};
      long failing = d.submit(1, 7, 8, null, 0);
      long next = d.submit(2, 9, 10, null, 0);
      assertTrue(d.awaitFinished(1, failing, TimeUnit.SECONDS.toNanos(30)));
      assertTrue(d.awaitFinished(2, next, TimeUnit.SECONDS.toNanos(30)), "the thread went on");
      assertTimeoutPreemptively(
          Duration.ofSeconds(30), () -> d.awaitNotPending(hi, lo, 0, 1), "a writer of the key");
      assertFalse(d.isPending(hi, lo, 0, 1));
      assertEquals(0, d.pending());
      assertEquals(0, released.get(1), "the failed tombstone stays in the journal");
      assertEquals(1, released.get(2));
    } finally {
      d.close();
    }
  }
}
