package io.kvstore.core.tier.ssd;

import io.kvstore.core.index.KeyPredicate;
import java.util.Arrays;

/**
 * Keys whose location record RocksDB refused to delete (it stops taking writes after a background
 * error, e.g. a flush on a full disk). The page is already gone from the index; the record must go
 * too, or a later crash recovery with a write-ahead log could bring the page back. Retried by {@link
 * SsdTier#resumeWrites()} and on close. Two primitive arrays, no object per key.
 */
final class PendingDeletes {

  private long[] keys = new long[16];
  private int count;

  synchronized void add(long hi, long lo) {
    if (2 * count == keys.length) {
      keys = Arrays.copyOf(keys, keys.length * 2);
    }
    keys[2 * count] = hi;
    keys[2 * count + 1] = lo;
    count++;
  }

  synchronized boolean isEmpty() {
    return count == 0;
  }

  synchronized int size() {
    return count;
  }

  /**
   * Calls {@code delete} for each key, keeping those it fails (returns false) for the next time.
   *
   * @return whether none is left
   */
  synchronized boolean drain(KeyPredicate delete) {
    int kept = 0;
    for (int i = 0; i < count; i++) {
      long hi = keys[2 * i];
      long lo = keys[2 * i + 1];
      if (!delete.test(hi, lo)) {
        keys[2 * kept] = hi;
        keys[2 * kept + 1] = lo;
        kept++;
      }
    }
    count = kept;
    return count == 0;
  }
}
