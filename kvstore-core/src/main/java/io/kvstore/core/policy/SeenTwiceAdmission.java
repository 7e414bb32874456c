package io.kvstore.core.policy;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/*
 * Implementation notes.
 *
 * "Admit on the second sighting" keeps one-hit wonders off the SSD, which saves flash writes: the
 * doorkeeper idea of TinyLFU (Einziger, Friedman and Manes, "TinyLFU: A Highly Efficient Cache
 * Admission Policy", ACM ToS 2017, section 3.4.2) and of CacheLib's navy "reject first" admission
 * (Berg et al., "The CacheLib Caching Engine", OSDI 2020, section 4.3: flash admission policies).
 *
 * Structure: a Count-Min sketch (Cormode and Muthukrishnan 2005) of 4-bit saturating counters over
 * the 128-bit block key, 4 counters per key, in an AtomicLongArray of a power-of-two number of words
 * (16 counters per word). Memory is fixed at construction: 8 bytes per expected key, rounded up to
 * a power of two. A key is admitted once its estimate reaches 2. Count-Min never underestimates, so
 * a key seen twice is always admitted (until aging); a key seen once is admitted only when all its 4
 * counters collide with other keys, which the sizing keeps rare.
 *
 * Aging: after `expectedKeys` sightings every counter is halved (TinyLFU's reset), so the filter
 * forgets old sightings, a key must be seen twice within about one sample to be admitted, and the
 * counters never saturate for good.
 *
 * Thread safety: counters are updated by compare-and-set on their word. The halving is done by the
 * one thread that wins the reset of the sighting counter; sightings racing with it may be halved or
 * not, which only shifts which sample they count towards. No lock, no allocation per call.
 */

/** Admits a key on its second sighting within a bounded, aging window. Thread-safe. */
public final class SeenTwiceAdmission implements AdmissionPolicy {

  private static final int DEPTH = 4;
  private static final int THRESHOLD = 2;
  private static final long RESET_MASK = 0x7777_7777_7777_7777L;
  private static final long[] SEEDS = {
    0x9E37_79B9_7F4A_7C15L, 0xC2B2_AE3D_27D4_EB4FL, 0x1656_67B1_9E37_79F9L, 0xD6E8_FEB8_6659_FD93L
  };

  private final AtomicLongArray table;
  private final int wordMask;
  private final long sampleSize;
  private final AtomicLong sightings = new AtomicLong();

  /**
   * A filter that halves its counters every {@code expectedKeys} sightings and has about as many
   * 64-bit words, so memory is {@code 8 x expectedKeys} bytes (rounded up to a power of two).
   *
   * @param expectedKeys sightings per aging sample, in {@code [1, 2^28]}; TinyLFU samples about 10x
   *     the cache's entry count, and on the Mooncake trace 1x forgets a block before its reuse
   *     (bench/README.md)
   */
  public SeenTwiceAdmission(int expectedKeys) {
    if (expectedKeys <= 0 || expectedKeys > (1 << 28)) {
      throw new IllegalArgumentException("expectedKeys must be in [1, 2^28]: " + expectedKeys);
    }
    int words = Math.max(16, Integer.highestOneBit(expectedKeys - 1) << 1);
    table = new AtomicLongArray(words);
    wordMask = words - 1;
    sampleSize = expectedKeys;
  }

  @Override
  public String name() {
    return "seen-twice";
  }

  @Override
  public void record(long keyHi, long keyLo) {
    for (int i = 0; i < DEPTH; i++) {
      long h = hash(keyHi, keyLo, i);
      int word = (int) h & wordMask;
      int shift = (int) (h >>> 60) << 2;
      long w;
      do {
        w = table.get(word);
        if (((w >>> shift) & 0xFL) == 0xFL) {
          break;
        }
      } while (!table.compareAndSet(word, w, w + (1L << shift)));
    }
    long n = sightings.incrementAndGet();
    if (n >= sampleSize && sightings.compareAndSet(n, 0)) {
      halve();
    }
  }

  @Override
  public boolean admit(long keyHi, long keyLo) {
    return estimate(keyHi, keyLo) >= THRESHOLD;
  }

  /** The estimated number of recent sightings of the key, in {@code [0, 15]}. */
  public int estimate(long keyHi, long keyLo) {
    int min = 15;
    for (int i = 0; i < DEPTH; i++) {
      long h = hash(keyHi, keyLo, i);
      int c = (int) ((table.get((int) h & wordMask) >>> ((int) (h >>> 60) << 2)) & 0xFL);
      min = Math.min(min, c);
    }
    return min;
  }

  /** Bytes of counter memory (fixed at construction). */
  public long memoryBytes() {
    return 8L * table.length();
  }

  private void halve() {
    for (int i = 0; i < table.length(); i++) {
      long w;
      do {
        w = table.get(i);
      } while (!table.compareAndSet(i, w, (w >>> 1) & RESET_MASK));
    }
  }

  private static long hash(long hi, long lo, int row) {
    return FrequencySketch.mix(hi ^ FrequencySketch.mix(lo, SEEDS[row]), SEEDS[(row + 1) & 3]);
  }
}
