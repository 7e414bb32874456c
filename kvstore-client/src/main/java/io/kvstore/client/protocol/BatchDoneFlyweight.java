package io.kvstore.client.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * GET_DONE (0x84) and DELETE_OK (0x87): the end of a batch, with a hit count and a miss bitmap
 * ({@code spec/3-wire-protocol.md} §3.4.1).
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                         frame header                          |  0
 *  |                          (16 bytes)                           |
 *  +---------------------------------------------------------------+
 *  |                  key count (u32, as requested)                | 16
 *  +---------------------------------------------------------------+
 *  |         hit count (u32: pages sent / keys deleted)            | 20
 *  +---------------------------------------------------------------+
 *  |   miss bitmap: ceil(key count / 8) bytes, bit i = key i       | 24
 *  |   missed (byte i / 8, bit i % 8, least significant first)    ...
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>The sender keeps misses in a {@code long[]} bit set (bit {@code i} of word {@code i / 64});
 * little-endian words laid end to end are exactly the wire bitmap, so no per-key work is needed.
 */
public final class BatchDoneFlyweight extends Flyweight {

  public static final int KEY_COUNT_OFFSET = 16;
  public static final int HIT_COUNT_OFFSET = 20;
  public static final int BITMAP_OFFSET = 24;

  /** Bytes of bitmap for {@code keyCount} keys. */
  public static int bitmapLength(int keyCount) {
    return (keyCount + 7) >>> 3;
  }

  /** Words of a {@code long[]} miss set for {@code keyCount} keys. */
  public static int missWords(int keyCount) {
    return (keyCount + 63) >>> 6;
  }

  /**
   * Encodes GET_DONE or DELETE_OK; {@code missBits} holds bit {@code i} set for each missed key
   * {@code i} and must have at least {@link #missWords(int)} words. The hit count is derived from
   * the bits so the two can never disagree.
   */
  public static ByteBuf encode(
      ByteBufAllocator alloc, int opcode, long requestId, int keyCount, long[] missBits) {
    if (opcode != Opcode.GET_DONE && opcode != Opcode.DELETE_OK) {
      throw new IllegalArgumentException("not a batch-done opcode: " + Opcode.name(opcode));
    }
    if (missBits.length < missWords(keyCount)) {
      throw new IllegalArgumentException("miss set too short for " + keyCount + " keys");
    }
    int bitmapLength = bitmapLength(keyCount);
    int misses = 0;
    for (int w = 0, words = missWords(keyCount); w < words; w++) {
      long word = missBits[w];
      int bitsInWord = Math.min(64, keyCount - 64 * w);
      if (bitsInWord < 64) {
        word &= (1L << bitsInWord) - 1;
      }
      misses += Long.bitCount(word);
    }
    int length = BITMAP_OFFSET + bitmapLength;
    ByteBuf out = alloc.buffer(length);
    FrameDescriptor.writeHeader(out, length, opcode, 0, requestId);
    out.writeIntLE(keyCount);
    out.writeIntLE(keyCount - misses);
    for (int b = 0; b < bitmapLength; b++) {
      int bitsInByte = Math.min(8, keyCount - 8 * b);
      int value = (int) (missBits[b >>> 3] >>> ((b & 7) << 3)) & ((1 << bitsInByte) - 1);
      out.writeByte(value);
    }
    return out;
  }

  static String check(ByteBuf buf, int index, int length, int opcode) {
    if (length < BITMAP_OFFSET) {
      return Opcode.name(opcode) + " shorter than " + BITMAP_OFFSET + " bytes";
    }
    long keyCount = buf.getUnsignedIntLE(index + KEY_COUNT_OFFSET);
    long hits = buf.getUnsignedIntLE(index + HIT_COUNT_OFFSET);
    long bitmapLength = (keyCount + 7) >>> 3;
    if (length != BITMAP_OFFSET + bitmapLength) {
      return Opcode.name(opcode) + " of " + keyCount + " keys must be "
          + (BITMAP_OFFSET + bitmapLength) + " bytes, got " + length;
    }
    long misses = 0;
    for (int b = 0; b < bitmapLength; b++) {
      misses += Integer.bitCount(buf.getUnsignedByte(index + BITMAP_OFFSET + b));
    }
    int tailBits = (int) (keyCount & 7);
    if (tailBits != 0
        && (buf.getUnsignedByte(index + BITMAP_OFFSET + (int) bitmapLength - 1) >>> tailBits) != 0) {
      return Opcode.name(opcode) + " bitmap has bits set past the last key";
    }
    if (hits + misses != keyCount) {
      return Opcode.name(opcode) + " hit count " + hits + " disagrees with " + misses
          + " misses of " + keyCount + " keys";
    }
    return null;
  }

  /** Number of keys in the request this answers. */
  public int keyCount() {
    return buffer.getIntLE(offset + KEY_COUNT_OFFSET);
  }

  /** Pages sent (GET) or keys deleted (DELETE). */
  public int hitCount() {
    return buffer.getIntLE(offset + HIT_COUNT_OFFSET);
  }

  /** Whether key {@code i} missed (GET: no page; DELETE: was not present). */
  public boolean isMiss(int i) {
    if (i < 0 || i >= keyCount()) {
      throw new IndexOutOfBoundsException("key " + i + " of " + keyCount());
    }
    return (buffer.getUnsignedByte(offset + BITMAP_OFFSET + (i >>> 3)) & (1 << (i & 7))) != 0;
  }
}
