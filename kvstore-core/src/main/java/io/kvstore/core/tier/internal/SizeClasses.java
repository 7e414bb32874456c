package io.kvstore.core.tier.internal;

import java.util.Arrays;

/**
 * The slot sizes of a memory tier (hot frames and DRAM slots alike): from a minimum up to the
 * largest page, each about {@code factor} times the previous one (as in memcached and CacheLib),
 * every size a multiple of 64 bytes so that slots start on cache lines, and the last size exactly
 * the largest page rounded up to 64. A page goes to the smallest class that holds it, so at most
 * about {@code 1 - 1/factor} of a slot is wasted (plus the 64-byte rounding).
 */
public final class SizeClasses {

  /** Slot sizes are multiples of this. */
  public static final int SLOT_ALIGNMENT = 64;

  private final int[] sizes;

  private SizeClasses(int[] sizes) {
    this.sizes = sizes;
  }

  /**
   * Classes from {@code minSlotBytes} to {@code maxPageBytes}, growing by {@code factor}.
   *
   * @throws IllegalArgumentException if a bound is not positive or the factor is not above 1
   */
  public static SizeClasses of(int minSlotBytes, int maxPageBytes, double factor) {
    if (minSlotBytes <= 0 || maxPageBytes <= 0) {
      throw new IllegalArgumentException(
          "slot sizes must be positive: min " + minSlotBytes + ", max " + maxPageBytes);
    }
    if (!(factor > 1.0) || factor > 16.0) {
      throw new IllegalArgumentException("growth factor must be in (1, 16]: " + factor);
    }
    int largest = align(maxPageBytes);
    int size = Math.min(align(minSlotBytes), largest);
    int[] out = new int[8];
    int count = 0;
    while (true) {
      if (count == out.length) {
        out = Arrays.copyOf(out, count * 2);
      }
      out[count++] = size;
      if (size >= largest) {
        break;
      }
      long next = Math.max(size + (long) SLOT_ALIGNMENT, (long) Math.ceil(size * factor));
      size = Math.min(align(next), largest);
    }
    return new SizeClasses(Arrays.copyOf(out, count));
  }

  /** Number of classes. */
  public int count() {
    return sizes.length;
  }

  /** Slot size of class {@code sizeClass}. */
  public int slotBytes(int sizeClass) {
    return sizes[sizeClass];
  }

  /** The smallest slot size. */
  public int smallest() {
    return sizes[0];
  }

  /** The largest slot size. */
  public int largest() {
    return sizes[sizes.length - 1];
  }

  /** The smallest class whose slots hold {@code pageBytes}, or -1 if none does. */
  public int classFor(int pageBytes) {
    int i = Arrays.binarySearch(sizes, pageBytes);
    if (i >= 0) {
      return i;
    }
    int insertion = -i - 1;
    return insertion < sizes.length ? insertion : -1;
  }

  @Override
  public String toString() {
    return Arrays.toString(sizes);
  }

  /** {@code bytes} rounded up to {@link #SLOT_ALIGNMENT}. */
  public static int align(long bytes) {
    long aligned = (bytes + SLOT_ALIGNMENT - 1) & -SLOT_ALIGNMENT;
    if (aligned > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("slot size too large: " + bytes);
    }
    return (int) aligned;
  }
}
