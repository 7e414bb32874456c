package io.kvstore.core.store;

import io.kvstore.common.PageFormat;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.agrona.BufferUtil;

/**
 * The bounded queue of dirty pages waiting to be written to the SSD tier: one off-heap arena of a
 * fixed size, holding copies of the pages back to back, plus a ring of entry descriptors (key,
 * place in the arena, state). A memory tier's eviction copies its victim in ({@link #offer}: a
 * memcpy, never a wait, never I/O); background writers take entries in order, write them, and
 * complete them; bytes are reclaimed from the oldest end as soon as the oldest entries are done.
 *
 * <pre>
 *   arena (capacity C, positions grow forever, physical offset = position mod C)
 *   +---------+---------+----------------------+---------+---------------------+
 *   | done    | taken   | pending  ...         | filling | free ...            |
 *   +---------+---------+----------------------+---------+---------------------+
 *   ^ headPos                                             ^ tailPos
 *   entries: headSeq ≤ takeSeq ≤ tailSeq; an entry never wraps (it skips to the next lap instead)
 * </pre>
 *
 * <p><b>Cancellation.</b> A put or delete of a key {@link #cancel}s every entry of that key, under
 * that key's store lock; a writer checks {@link #isCanceled} under the same key lock before it
 * writes, and completes the entry before releasing it. So a queued write never lands after a newer
 * put or a delete of its key (no resurrection: the idea of CacheLib's in-flight put tokens).
 *
 * <p><b>Held pages.</b> An entry may instead name a page kept in its memory tier's slot ({@link
 * #offerHeld}: the tier evicted it and the store's listener holds it, {@link
 * io.kvstore.core.tier.EvictionListener#onEvictHeld}): no bytes of the arena, no copy. Its slot is
 * the tier's until released: whoever completes a taken entry releases its hold after completing
 * it ({@link #holdTier}, {@link #holdToken}), and {@link #close} releases the holds of entries
 * never taken. A completed entry is no longer read (gets look only at pending and taken ones), so
 * the slot is never read after its release.
 *
 * <p>All state is guarded by one short lock; page bytes are copied outside it (an entry being
 * filled is reserved, and a writer waits for it to be published).
 */
final class WriteBackQueue implements AutoCloseable {

  private static final byte FREE = 0;
  private static final byte FILLING = 1;
  private static final byte PENDING = 2;
  private static final byte TAKEN = 3;
  private static final byte DONE = 4;

  private final ByteBuffer arena;
  private final long capacity;
  private final int mask;
  private final long[] keyHi;
  private final long[] keyLo;
  private final long[] startPos;
  private final int[] length;
  private final byte[] state;
  private final boolean[] canceled;
  /** Memory tier of a held entry's page, or {@link #NO_HOLD} for a copy in the arena. */
  private final int[] holdTier;
  private final long[] holdToken;
  /** A held entry's page (a read-only view of its slot, position 0); null for an arena copy. */
  private final ByteBuffer[] held;
  private final HoldReleaser releaser;
  /** Bytes of the held pages of entries not yet reclaimed. */
  private long heldBytes;
  /** Holds queued and not yet released (an entry may be reclaimed just before its release). */
  private int holdsOut;
  /**
   * Entries not yet reclaimed, counted per key hash bucket: a key whose bucket is 0 has no entry,
   * so put, delete and lookups of keys not queued (nearly all) skip the scan of the entries.
   */
  private final int[] bucketCounts;
  private final int bucketMask;
  private final ReentrantLock lock = new ReentrantLock();
  /**
   * Signalled when an entry is published, for writers waiting to take one. Apart from {@link
   * #roomChanged} so that a published page wakes one writer and no put, and a completed batch
   * wakes the puts waiting for room and no writer (each wake-up is a park and unpark hand-off).
   */
  private final Condition published = lock.newCondition();
  /** Signalled when entries complete (room freed) and on shutdown. */
  private final Condition roomChanged = lock.newCondition();
  /** Writers waiting in {@link #takeBatch}; under the lock. */
  private int writersWaiting;

  private long headSeq;
  private long takeSeq;
  private long tailSeq;
  private long headPos;
  private long tailPos;
  private boolean closed;
  /**
   * {@link System#nanoTime()} of the writers' last progress: room freed, or a first entry into an
   * empty queue (from then on the writers have work). Under the lock.
   */
  private long lastProgressNanos = System.nanoTime();

  /** {@link #holdTier} of an entry whose page is a copy in the arena. */
  static final int NO_HOLD = -1;

  /** Hands a held page back to its memory tier ({@link io.kvstore.core.tier.Tier#releaseHeld}). */
  @FunctionalInterface
  interface HoldReleaser {
    void release(int tier, long hold);
  }

  /** A queue that takes no held pages ({@link #offerHeld} refuses them). */
  WriteBackQueue(long capacityBytes, int maxEntries) {
    this(capacityBytes, maxEntries, null);
  }

  /**
   * @param capacityBytes bytes of the arena (allocated now, freed by {@link #close()})
   * @param maxEntries most entries at once (rounded up to a power of two)
   * @param releaser who takes held pages back (on {@link #close()}); null: no held pages
   */
  WriteBackQueue(long capacityBytes, int maxEntries, HoldReleaser releaser) {
    this.releaser = releaser;
    if (capacityBytes <= 0 || capacityBytes > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("write-back queue bytes must be in (0, 2 GiB): " + capacityBytes);
    }
    this.capacity = capacityBytes;
    this.arena = ByteBuffer.allocateDirect((int) capacityBytes);
    int n = Integer.highestOneBit(Math.max(2, maxEntries) - 1) << 1;
    this.mask = n - 1;
    keyHi = new long[n];
    keyLo = new long[n];
    startPos = new long[n];
    length = new int[n];
    state = new byte[n];
    canceled = new boolean[n];
    holdTier = new int[n];
    holdToken = new long[n];
    held = new ByteBuffer[n];
    bucketCounts = new int[4 * n];
    bucketMask = 4 * n - 1;
  }

  private int bucket(long hi, long lo) {
    long h = hi * 0x9E3779B97F4A7C15L + lo;
    h ^= h >>> 31;
    h *= 0xBF58476D1CE4E5B9L;
    return (int) (h ^ (h >>> 29)) & bucketMask;
  }

  /** Bytes of the arena. */
  long capacityBytes() {
    return capacity;
  }

  /**
   * Copies the page in as a new pending entry, or returns false at once if there is no room (no
   * contiguous bytes or no free entry) or the queue is closed. Never waits for a writer.
   */
  boolean offer(long hi, long lo, ByteBuffer page) {
    int len = page.remaining();
    long seq;
    int offset;
    lock.lock();
    try {
      if (closed || tailSeq - headSeq > mask) {
        return false;
      }
      long start = tailPos;
      if (start % capacity + len > capacity) {
        start = (start / capacity + 1) * capacity; // never wrap an entry: skip to the next lap
      }
      if (start + len - headPos > capacity) {
        return false;
      }
      if (tailSeq == headSeq) {
        lastProgressNanos = System.nanoTime();
      }
      seq = tailSeq++;
      int i = (int) (seq & mask);
      keyHi[i] = hi;
      keyLo[i] = lo;
      startPos[i] = start;
      length[i] = len;
      state[i] = FILLING;
      canceled[i] = false;
      holdTier[i] = NO_HOLD;
      bucketCounts[bucket(hi, lo)]++;
      tailPos = start + len;
      offset = (int) (start % capacity);
    } finally {
      lock.unlock();
    }
    // The reserved bytes are this thread's alone until it publishes them.
    arena.duplicate().position(offset).put(page.duplicate());
    lock.lock();
    try {
      state[(int) (seq & mask)] = PENDING;
      if (writersWaiting > 0) {
        published.signal(); // one writer takes every pending entry: no need to wake them all
      }
    } finally {
      lock.unlock();
    }
    return true;
  }

  /**
   * Queues a page held in its memory tier's slot (no copy): a pending entry naming the page, whose
   * hold is released by whoever completes the entry (or by {@link #close}). False at once, the
   * page not taken, if no entry is free, the queue is closed or takes no held pages. Never waits.
   *
   * @param page a read-only view of the held slot, position 0, valid until the hold is released
   */
  boolean offerHeld(long hi, long lo, ByteBuffer page, int tier, long hold) {
    if (releaser == null) {
      return false;
    }
    lock.lock();
    try {
      if (closed || tailSeq - headSeq > mask) {
        return false;
      }
      if (tailSeq == headSeq) {
        lastProgressNanos = System.nanoTime();
      }
      long seq = tailSeq++;
      int i = (int) (seq & mask);
      keyHi[i] = hi;
      keyLo[i] = lo;
      startPos[i] = tailPos; // no arena bytes: reclaiming it moves the head to here
      length[i] = page.remaining();
      canceled[i] = false;
      holdTier[i] = tier;
      holdToken[i] = hold;
      held[i] = page;
      heldBytes += length[i];
      holdsOut++;
      bucketCounts[bucket(hi, lo)]++;
      state[i] = PENDING;
      if (writersWaiting > 0) {
        published.signal();
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Hands the holds {@code tiers[k], holds[k]} ({@code k < n}, read with {@link #holdTier} and
   * {@link #holdToken}; {@link #NO_HOLD} ones skipped) back to their tiers, after their entries
   * were completed. Every one is released even if one fails (the first failure is thrown after).
   */
  void releaseAll(int[] tiers, long[] holds, int n) {
    int released = 0;
    RuntimeException failure = null;
    for (int k = 0; k < n; k++) {
      if (tiers[k] == NO_HOLD) {
        continue;
      }
      released++;
      try {
        releaser.release(tiers[k], holds[k]);
      } catch (RuntimeException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    if (released > 0) {
      lock.lock();
      try {
        holdsOut -= released;
        if (holdsOut == 0 && headSeq == tailSeq && lock.hasWaiters(roomChanged)) {
          roomChanged.signalAll(); // awaitEmpty waits for the last release too
        }
      } finally {
        lock.unlock();
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  /**
   * The memory tier holding a taken entry's page, or {@link #NO_HOLD}; read by the entry's taker
   * before it completes the entry (a taken entry's fields change only when it is reclaimed).
   */
  int holdTier(long seq) {
    return holdTier[(int) (seq & mask)];
  }

  /** The hold of a taken entry's page (see {@link #holdTier}). */
  long holdToken(long seq) {
    return holdToken[(int) (seq & mask)];
  }

  /**
   * Waits up to {@code maxWaitNanos} until at least {@code bytes} are free (or the queue is empty),
   * and no longer than {@code maxWaitNanos} past the writers' last progress: writers that freed no
   * room for that long are stalled (a frozen or failing disk), and a put then does not wait at all
   * (each page of a many-page put would otherwise wait the whole bound again).
   *
   * @return whether that much room is free now
   */
  boolean awaitRoom(long bytes, long maxWaitNanos) throws InterruptedException {
    lock.lock();
    try {
      if (closed || hasRoom(bytes)) {
        return hasRoom(bytes); // the common case: no clock read
      }
      long start = System.nanoTime();
      while (!closed && !hasRoom(bytes)) {
        long from = lastProgressNanos - start < 0 ? lastProgressNanos : start;
        long wait = from + maxWaitNanos - System.nanoTime();
        if (wait <= 0) {
          return false;
        }
        roomChanged.awaitNanos(wait);
      }
      return hasRoom(bytes);
    } finally {
      lock.unlock();
    }
  }

  /** Test hook: the writers' last progress was {@code nanos} ago. */
  void progressAgoForTest(long nanos) {
    lock.lock();
    try {
      lastProgressNanos = System.nanoTime() - nanos;
    } finally {
      lock.unlock();
    }
  }

  private boolean hasRoom(long bytes) {
    return tailSeq == headSeq || (capacity - (tailPos - headPos) >= bytes && tailSeq - headSeq <= mask);
  }

  /**
   * Takes the oldest pending entry and the pending entries right after it, up to {@code maxPages}
   * entries and {@code maxBytes} bytes (the first is taken whatever its size), waiting up to {@code
   * maxWaitNanos} for one. The entries taken are consecutive: {@code firstSeq[0]} and the {@code n
   * - 1} sequence numbers after it. Each must be {@link #complete completed}.
   *
   * @return how many were taken; 0 if none came (or the queue is closed)
   */
  int takeBatch(long maxWaitNanos, int maxPages, long maxBytes, long[] firstSeq)
      throws InterruptedException {
    long wait = maxWaitNanos;
    lock.lock();
    try {
      while (true) {
        if (closed) {
          return 0;
        }
        if (takeSeq < tailSeq && state[(int) (takeSeq & mask)] == PENDING) {
          long first = takeSeq;
          long bytes = 0;
          int n = 0;
          while (n < maxPages && takeSeq < tailSeq) {
            int i = (int) (takeSeq & mask);
            if (state[i] != PENDING || (n > 0 && bytes + length[i] > maxBytes)) {
              break; // an entry still being copied in ends the batch: never wait for it here
            }
            state[i] = TAKEN;
            bytes += length[i];
            takeSeq++;
            n++;
          }
          firstSeq[0] = first;
          return n;
        }
        if (wait <= 0) {
          return 0;
        }
        writersWaiting++;
        try {
          wait = published.awaitNanos(wait);
        } finally {
          writersWaiting--;
        }
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Takes the oldest pending entry alone, waiting up to {@code maxWaitNanos} for one (the writers
   * take batches; tests take single entries).
   *
   * @return its sequence number, or -1 if none came (or the queue is closed)
   */
  long take(long maxWaitNanos) throws InterruptedException {
    long[] first = new long[1];
    return takeBatch(maxWaitNanos, 1, Long.MAX_VALUE, first) == 0 ? -1 : first[0];
  }

  long keyHi(long seq) {
    return keyHi[(int) (seq & mask)];
  }

  long keyLo(long seq) {
    return keyLo[(int) (seq & mask)];
  }

  /**
   * A view of a taken entry's page, valid until {@link #complete}: its bytes are not reused before.
   */
  ByteBuffer page(long seq) {
    int i = (int) (seq & mask);
    if (held[i] != null) {
      return held[i].duplicate();
    }
    int offset = (int) (startPos[i] % capacity);
    return arena.duplicate().position(offset).limit(offset + length[i]).slice();
  }

  /** Whether a put or delete of the entry's key came after it (read under the key lock). */
  boolean isCanceled(long seq) {
    lock.lock();
    try {
      return canceled[(int) (seq & mask)];
    } finally {
      lock.unlock();
    }
  }

  /** Marks a taken entry done and reclaims the oldest run of done entries. */
  void complete(long seq) {
    lock.lock();
    try {
      state[(int) (seq & mask)] = DONE;
      reclaim();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Marks taken entries done ({@code seqs[0, n)}, in any order) and reclaims the oldest run of done
   * entries: one lock and at most one wake-up of the waiting puts for a whole batch.
   */
  void completeAll(long[] seqs, int n) {
    if (n == 0) {
      return;
    }
    lock.lock();
    try {
      for (int k = 0; k < n; k++) {
        state[(int) (seqs[k] & mask)] = DONE;
      }
      reclaim();
    } finally {
      lock.unlock();
    }
  }

  /** Under the lock: frees the oldest run of done entries and wakes whoever waits for room. */
  private void reclaim() {
    long before = headSeq;
    while (headSeq < takeSeq && state[(int) (headSeq & mask)] == DONE) {
      int i = (int) (headSeq & mask);
      state[i] = FREE;
      if (held[i] != null) {
        held[i] = null; // its hold was released by whoever completed it
        heldBytes -= length[i];
      }
      bucketCounts[bucket(keyHi[i], keyLo[i])]--;
      headSeq++;
    }
    headPos = headSeq == tailSeq ? tailPos : startPos[(int) (headSeq & mask)];
    if (headSeq != before) {
      lastProgressNanos = System.nanoTime();
    }
    if (headSeq != before && lock.hasWaiters(roomChanged)) {
      roomChanged.signalAll();
    }
  }

  /**
   * Cancels every queued entry of the key (called under the key's store lock by put and delete).
   *
   * @return how many were cancelled
   */
  int cancel(long hi, long lo) {
    lock.lock();
    try {
      int n = 0;
      if (bucketCounts[bucket(hi, lo)] == 0) {
        return 0;
      }
      for (long s = headSeq; s < tailSeq; s++) {
        int i = (int) (s & mask);
        if (keyHi[i] == hi && keyLo[i] == lo && state[i] != DONE && !canceled[i]) {
          canceled[i] = true;
          n++;
        }
      }
      return n;
    } finally {
      lock.unlock();
    }
  }

  /** Under the lock: the newest live entry of the key, or -1. */
  private int findLive(long hi, long lo) {
    if (bucketCounts[bucket(hi, lo)] == 0) {
      return -1;
    }
    for (long s = tailSeq - 1; s >= headSeq; s--) {
      int i = (int) (s & mask);
      if (keyHi[i] == hi
          && keyLo[i] == lo
          && (state[i] == PENDING || state[i] == TAKEN)
          && !canceled[i]) {
        return i;
      }
    }
    return -1;
  }

  /**
   * Copies the newest live queued copy of the key into {@code dst} at its position (advancing it).
   * Called under the key's store lock, so the entry can be neither cancelled nor completed meanwhile.
   *
   * @return the page length, or -1 if the key has no live entry
   * @throws IllegalArgumentException if {@code dst} has too little room (nothing copied)
   */
  int copyIfQueued(long hi, long lo, ByteBuffer dst) {
    lock.lock();
    try {
      int i = findLive(hi, lo);
      if (i < 0) {
        return -1;
      }
      if (dst.remaining() < length[i]) {
        throw new IllegalArgumentException(
            "destination has " + dst.remaining() + " bytes, the page needs " + length[i]);
      }
      if (held[i] != null) {
        dst.put(held[i].duplicate());
        return length[i];
      }
      int offset = (int) (startPos[i] % capacity);
      dst.put(arena.duplicate().position(offset).limit(offset + length[i]));
      return length[i];
    } finally {
      lock.unlock();
    }
  }

  /** Length of the key's live queued page, or -1. */
  int lengthIfQueued(long hi, long lo) {
    lock.lock();
    try {
      int i = findLive(hi, lo);
      return i < 0 ? -1 : length[i];
    } finally {
      lock.unlock();
    }
  }

  /**
   * {@link TieredStore#OWN} or {@link TieredStore#FOREIGN} for the key's live queued page, read
   * from its header; {@link TieredStore#ABSENT} if none.
   */
  int ownershipIfQueued(long hi, long lo, long namespaceId) {
    lock.lock();
    try {
      int i = findLive(hi, lo);
      if (i < 0) {
        return TieredStore.ABSENT;
      }
      long ns =
          held[i] != null
              ? PageFormat.namespaceId(held[i], 0)
              : PageFormat.namespaceId(arena, (int) (startPos[i] % capacity));
      return ns == namespaceId ? TieredStore.OWN : TieredStore.FOREIGN;
    } finally {
      lock.unlock();
    }
  }

  /** Entries queued or being written now. */
  int depth() {
    lock.lock();
    try {
      return (int) (tailSeq - headSeq);
    } finally {
      lock.unlock();
    }
  }

  /** Bytes of the arena in use now (entries queued or being written, and skipped lap ends). */
  long usedBytes() {
    lock.lock();
    try {
      return tailPos - headPos;
    } finally {
      lock.unlock();
    }
  }

  /** Bytes of the held pages queued or being written now (in their memory tiers' slots). */
  long heldBytes() {
    lock.lock();
    try {
      return heldBytes;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits up to {@code maxWaitNanos} until every entry is done and every held page released;
   * whether that is so now.
   */
  boolean awaitEmpty(long maxWaitNanos) throws InterruptedException {
    long deadline = System.nanoTime() + maxWaitNanos;
    lock.lock();
    try {
      while (headSeq != tailSeq || holdsOut > 0) {
        long wait = deadline - System.nanoTime();
        if (wait <= 0) {
          return false;
        }
        roomChanged.awaitNanos(Math.min(wait, TimeUnit.MILLISECONDS.toNanos(50)));
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Refuses new entries and wakes every waiter; entries not yet written are dropped.
   *
   * @return how many were still queued or being written
   */
  int shutdown() {
    lock.lock();
    try {
      closed = true;
      published.signalAll();
      roomChanged.signalAll();
      return (int) (tailSeq - takeSeq);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Releases the holds of the entries no writer took (call after {@link #shutdown}: no writer takes
   * one any more), so their memory tier's slots come back even while a writer stuck on a stalled
   * disk keeps the queue from being closed; a taken entry's hold stays its writer's to release.
   * Marked done under the lock first, so no get reads them after.
   */
  void releaseUntaken() {
    releaseHolds(false);
  }

  /**
   * Marks done, under the lock, the held entries no writer took (those still pending) or, with
   * {@code allNotDone}, every held entry not done, then releases their holds outside it (a release takes
   * the tier's shard lock; lock order: tier, then queue).
   */
  private void releaseHolds(boolean allNotDone) {
    int n = 0;
    int[] tiers;
    long[] holds;
    lock.lock();
    try {
      long from = allNotDone ? headSeq : takeSeq;
      tiers = new int[(int) Math.max(0, tailSeq - from)];
      holds = new long[tiers.length];
      for (long s = from; s < tailSeq; s++) {
        int i = (int) (s & mask);
        if (held[i] != null && (allNotDone ? state[i] != DONE : state[i] == PENDING)) {
          tiers[n] = holdTier[i];
          holds[n++] = holdToken[i];
          held[i] = null;
          heldBytes -= length[i];
          state[i] = DONE;
        }
      }
    } finally {
      lock.unlock();
    }
    releaseAll(tiers, holds, n);
  }

  /**
   * Frees the arena and releases the holds of entries never completed. Call only after every
   * writer has stopped (a taken entry's hold is its writer's to release).
   */
  @Override
  public void close() {
    shutdown();
    try {
      releaseHolds(true);
    } finally {
      BufferUtil.free(arena);
    }
  }
}
