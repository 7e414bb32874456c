package io.kvstore.bench.targets;

import java.nio.ByteBuffer;

/**
 * Working sets of the memory baselines ({@code memcpy-ws}, {@code floor}): direct memory holding
 * one 4 KiB pattern over and over, cut into page-sized slots that start at multiples of 4 KiB. So
 * every slot holds the same payload for a page length, and one header (and one payload CRC) per
 * length serves every slot.
 */
final class PatternedSlots {

  /** Slots start at multiples of this; the pattern repeats every this many bytes. */
  static final int SLOT_ALIGN = 4096;

  private static final byte[] BLOCK = new byte[SLOT_ALIGN];

  static {
    for (int i = 0; i < BLOCK.length; i++) {
      BLOCK[i] = (byte) (i * 31 + 7);
    }
  }

  private PatternedSlots() {}

  /** Bytes of a slot for a page of {@code length}: the length rounded up to 4 KiB. */
  static long stride(int length) {
    return (length + SLOT_ALIGN - 1L) / SLOT_ALIGN * SLOT_ALIGN;
  }

  /** A direct buffer of {@code bytes} (at most 2 GiB - 1) holding the pattern, every byte written. */
  static ByteBuffer allocate(long bytes) {
    ByteBuffer b = ByteBuffer.allocateDirect((int) bytes);
    fill(b, 0, (int) bytes);
    return b;
  }

  /**
   * Writes the pattern into {@code b[from, from + length)} as a working set holds it there ({@code
   * from} a multiple of 4 KiB): puts back what a page header written into a slot replaced.
   */
  static void fill(ByteBuffer b, int from, int length) {
    for (int at = 0; at < length; at += SLOT_ALIGN) {
      b.put(from + at, BLOCK, 0, Math.min(SLOT_ALIGN, length - at));
    }
  }
}
