package io.kvstore.core.policy;

import java.util.Arrays;

/*
 * Implementation notes.
 *
 * A Count-Min sketch (Cormode and Muthukrishnan, "An Improved Data Stream Summary: The Count-Min
 * Sketch and its Applications", J. Algorithms 2005) with 4-bit saturating counters and periodic
 * halving, the frequency histogram of TinyLFU (Einziger, Friedman and Manes, "TinyLFU: A Highly
 * Efficient Cache Admission Policy", ACM ToS 2017, section 3.3 "reset"; Caffeine's FrequencySketch
 * is the reference implementation of the same idea).
 *
 * Layout: long[] table, a power of two of 64-bit words, 16 counters of 4 bits per word. An item
 * gets DEPTH = 4 counters, one per row: row i picks a word from an independently mixed hash and a
 * nibble from bits of the same hash. The estimate is the minimum of the 4 counters (Count-Min never
 * underestimates, apart from the halving). After sampleSize increments every counter is halved (a
 * shift and mask per word), so the sketch follows a changing workload and its counters stay small;
 * 15 is the saturation point, enough to tell "seen once" from "popular".
 *
 * Not thread-safe: the owning policy is called under the tier lock.
 */

/** A 4-bit Count-Min sketch over 64-bit items with periodic halving (aging). */
final class FrequencySketch {

  private static final int DEPTH = 4;
  private static final long RESET_MASK = 0x7777_7777_7777_7777L;
  private static final long[] SEEDS = {
    0x9E37_79B9_7F4A_7C15L, 0xC2B2_AE3D_27D4_EB4FL, 0x1656_67B1_9E37_79F9L, 0xD6E8_FEB8_6659_FD93L
  };

  private final long[] table;
  private final int wordMask;
  private final int sampleSize;
  private int additions;

  /** A sketch sized for about {@code expectedItems} distinct items (at least 16 words). */
  FrequencySketch(int expectedItems) {
    if (expectedItems <= 0) {
      throw new IllegalArgumentException("expectedItems must be positive: " + expectedItems);
    }
    int words = Math.max(16, Integer.highestOneBit(Math.min(expectedItems, 1 << 29) - 1) << 1);
    table = new long[words];
    wordMask = words - 1;
    // TinyLFU: a sample of about 10 times the cache size before each halving.
    sampleSize = (int) Math.min(Integer.MAX_VALUE, 10L * expectedItems);
  }

  /** Counts one occurrence of {@code item}; halves every counter once per sample. */
  void increment(long item) {
    boolean added = false;
    for (int i = 0; i < DEPTH; i++) {
      long h = mix(item, SEEDS[i]);
      int word = (int) h & wordMask;
      int shift = (int) (h >>> 60) << 2;
      long w = table[word];
      if (((w >>> shift) & 0xFL) != 0xFL) {
        table[word] = w + (1L << shift);
        added = true;
      }
    }
    if (added && ++additions >= sampleSize) {
      halve();
    }
  }

  /** The estimated count of {@code item}, in {@code [0, 15]}. */
  int frequency(long item) {
    int min = 15;
    for (int i = 0; i < DEPTH; i++) {
      long h = mix(item, SEEDS[i]);
      int c = (int) ((table[(int) h & wordMask] >>> ((int) (h >>> 60) << 2)) & 0xFL);
      min = Math.min(min, c);
    }
    return min;
  }

  /** Zeroes every counter. */
  void clear() {
    Arrays.fill(table, 0L);
    additions = 0;
  }

  private void halve() {
    for (int i = 0; i < table.length; i++) {
      table[i] = (table[i] >>> 1) & RESET_MASK;
    }
    additions >>>= 1;
  }

  /** A 64-bit finalizer (Stafford's Mix13, as in SplitMix64) of item xor a per-row seed. */
  static long mix(long item, long seed) {
    long z = item ^ seed;
    z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
    return z ^ (z >>> 31);
  }
}
