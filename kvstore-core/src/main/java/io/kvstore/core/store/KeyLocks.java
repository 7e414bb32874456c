package io.kvstore.core.store;

import java.util.concurrent.locks.ReentrantLock;

/**
 * Striped per-key locks that order the store's multi-tier moves of one key (put, delete, promote,
 * demote) so that a concurrent delete can never be undone by a demotion or promotion in flight.
 *
 * <p>Lock order: a key's stripe is taken before any tier lock. Demotion runs inside a tier's lock
 * (the tier's eviction callback), so it only {@link #tryLock}s: if the stripe is held by another
 * thread, that thread is replacing, deleting or promoting the key, and the evicted copy is stale or
 * redundant, so it is dropped rather than waited for (waiting would invert the lock order).
 */
final class KeyLocks {

  private final ReentrantLock[] stripes;
  private final int mask;

  KeyLocks(int stripesPowerOfTwo) {
    if (Integer.bitCount(stripesPowerOfTwo) != 1) {
      throw new IllegalArgumentException("stripes must be a power of two: " + stripesPowerOfTwo);
    }
    stripes = new ReentrantLock[stripesPowerOfTwo];
    for (int i = 0; i < stripes.length; i++) {
      stripes[i] = new ReentrantLock();
    }
    mask = stripesPowerOfTwo - 1;
  }

  ReentrantLock lockFor(long keyHi, long keyLo) {
    long h = keyHi * 0x9E3779B97F4A7C15L ^ keyLo;
    return stripes[(int) (h ^ (h >>> 29)) & mask];
  }
}
