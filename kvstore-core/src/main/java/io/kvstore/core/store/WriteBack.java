package io.kvstore.core.store;

import io.kvstore.core.tier.Tier;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Writes dirty pages down to the SSD tier off the request path: owns the {@link WriteBackQueue},
 * the writer threads ({@code kvstore-writeback-N}, daemon threads, stopped by {@link #stop}) and
 * the SSD tier's {@link SsdHealth}.
 *
 * <p>Policy (also in {@code docs/configuration.md}):
 *
 * <ul>
 *   <li>A dirty page evicted from the last memory tier is queued under the evicting tier's lock
 *       (never I/O, never a wait): held in its slot when the tier evicted it ahead of need ({@link
 *       io.kvstore.core.tier.EvictionListener#onEvictHeld}: no copy, the slot is released once the
 *       entry is completed), else copied into the queue's arena (a memcpy). No room: the page is
 *       dropped and counted ({@link #drops}).
 *   <li>A put waits, before it takes any lock, while the queue has no room for its page, at most
 *       {@code writeBackMaxWaitMillis}; then it goes on, and victims that still find no room are
 *       dropped and counted.
 *   <li>A writer takes the oldest pending entries, up to {@value #BATCH_PAGES} pages and {@value
 *       #BATCH_BYTES} bytes (one at least); for each it locks its key, skips it if a put or delete
 *       of the key came since (cancelled) or the SSD tier already holds the key; then it writes the
 *       rest together ({@link Tier#putAll}: for the SSD tier one write of the pages back to back and
 *       one log append for their locations) and completes them together (one wake-up of the puts
 *       waiting for room per batch, not per page).
 *   <li>A write that fails (any exception from the SSD tier, typically a {@link
 *       io.kvstore.core.tier.TierWriteException} NO_SPACE or IO_ERROR) drops the pages of that
 *       write the tier did not store (none of them is indexed), counts them ({@link #drops}) and
 *       the failure ({@link #failures}), and makes the SSD tier degraded: while degraded, queued
 *       and newly evicted dirty pages are dropped and counted, puts do not wait, and one writer
 *       calls {@link Tier#resumeWrites()} on an exponential backoff; when it says yes, write-back
 *       resumes.
 * </ul>
 *
 * <p>A writer checks an entry under its key lock (a stripe of {@link KeyLocks}, never a memory
 * tier's lock), then writes without it; a put or delete of that very key waits for the write
 * ({@link #awaitNotWriting}) before it takes the key lock ({@link KeyLocks#lockForRemoval}). So a stalled
 * disk delays only those puts and deletes, and gets of any key, which are served from the queue
 * meanwhile, never wait for it.
 */
final class WriteBack {

  private static final System.Logger LOG = System.getLogger(WriteBack.class.getName());

  private final Tier ssd;
  private final KeyLocks locks;
  private final WriteBackQueue queue;
  private final SsdHealth health;
  private final long maxWaitNanos;
  private final Thread[] writers;
  private final LongAdder demotions;
  /**
   * Keys being written now: writer {@code w} has {@code writing[w]} of them, at {@code [w *
   * BATCH_PAGES, w * BATCH_PAGES + writing[w])} of the key arrays; guarded by the array's monitor.
   */
  private final int[] writing;
  private final long[] writingHi;
  private final long[] writingLo;

  /** Most pages a writer takes and writes together. */
  static final int BATCH_PAGES = 32;
  /**
   * Most bytes a writer takes together (at least one page whatever its size): big enough that the
   * per-write costs (a system call, a log append, lock hand-offs) are small beside the bytes, small
   * enough that the batch's pages stay in the CPU's last-level cache while they are written.
   */
  static final long BATCH_BYTES = 2L << 20;
  private volatile boolean running = true;

  final LongAdder queued = new LongAdder();
  /** Of {@link #queued}: pages queued in their memory slot, uncopied (held). */
  final LongAdder queuedHeld = new LongAdder();
  final LongAdder ssdWrites = new LongAdder();
  final LongAdder ssdWriteBytes = new LongAdder();
  final LongAdder cleanDrops = new LongAdder();
  final LongAdder drops = new LongAdder();
  final LongAdder failures = new LongAdder();
  final LongAdder cancelled = new LongAdder();
  final LongAdder putWaits = new LongAdder();

  WriteBack(
      Tier ssd,
      KeyLocks locks,
      WriteBackQueue queue,
      SsdHealth health,
      int threads,
      long maxWaitMillis,
      LongAdder demotions) {
    this.demotions = demotions;
    this.ssd = ssd;
    this.locks = locks;
    this.queue = queue;
    this.health = health;
    this.maxWaitNanos = TimeUnit.MILLISECONDS.toNanos(maxWaitMillis);
    writing = new int[threads];
    writingHi = new long[threads * BATCH_PAGES];
    writingLo = new long[threads * BATCH_PAGES];
    writers = new Thread[threads];
    for (int i = 0; i < threads; i++) {
      final int id = i;
      writers[i] = new Thread(() -> runWriter(id), "kvstore-writeback-" + (i + 1));
      writers[i].setDaemon(true);
      writers[i].start();
    }
  }

  WriteBackQueue queue() {
    return queue;
  }

  SsdHealth health() {
    return health;
  }

  /**
   * A dirty page left memory: queue it, or drop and count it. Called under the evicting tier's lock.
   *
   * @param tier the memory tier that evicted it, with {@code hold} its hold on the page's slot, or
   *     {@link WriteBackQueue#NO_HOLD} if the page is only valid during the call (then it is copied)
   * @return whether the queue keeps the held page (then the queue releases the hold)
   */
  boolean evictedDirty(long hi, long lo, ByteBuffer page, int tier, long hold) {
    if (health.degraded()) {
      drops.increment();
      return false;
    }
    if (tier != WriteBackQueue.NO_HOLD && queue.offerHeld(hi, lo, page, tier, hold)) {
      queued.increment();
      queuedHeld.increment();
      return true;
    }
    if (!queue.offer(hi, lo, page)) {
      drops.increment();
      return false;
    }
    queued.increment();
    return false;
  }

  /** The bounded wait of a put for queue room (see the class notes); no lock may be held. */
  void awaitRoom(int pageBytes) {
    if (health.degraded()) {
      return;
    }
    try {
      if (!queue.awaitRoom(pageBytes, 0)) {
        putWaits.increment();
        queue.awaitRoom(pageBytes, maxWaitNanos);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Cancels queued writes of the key; call under the key lock (put, delete). */
  void cancel(long hi, long lo) {
    int n = queue.cancel(hi, lo);
    if (n > 0) {
      cancelled.add(n);
    }
  }

  /**
   * Writes the page to the SSD tier now, containing any failure. Call under the page's key lock.
   *
   * @return whether the SSD tier holds the page now
   */
  boolean writeNow(ByteBuffer page) {
    if (health.degraded()) {
      return false;
    }
    try {
      if (ssd.put(page)) {
        health.writeSucceeded();
        ssdWrites.increment();
        ssdWriteBytes.add(page.remaining());
        return true;
      }
      return false;
    } catch (RuntimeException e) {
      failures.increment();
      health.failed(e);
      return false;
    }
  }

  /** A writer thread's batch: the entries it took and the pages it writes. */
  private static final class Batch {
    final long[] first = new long[1];
    final long[] seqs = new long[BATCH_PAGES];
    final ByteBuffer[] pages = new ByteBuffer[BATCH_PAGES];
    final boolean[] stored = new boolean[BATCH_PAGES];
    /** The holds of the entries taken (entry {@code first + k} at {@code k}), to release. */
    final int[] holdTier = new int[BATCH_PAGES];
    final long[] holdToken = new long[BATCH_PAGES];

    /** Reads the holds of the {@code n} entries taken, before any is completed. */
    void readHolds(WriteBackQueue queue, int n) {
      for (int k = 0; k < n; k++) {
        holdTier[k] = queue.holdTier(first[0] + k);
        holdToken[k] = queue.holdToken(first[0] + k);
      }
    }
  }

  /**
   * Releases the held pages of a batch's {@code n} entries, every one completed by now (a
   * completed entry is read by nobody). A release that fails is logged (the others are released
   * all the same): it is a bug, and the writer must go on.
   */
  private void releaseHolds(Batch batch, int n) {
    try {
      queue.releaseAll(batch.holdTier, batch.holdToken, n);
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.ERROR, "write-back could not release a held page", e);
    }
  }

  private void runWriter(int id) {
    Batch batch = new Batch();
    while (running) {
      try {
        if (health.degraded() && health.retryDue()) {
          retry();
        }
        int n =
            queue.takeBatch(
                TimeUnit.MILLISECONDS.toNanos(health.degraded() ? 20 : 100),
                BATCH_PAGES,
                BATCH_BYTES,
                batch.first);
        if (n == 0) {
          continue;
        }
        batch.readHolds(queue, n);
        try {
          if (health.degraded()) {
            drops.add(n); // write-back is paused: the pages cannot be written
            for (int k = 0; k < n; k++) {
              batch.seqs[k] = batch.first[0] + k;
            }
            queue.completeAll(batch.seqs, n);
          } else {
            write(batch, n, id);
          }
        } finally {
          releaseHolds(batch, n); // every entry taken is completed by now
        }
      } catch (InterruptedException e) {
        if (!running) {
          return;
        }
      } catch (RuntimeException | Error e) {
        // A writer never dies of one batch: its pages were completed (dropped) in write.
        LOG.log(System.Logger.Level.ERROR, "write-back writer failed on one batch", e);
      }
    }
  }

  private void retry() {
    try {
      if (ssd.resumeWrites()) {
        health.resumed();
        // Confirmed by a write of the tier's own, so that a store with nothing to write back
        // recovers too (before, it reported degraded until the next dirty page came).
        ssd.probeWrite();
        health.writeSucceeded();
      }
    } catch (RuntimeException e) {
      health.failed(e);
    }
  }

  /** {@link #check}: the entry is completed, not to be written. */
  private static final int SKIP = 0;
  /** {@link #check}: the entry's key is marked as being written: write it. */
  private static final int WRITE = 1;
  /** {@link #check}: the entry's key lock is held by another thread; nothing was done. */
  private static final int BUSY = 2;

  /**
   * Writes the {@code n} entries taken from {@code batch.first[0]}: checks each under its key lock
   * (cancelled or held by SSD already: completed at once, unwritten), marks the others as being
   * written, writes them together without any key lock, and completes them after the write, so
   * that a get finds each page in the queue or on SSD throughout.
   *
   * <p>Only the first entry of a write waits for its key lock; the others only try theirs, and a
   * key lock held elsewhere ends the write there (the rest go in the next write): a writer with
   * keys marked never waits for a lock whose holder may be slow (a put removing an SSD copy), which
   * would hold the puts waiting for those marked keys ({@link #awaitNotWriting}) as well.
   */
  private void write(Batch batch, int n, int writer) {
    long first = batch.first[0];
    int next = 0;
    try {
      while (next < n) {
        int m = 0;
        while (next < n) {
          long seq = first + next;
          int verdict = check(seq, writer, m);
          if (verdict == BUSY) {
            break;
          }
          if (verdict == WRITE) {
            batch.seqs[m] = seq;
            batch.pages[m] = queue.page(seq);
            m++;
          }
          next++;
        }
        try {
          if (m > 0) {
            int written = writeAllNow(batch.pages, m, batch.stored);
            demotions.add(written);
            drops.add(m - written);
          }
        } finally {
          // After the write: a get finds the page in the queue or on SSD.
          queue.completeAll(batch.seqs, m);
          java.util.Arrays.fill(batch.pages, 0, m, null);
          unmarkWriting(writer);
        }
      }
    } finally {
      // Never leave an entry taken (not even after an Error in the checks): the queue would stop
      // reclaiming.
      for (int k = next; k < n; k++) {
        drops.increment();
        queue.complete(first + k);
      }
    }
  }

  /**
   * Under the entry's key lock: whether to write it. If not (cancelled, held by SSD already, or the
   * check failed) the entry is completed here ({@link #SKIP}); if so, its key is marked as being
   * written (slot {@code slot} of the writer) before the lock is released, so a put or delete of
   * it waits ({@link #WRITE}). With keys marked already ({@code slot > 0}) it does not wait for the
   * key lock: {@link #BUSY} if another thread holds it.
   */
  private int check(long seq, int writer, int slot) {
    long hi = queue.keyHi(seq);
    long lo = queue.keyLo(seq);
    ReentrantLock lock = locks.lockFor(hi, lo);
    if (slot == 0) {
      lock.lock();
    } else if (!lock.tryLock()) {
      return BUSY;
    }
    try {
      try {
        if (queue.isCanceled(seq) || ssd.contains(hi, lo)) {
          // Cancelled: a put or delete came after, writing would resurrect an old version. Held
          // by SSD already: the key was queued twice, nothing is dirty any more.
          queue.complete(seq);
          return SKIP;
        }
      } catch (RuntimeException e) {
        queue.complete(seq);
        drops.increment();
        failures.increment();
        health.failed(e);
        return SKIP;
      }
      markWriting(writer, slot, hi, lo); // from here a put or delete of this key waits for the write
      return WRITE;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Writes the pages to the SSD tier together, containing any failure (the pages the tier did not
   * store are dropped by the caller; a failure is counted once and makes the tier degraded). Call
   * with the pages' keys marked as being written.
   *
   * @return how many pages the SSD tier stored
   */
  private int writeAllNow(ByteBuffer[] pages, int n, boolean[] stored) {
    java.util.Arrays.fill(stored, 0, n, false);
    if (health.degraded()) {
      return 0;
    }
    boolean failed = false;
    try {
      ssd.putAll(pages, n, stored);
    } catch (RuntimeException e) {
      failed = true; // the pages before the failure are stored (marked), the others are not
      failures.increment();
      health.failed(e);
    }
    int written = 0;
    for (int k = 0; k < n; k++) {
      if (stored[k]) {
        written++;
        ssdWriteBytes.add(pages[k].remaining());
      }
    }
    if (written > 0) {
      ssdWrites.add(written);
      if (!failed) {
        health.writeSucceeded();
      }
    }
    return written;
  }

  private void markWriting(int writer, int slot, long hi, long lo) {
    synchronized (writing) {
      writingHi[writer * BATCH_PAGES + slot] = hi;
      writingLo[writer * BATCH_PAGES + slot] = lo;
      writing[writer] = slot + 1;
    }
  }

  private void unmarkWriting(int writer) {
    synchronized (writing) {
      if (writing[writer] > 0) {
        writing[writer] = 0;
        writing.notifyAll();
      }
    }
  }

  /**
   * Waits while a writer is writing this key. Put and delete call it under the key lock before
   * they remove the key, so no write of an older version lands after them. The writer does not
   * hold the key lock while it writes: a stalled disk delays only puts and deletes of the very
   * keys being written, not the other keys of their lock stripes.
   */
  void awaitNotWriting(long hi, long lo) {
    boolean interrupted = false;
    synchronized (writing) {
      while (isWriting(hi, lo)) {
        try {
          writing.wait();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** Whether a writer is writing this key now. */
  boolean writing(long hi, long lo) {
    synchronized (writing) {
      return isWriting(hi, lo);
    }
  }

  private boolean isWriting(long hi, long lo) {
    for (int w = 0; w < writing.length; w++) {
      for (int i = w * BATCH_PAGES, end = i + writing[w]; i < end; i++) {
        if (writingHi[i] == hi && writingLo[i] == lo) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Stops the writers: waits up to {@code graceNanos} for the queue to drain (if {@code drain}),
   * then stops taking entries and joins the writers for what is left of the grace.
   *
   * @return whether every writer has stopped (only then may the queue's memory be freed)
   */
  boolean stop(boolean drain, long deadlineNanos) {
    try {
      if (drain && !health.degraded()) {
        queue.awaitEmpty(Math.max(0, deadlineNanos - System.nanoTime()));
      }
      running = false;
      int left = queue.shutdown();
      if (left > 0) {
        drops.add(left);
      }
      boolean all = true;
      for (Thread w : writers) {
        w.interrupt();
        w.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime())));
        all &= !w.isAlive();
      }
      return all;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
