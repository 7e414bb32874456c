package io.kvstore.core.tier.ssd;

import io.kvstore.core.memory.KeySlotTable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Deletes the location records of deleted pages on its own thread, so that a delete (and a put
 * that replaces an SSD page) does not wait for RocksDB's write-ahead log: on a frozen or stalled
 * disk that write waits for the disk, and the caller would hold a store thread and a key lock for
 * as long (spec/6-ssd-segments.md 6.5 rule 8).
 *
 * <p>The caller has written a tombstone for the key into the crash journal (the record's delete is
 * then certain to happen: by this thread, or by the open after a crash) and removed the key's index
 * entry; it hands the rest over with {@link #submit} and waits for it a short while ({@link
 * #awaitFinished}), which is all it waits for when the disk answers. A writer about to write a
 * location record for a key whose tombstone is pending waits for it ({@link #awaitNotPending}), so
 * that a late delete never removes a newer record of the same key.
 *
 * <p>Its work is indexed by the journal entry of the tombstone ({@link CrashJournal#INTENTS} at
 * most at once): plain arrays, no object per delete. The tier owns it and closes it before its own
 * resources; {@link #close} lets the queue drain first.
 */
final class RecordDeleter implements AutoCloseable {

  /** What the tier does for one tombstone. */
  interface Work {
    /**
     * Deletes the key's location record (or keeps it for a retry if RocksDB refuses) and calls
     * {@link #recordDeleted}; then finishes the delete (the segment's drop if it is left empty).
     * Must not throw.
     */
    void finish(int entry, long hi, long lo, Segment seg, long offset);
  }

  private final Work work;
  /** Releases a tombstone's journal entry (then it may be claimed again). */
  private final java.util.function.IntConsumer release;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final long[] keyHi = new long[CrashJournal.INTENTS];
  private final long[] keyLo = new long[CrashJournal.INTENTS];
  private final Segment[] segment = new Segment[CrashJournal.INTENTS];
  private final long[] offset = new long[CrashJournal.INTENTS];
  /**
   * Keys from {@link #submit} until their record is deleted ({@link #recordDeleted}), each with its
   * count of pending tombstones; primitive arrays, no object per key. Under {@link #lock}.
   */
  private final KeySlotTable pendingKeys = new KeySlotTable(CrashJournal.INTENTS);
  /** Per entry: the ticket of its last submit, and of its last finished delete. */
  private final long[] submitted = new long[CrashJournal.INTENTS];
  private final long[] finished = new long[CrashJournal.INTENTS];
  private final int[] queue = new int[CrashJournal.INTENTS];
  private int head;
  private int size;
  /** Entries whose record is not deleted yet: read without the lock by writers' fast path. */
  private volatile int pendingCount;
  private boolean stopping;
  /** {@link System#nanoTime()} when the thread began its current delete; 0 while it waits for one. */
  private volatile long busySince;
  /** The entry the thread works on (-1: none), and whether its work called {@link #recordDeleted}. */
  private int current = -1;
  private boolean currentRecorded;
  private final Thread thread;

  RecordDeleter(Work work, java.util.function.IntConsumer release, String name) {
    this.work = work;
    this.release = release;
    this.thread = new Thread(this::run, name);
    thread.setDaemon(true);
    thread.start();
  }

  /**
   * Queues the delete of tombstone {@code entry} (key {@code hi, lo}; the page was at {@code
   * offset} of {@code seg}, or {@code seg} null). Call it before any writer of the key can look:
   * under the key's stripe, or while the caller excludes writes of the key ({@link
   * SsdTier#deleteExclusive}).
   *
   * @return the ticket for {@link #awaitFinished}
   */
  long submit(int entry, long hi, long lo, Segment seg, long offset) {
    lock.lock();
    try {
      keyHi[entry] = hi;
      keyLo[entry] = lo;
      segment[entry] = seg;
      this.offset[entry] = offset;
      int times = pendingKeys.get(hi, lo);
      pendingKeys.put(hi, lo, times == KeySlotTable.MISSING ? 1 : times + 1);
      pendingCount++;
      queue[(head + size) % queue.length] = entry;
      size++;
      long ticket = ++submitted[entry];
      changed.signalAll();
      return ticket;
    } finally {
      lock.unlock();
    }
  }

  /** Gives back a tombstone claimed for a key the tier turned out not to hold (never submitted). */
  void releaseUnsubmitted(int entry) {
    lock.lock();
    try {
      release.accept(entry);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits for the delete of {@code ticket} to finish, unless the thread is stuck: busy with one
   * delete (this one or one queued before it) for more than {@code stuckNanos}, as on a frozen
   * disk. A thread merely slow to be scheduled, or working through a queue, is waited for, so the
   * caller sees its delete done whenever the disk answers.
   *
   * @return whether it finished
   */
  boolean awaitFinished(int entry, long ticket, long stuckNanos) {
    lock.lock();
    try {
      while (finished[entry] < ticket) {
        long since = busySince;
        long left = since == 0 ? stuckNanos : since + stuckNanos - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        changed.awaitNanos(left);
      }
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return finished[entry] >= ticket;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Called by {@link Work#finish} once the record of {@code entry} is deleted (or kept to retry):
   * releases the tombstone, then lets writers of the key go on. Both under the lock, so that
   * neither a writer nor a new tombstone in the same entry comes between.
   */
  void recordDeleted(int entry) {
    lock.lock();
    try {
      if (entry == current) {
        currentRecorded = true;
      }
      unblock(entry, true);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Lets writers of {@code entry}'s key go on; with {@code release}, gives the tombstone's journal
   * entry back first. Under {@link #lock}.
   */
  private void unblock(int entry, boolean release) {
    long hi = keyHi[entry];
    long lo = keyLo[entry];
    int times = pendingKeys.get(hi, lo);
    if (times > 1) {
      pendingKeys.put(hi, lo, times - 1);
    } else {
      pendingKeys.remove(hi, lo);
    }
    if (release) {
      this.release.accept(entry);
    }
    pendingCount--; // after the release: a writer's unlocked read of 0 sees it done
    changed.signalAll();
  }

  /** Whether a key among {@code hi[from, from + n)}, {@code lo[...]} has a pending tombstone. */
  boolean isPending(long[] hi, long[] lo, int from, int n) {
    if (pendingCount == 0) {
      return false;
    }
    lock.lock();
    try {
      return anyPending(hi, lo, from, n);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits until no key among {@code hi[from, from + n)}, {@code lo[...]} has a tombstone whose
   * record is not deleted yet. A writer calls it holding no stripe lock (the thread may need one).
   */
  void awaitNotPending(long[] hi, long[] lo, int from, int n) {
    if (pendingCount == 0) {
      return;
    }
    lock.lock();
    try {
      while (anyPending(hi, lo, from, n)) {
        changed.awaitUninterruptibly();
      }
    } finally {
      lock.unlock();
    }
  }

  private boolean anyPending(long[] hi, long[] lo, int from, int n) {
    if (pendingCount == 0) {
      return false;
    }
    for (int j = from; j < from + n; j++) {
      if (pendingKeys.get(hi[j], lo[j]) != KeySlotTable.MISSING) {
        return true;
      }
    }
    return false;
  }

  /** Tombstones whose record is not deleted yet. */
  int pending() {
    return pendingCount;
  }

  private void run() {
    while (true) {
      int entry;
      long hi;
      long lo;
      Segment seg;
      long off;
      long ticket;
      lock.lock();
      try {
        while (size == 0 && !stopping) {
          changed.awaitUninterruptibly();
        }
        if (size == 0) {
          return; // stopping, and nothing left
        }
        entry = queue[head];
        head = (head + 1) % queue.length;
        size--;
        hi = keyHi[entry];
        lo = keyLo[entry];
        seg = segment[entry];
        off = offset[entry];
        segment[entry] = null;
        ticket = submitted[entry]; // the entry may be claimed again once its tombstone goes
        current = entry;
        currentRecorded = false;
        busySince = Math.max(1, System.nanoTime());
      } finally {
        lock.unlock();
      }
      try {
        work.finish(entry, hi, lo, seg, off);
      } catch (RuntimeException e) {
        // Not expected (the work handles its failures); the thread must go on, or every later
        // delete would wait for it.
        System.getLogger(RecordDeleter.class.getName())
            .log(System.Logger.Level.WARNING, "a deferred location-record delete failed", e);
      } finally {
        lock.lock();
        try {
          if (!currentRecorded) {
            // The work ended without saying the record is gone: writers of the key must not wait
            // for ever, but the record may still be there, so the journal keeps the tombstone
            // (its entry stays taken): the next open after a crash deletes the key's record (a
            // newer page of the key written meanwhile would then be a miss, never the old bytes).
            unblock(entry, false);
          }
          current = -1;
          busySince = 0;
          finished[entry] = Math.max(finished[entry], ticket);
          changed.signalAll();
        } finally {
          lock.unlock();
        }
      }
    }
  }

  /**
   * Lets the queue drain, then stops the thread. Waits for the deletes in flight (on a frozen disk,
   * until it thaws).
   */
  @Override
  public void close() {
    lock.lock();
    try {
      stopping = true;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    boolean interrupted = false;
    while (thread.isAlive()) {
      try {
        thread.join(TimeUnit.SECONDS.toMillis(1));
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
