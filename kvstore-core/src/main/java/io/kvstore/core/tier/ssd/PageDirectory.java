package io.kvstore.core.tier.ssd;

/**
 * The SSD tier's in-memory directory: block key → dense id → page length, so {@code contains} and
 * {@code length} need no RocksDB read and the eviction policy has dense ids to work on.
 *
 * <p>Open addressing with linear probing over an {@code int[]} of {@code id + 1} (0 = empty), load
 * at most one half; deletion by backward shift (Knuth 6.4, algorithm R), so there are no tombstones
 * and probe chains stay short under churn. Per id: key hi, key lo, length, in primitive arrays; free
 * ids on a stack. About 36 bytes of heap per id, no object per page.
 *
 * <p>Not thread-safe: the tier calls it under its lock.
 */
final class PageDirectory {

  static final int NONE = -1;

  private final long[] keyHi;
  private final long[] keyLo;
  private final int[] length;
  private final int[] freeIds;
  private int freeTop;
  private final int[] table;
  private final int mask;
  private int size;

  PageDirectory(int maxIds) {
    if (maxIds <= 0) {
      throw new IllegalArgumentException("maxIds must be positive: " + maxIds);
    }
    keyHi = new long[maxIds];
    keyLo = new long[maxIds];
    length = new int[maxIds];
    freeIds = new int[maxIds];
    // Hand out low ids first: pop from the top of the stack.
    for (int i = 0; i < maxIds; i++) {
      freeIds[i] = maxIds - 1 - i;
    }
    freeTop = maxIds;
    int tableSize = Integer.highestOneBit(Math.max(2, maxIds) * 2 - 1) << 1;
    table = new int[tableSize];
    mask = tableSize - 1;
  }

  int capacity() {
    return keyHi.length;
  }

  int size() {
    return size;
  }

  boolean isFull() {
    return freeTop == 0;
  }

  long keyHi(int id) {
    return keyHi[id];
  }

  long keyLo(int id) {
    return keyLo[id];
  }

  int length(int id) {
    return length[id];
  }

  void setLength(int id, int len) {
    length[id] = len;
  }

  /** The id of the key, or {@link #NONE}. */
  int find(long hi, long lo) {
    for (int slot = slot(hi, lo); ; slot = (slot + 1) & mask) {
      int e = table[slot];
      if (e == 0) {
        return NONE;
      }
      int id = e - 1;
      if (keyHi[id] == hi && keyLo[id] == lo) {
        return id;
      }
    }
  }

  /**
   * Adds a key that is not present.
   *
   * @return its new id
   * @throws IllegalStateException if every id is taken
   */
  int insert(long hi, long lo, int len) {
    if (freeTop == 0) {
      throw new IllegalStateException("page directory full: " + keyHi.length + " ids");
    }
    int id = freeIds[--freeTop];
    keyHi[id] = hi;
    keyLo[id] = lo;
    length[id] = len;
    int slot = slot(hi, lo);
    while (table[slot] != 0) {
      slot = (slot + 1) & mask;
    }
    table[slot] = id + 1;
    size++;
    return id;
  }

  /** Removes the entry {@code id} (which must be present) and frees the id. */
  void remove(int id) {
    int slot = slot(keyHi[id], keyLo[id]);
    while (table[slot] != id + 1) {
      slot = (slot + 1) & mask;
    }
    // Backward-shift deletion: pull later entries of the probe chain into the hole when their home
    // slot is not between the hole and their current slot (cyclically).
    int hole = slot;
    for (int next = (hole + 1) & mask; table[next] != 0; next = (next + 1) & mask) {
      int nid = table[next] - 1;
      int home = slot(keyHi[nid], keyLo[nid]);
      boolean homeInRange =
          hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
      if (!homeInRange) {
        table[hole] = table[next];
        hole = next;
      }
    }
    table[hole] = 0;
    freeIds[freeTop++] = id;
    size--;
  }

  private int slot(long hi, long lo) {
    // Keys are hashes already, but tests and tools use small sequential keys: mix anyway
    // (the murmur3 fmix64 finalizer).
    long h = hi * 0x9E3779B97F4A7C15L ^ lo;
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return (int) h & mask;
  }
}
