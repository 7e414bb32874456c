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

  /**
   * Takes the key lock for a put or delete, which removes the key's older copies: once no
   * write-back writer is writing the key (a writer marks a key only under its key lock, so none
   * starts while it is held). The wait for such a write (on a frozen or stalled disk, until it
   * answers) is made without the lock: its stripe is shared by gets that promote a page and by
   * other keys, which would otherwise wait for the disk too. Held already by this thread (a nested
   * call), it is taken again as it is.
   *
   * @param writeBack the store's write-back, or null (then this is a plain lock)
   * @return the lock, held
   */
  ReentrantLock lockForRemoval(long keyHi, long keyLo, WriteBack writeBack) {
    ReentrantLock lock = lockFor(keyHi, keyLo);
    lock.lock();
    if (writeBack != null && lock.getHoldCount() == 1) {
      while (writeBack.writing(keyHi, keyLo)) {
        lock.unlock();
        writeBack.awaitNotWriting(keyHi, keyLo);
        lock.lock();
      }
    }
    return lock;
  }

  ReentrantLock lockFor(long keyHi, long keyLo) {
    long h = keyHi * 0x9E3779B97F4A7C15L ^ keyLo;
    return stripes[(int) (h ^ (h >>> 29)) & mask];
  }
}
