package io.kvstore.core.tier.ssd;

import java.util.Arrays;

/** Victim keys chosen by one put; reused per thread so eviction allocates nothing. */
final class VictimList {
  long[] hi = new long[16];
  long[] lo = new long[16];
  int[] len = new int[16];
  int size;

  void add(long h, long l, int length) {
    if (size == hi.length) {
      hi = Arrays.copyOf(hi, size * 2);
      lo = Arrays.copyOf(lo, size * 2);
      len = Arrays.copyOf(len, size * 2);
    }
    hi[size] = h;
    lo[size] = l;
    len[size] = length;
    size++;
  }

  void clear() {
    size = 0;
  }
}
