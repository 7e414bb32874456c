package io.kvstore.core.store;

import java.util.concurrent.locks.ReentrantLock;

/**
 * Striped per-key locks that serialize the store's multi-tier operations on one key (put, delete,
 * promotion, pinning), so that, for example, a promotion can never copy a page back up after a
 * delete of the same key removed it. Demotion does not use them (see {@link TieredStore}'s notes on
 * ordering). Stripes are shared by unrelated keys, which only costs some waiting.
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
