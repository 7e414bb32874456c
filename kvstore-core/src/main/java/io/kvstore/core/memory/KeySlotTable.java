package io.kvstore.core.memory;

import java.util.Arrays;

/**
 * A hash map from a 128-bit page key ({@code hi}, {@code lo}) to a non-negative {@code int} (a frame or
 * slot id), in primitive arrays so that no object is made per entry.
 *
 * <p>Open addressing with linear probing and backward-shift deletion (Knuth, TAOCP vol. 3, 6.4,
 * Algorithm R): a removal moves later entries of the same probe run back, so there are no tombstones
 * and lookups never slow down with churn. The table doubles when it is half full, which keeps probe
 * runs short; it never shrinks (the tiers that use it are bounded, so its peak size is bounded too).
 *
 * <pre>
 *   entry i:  keys[2i] = key hi   keys[2i+1] = key lo   values[i] = id, or EMPTY (-1)
 * </pre>
 *
 * <p>Block keys are already hashes, but test and tool keys often are not ({@code (0, 1)}, {@code (0,
 * 2)} ...), so the home slot comes from a full 64-bit mix of both halves.
 *
 * <p>Not thread-safe: the owning tier calls it under its lock (a memory tier: its shard's lock).
 */
public final class KeySlotTable {

  /** Returned by lookups for an absent key. */
  public static final int MISSING = -1;

  private static final int EMPTY = -1;
  private static final int MIN_CAPACITY = 16;
  private static final int MAX_CAPACITY = 1 << 29;

  private long[] keys;
  private int[] values;
  private int mask;
  private int size;

  /** A table sized so that {@code expectedEntries} fit without growing. */
  public KeySlotTable(int expectedEntries) {
    if (expectedEntries < 0) {
      throw new IllegalArgumentException("expected entries must not be negative: " + expectedEntries);
    }
    allocate(capacityFor(expectedEntries));
  }

  /** Number of entries. */
  public int size() {
    return size;
  }

  /** The id stored for the key, or {@link #MISSING}. */
  public int get(long hi, long lo) {
    for (int i = home(hi, lo); ; i = (i + 1) & mask) {
      int v = values[i];
      if (v == EMPTY) {
        return MISSING;
      }
      if (keys[2 * i] == hi && keys[2 * i + 1] == lo) {
        return v;
      }
    }
  }

  /**
   * Maps the key to {@code value}.
   *
   * @return the previous value, or {@link #MISSING}
   */
  public int put(long hi, long lo, int value) {
    if (value < 0) {
      throw new IllegalArgumentException("values must be non-negative: " + value);
    }
    for (int i = home(hi, lo); ; i = (i + 1) & mask) {
      int v = values[i];
      if (v == EMPTY) {
        keys[2 * i] = hi;
        keys[2 * i + 1] = lo;
        values[i] = value;
        if (++size > (mask + 1) >> 1) {
          grow();
        }
        return MISSING;
      }
      if (keys[2 * i] == hi && keys[2 * i + 1] == lo) {
        values[i] = value;
        return v;
      }
    }
  }

  /**
   * Removes the key.
   *
   * @return the value it had, or {@link #MISSING}
   */
  public int remove(long hi, long lo) {
    for (int i = home(hi, lo); ; i = (i + 1) & mask) {
      int v = values[i];
      if (v == EMPTY) {
        return MISSING;
      }
      if (keys[2 * i] == hi && keys[2 * i + 1] == lo) {
        shiftBack(i);
        size--;
        return v;
      }
    }
  }

  /** Removes every entry (keeps the arrays). */
  public void clear() {
    Arrays.fill(values, EMPTY);
    size = 0;
  }

  /** Closes the gap at {@code gap} by moving back entries whose home is at or before it. */
  private void shiftBack(int gap) {
    for (int j = (gap + 1) & mask; values[j] != EMPTY; j = (j + 1) & mask) {
      int home = home(keys[2 * j], keys[2 * j + 1]);
      // The entry at j may fill the gap unless its home lies cyclically in (gap, j].
      boolean homeInRange = gap <= j ? (gap < home && home <= j) : (gap < home || home <= j);
      if (!homeInRange) {
        keys[2 * gap] = keys[2 * j];
        keys[2 * gap + 1] = keys[2 * j + 1];
        values[gap] = values[j];
        gap = j;
      }
    }
    values[gap] = EMPTY;
  }

  private void grow() {
    int capacity = mask + 1;
    if (capacity >= MAX_CAPACITY) {
      throw new IllegalStateException("key table is full at " + size + " entries");
    }
    long[] oldKeys = keys;
    int[] oldValues = values;
    allocate(capacity << 1);
    for (int i = 0; i < oldValues.length; i++) {
      if (oldValues[i] != EMPTY) {
        int j = home(oldKeys[2 * i], oldKeys[2 * i + 1]);
        while (values[j] != EMPTY) {
          j = (j + 1) & mask;
        }
        keys[2 * j] = oldKeys[2 * i];
        keys[2 * j + 1] = oldKeys[2 * i + 1];
        values[j] = oldValues[i];
      }
    }
  }

  private void allocate(int capacity) {
    keys = new long[2 * capacity];
    values = new int[capacity];
    Arrays.fill(values, EMPTY);
    mask = capacity - 1;
  }

  private static int capacityFor(int expectedEntries) {
    long wanted = Math.max(MIN_CAPACITY, 2L * expectedEntries + 1);
    if (wanted > MAX_CAPACITY) {
      throw new IllegalArgumentException("too many entries for one key table: " + expectedEntries);
    }
    return Integer.highestOneBit((int) wanted - 1) << 1;
  }

  private int home(long hi, long lo) {
    long h = hi * 0x9E3779B97F4A7C15L ^ lo;
    h = (h ^ (h >>> 30)) * 0xBF58476D1CE4E5B9L;
    h = (h ^ (h >>> 27)) * 0x94D049BB133111EBL;
    return (int) (h ^ (h >>> 31)) & mask;
  }
}
