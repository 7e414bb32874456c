package io.kvstore.core.store;

/**
 * The keys whose memory copy is dirty: put into a memory tier and not yet handed to the write-back
 * queue or written to SSD. A memory tier's eviction asks {@link #remove}: a dirty victim is queued
 * for write-back, a clean one (promoted from SSD, which keeps its copy: the SSD tier is inclusive)
 * is dropped without a write. Also what a graceful close writes down.
 *
 * <p>Erring towards dirty is safe (a writer skips a key the SSD tier already holds); erring towards
 * clean would lose a page, so a key is marked before its page enters memory.
 *
 * <p>Striped open-addressing sets of 128-bit keys in primitive arrays (linear probing, deletion by
 * backward shift): no object per key. Each stripe's lock is a leaf lock, taken under key locks and
 * under memory tiers' locks (from their eviction callbacks), never the other way round.
 */
final class DirtyKeys {

  private static final int STRIPES = 64;

  private final Stripe[] stripes = new Stripe[STRIPES];

  DirtyKeys() {
    for (int i = 0; i < STRIPES; i++) {
      stripes[i] = new Stripe();
    }
  }

  private static long mix(long hi, long lo) {
    long h = hi * 0x9E3779B97F4A7C15L ^ Long.rotateLeft(lo * 0xC2B2AE3D27D4EB4FL, 31);
    return h ^ (h >>> 32);
  }

  private Stripe stripe(long h) {
    return stripes[(int) (h >>> 58) & (STRIPES - 1)];
  }

  /** Marks the key dirty. */
  void add(long hi, long lo) {
    long h = mix(hi, lo);
    Stripe s = stripe(h);
    synchronized (s) {
      s.add(hi, lo, h);
    }
  }

  /** Unmarks the key; whether it was dirty. */
  boolean remove(long hi, long lo) {
    long h = mix(hi, lo);
    Stripe s = stripe(h);
    synchronized (s) {
      return s.remove(hi, lo, h);
    }
  }

  /** Whether the key is dirty. */
  boolean contains(long hi, long lo) {
    long h = mix(hi, lo);
    Stripe s = stripe(h);
    synchronized (s) {
      return s.find(hi, lo, h) >= 0;
    }
  }

  /** Number of dirty keys now. */
  long size() {
    long n = 0;
    for (Stripe s : stripes) {
      synchronized (s) {
        n += s.size;
      }
    }
    return n;
  }

  /** The dirty keys now, as {@code hi, lo} pairs. */
  long[] snapshot() {
    long[] out = new long[0];
    int n = 0;
    for (Stripe s : stripes) {
      synchronized (s) {
        if (2 * (n + s.size) > out.length) {
          out = java.util.Arrays.copyOf(out, 2 * (n + s.size) + 64);
        }
        for (int i = 0; i < s.used.length; i++) {
          if (s.used[i]) {
            out[2 * n] = s.his[i];
            out[2 * n + 1] = s.los[i];
            n++;
          }
        }
      }
    }
    return java.util.Arrays.copyOf(out, 2 * n);
  }

  /** One open-addressing table; guarded by its own monitor. */
  private static final class Stripe {
    long[] his = new long[16];
    long[] los = new long[16];
    boolean[] used = new boolean[16];
    int size;

    int find(long hi, long lo, long h) {
      int m = used.length - 1;
      for (int i = (int) h & m; used[i]; i = (i + 1) & m) {
        if (his[i] == hi && los[i] == lo) {
          return i;
        }
      }
      return -1;
    }

    void add(long hi, long lo, long h) {
      if (find(hi, lo, h) >= 0) {
        return;
      }
      if (2 * (size + 1) > used.length) {
        grow();
      }
      insert(hi, lo, h);
      size++;
    }

    private void insert(long hi, long lo, long h) {
      int m = used.length - 1;
      int i = (int) h & m;
      while (used[i]) {
        i = (i + 1) & m;
      }
      used[i] = true;
      his[i] = hi;
      los[i] = lo;
    }

    private void grow() {
      long[] oh = his;
      long[] ol = los;
      boolean[] ou = used;
      his = new long[oh.length * 2];
      los = new long[oh.length * 2];
      used = new boolean[oh.length * 2];
      for (int i = 0; i < ou.length; i++) {
        if (ou[i]) {
          insert(oh[i], ol[i], mix(oh[i], ol[i]));
        }
      }
    }

    boolean remove(long hi, long lo, long h) {
      int i = find(hi, lo, h);
      if (i < 0) {
        return false;
      }
      int m = used.length - 1;
      // Backward-shift deletion: move later entries of the probe run into the gap.
      int gap = i;
      for (int j = (gap + 1) & m; used[j]; j = (j + 1) & m) {
        int home = (int) mix(his[j], los[j]) & m;
        // j's entry may move to gap if its home is not in (gap, j] cyclically.
        boolean between = gap <= j ? (home > gap && home <= j) : (home > gap || home <= j);
        if (!between) {
          his[gap] = his[j];
          los[gap] = los[j];
          gap = j;
        }
      }
      used[gap] = false;
      size--;
      return true;
    }
  }
}
