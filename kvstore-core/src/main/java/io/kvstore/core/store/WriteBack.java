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
 *   <li>A dirty page evicted from the last memory tier is copied into the queue (a memcpy under the
 *       evicting tier's lock; never I/O, never a wait). No room: the page is dropped and counted
 *       ({@link #drops}).
 *   <li>A put waits, before it takes any lock, while the queue has no room for its page, at most
 *       {@code writeBackMaxWaitMillis}; then it goes on, and victims that still find no room are
 *       dropped and counted.
 *   <li>A writer takes the oldest entry, locks its key, skips it if a put or delete of the key came
 *       since (cancelled) or the SSD tier already holds the key, else writes it.
 *   <li>A write that fails (any exception from the SSD tier, typically a {@link
 *       io.kvstore.core.tier.TierWriteException} NO_SPACE or IO_ERROR) drops that page, counts it
 *       ({@link #failures}) and makes the SSD tier degraded: while degraded, queued and newly
 *       evicted dirty pages are dropped and counted, puts do not wait, and one writer calls {@link
 *       Tier#resumeWrites()} on an exponential backoff; when it says yes, write-back resumes.
 * </ul>
 *
 * <p>A writer checks an entry under its key lock (a stripe of {@link KeyLocks}, never a memory
 * tier's lock), then writes without it; a put or delete of that very key waits for the write
 * ({@link #awaitNotWriting}). So a stalled disk delays only those keys, and gets of any key, which
 * are served from the queue meanwhile, never wait for it.
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
  /** Keys being written now, one slot per writer; guarded by the array's monitor. */
  private final boolean[] writing;
  private final long[] writingHi;
  private final long[] writingLo;
  private volatile boolean running = true;

  final LongAdder queued = new LongAdder();
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
    writing = new boolean[threads];
    writingHi = new long[threads];
    writingLo = new long[threads];
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
   */
  void evictedDirty(long hi, long lo, ByteBuffer page) {
    if (health.degraded() || !queue.offer(hi, lo, page)) {
      drops.increment();
      return;
    }
    queued.increment();
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

  private void runWriter(int id) {
    while (running) {
      try {
        if (health.degraded() && health.retryDue()) {
          retry();
        }
        long seq = queue.take(TimeUnit.MILLISECONDS.toNanos(health.degraded() ? 20 : 100));
        if (seq < 0) {
          continue;
        }
        if (health.degraded()) {
          drops.increment(); // write-back is paused: the page cannot be written
          queue.complete(seq);
        } else {
          write(seq, id);
        }
      } catch (InterruptedException e) {
        if (!running) {
          return;
        }
      } catch (RuntimeException | Error e) {
        // A writer never dies of one page: the page was completed (dropped) in write.
        LOG.log(System.Logger.Level.ERROR, "write-back writer failed on one page", e);
      }
    }
  }

  private void retry() {
    try {
      if (ssd.resumeWrites()) {
        health.resumed();
      }
    } catch (RuntimeException e) {
      health.failed(e);
    }
  }

  private void write(long seq, int writer) {
    long hi = queue.keyHi(seq);
    long lo = queue.keyLo(seq);
    ReentrantLock lock = locks.lockFor(hi, lo);
    lock.lock();
    try {
      try {
        if (queue.isCanceled(seq) || ssd.contains(hi, lo)) {
          // Cancelled: a put or delete came after, writing would resurrect an old version. Held
          // by SSD already: the key was queued twice, nothing is dirty any more.
          queue.complete(seq);
          return;
        }
      } catch (RuntimeException e) {
        queue.complete(seq); // never leave an entry taken: the queue would stop reclaiming
        drops.increment();
        failures.increment();
        health.failed(e);
        return;
      }
      markWriting(writer, hi, lo); // from here a put or delete of this key waits for the write
    } finally {
      lock.unlock();
    }
    try {
      if (writeNow(queue.page(seq))) {
        demotions.increment();
      } else {
        drops.increment();
      }
    } finally {
      queue.complete(seq); // after the write: a get finds the page in the queue or on SSD
      unmarkWriting(writer);
    }
  }

  private void markWriting(int writer, long hi, long lo) {
    synchronized (writing) {
      writingHi[writer] = hi;
      writingLo[writer] = lo;
      writing[writer] = true;
    }
  }

  private void unmarkWriting(int writer) {
    synchronized (writing) {
      writing[writer] = false;
      writing.notifyAll();
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

  private boolean isWriting(long hi, long lo) {
    for (int i = 0; i < writing.length; i++) {
      if (writing[i] && writingHi[i] == hi && writingLo[i] == lo) {
        return true;
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
