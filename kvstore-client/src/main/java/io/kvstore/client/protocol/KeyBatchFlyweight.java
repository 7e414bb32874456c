package io.kvstore.client.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The key batch shared by LOOKUP (0x03), GET (0x04), PREFETCH (0x06) and DELETE (0x07)
 * ({@code spec/3-wire-protocol.md} §3.4.1).
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                         frame header                          |  0
 *  |                          (16 bytes)                           |
 *  +---------------------------------------------------------------+
 *  |                        key count (u32)                        | 16
 *  +---------------------------------------------------------------+
 *  |     argument (u32): PREFETCH deadline in ms, else 0           | 20
 *  +---------------------------------------------------------------+
 *  |                         key 0 hi (u64)                        | 24
 *  |                                                               |
 *  |                         key 0 lo (u64)                        |
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                     ... key count keys ...                   ...
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>Keys are given and returned as {@code (hi, lo)} pairs in a {@code long[]}: key {@code i} is
 * {@code keys[2i], keys[2i + 1]}, so a batch costs no object per key.
 */
public final class KeyBatchFlyweight extends Flyweight {

  public static final int KEY_COUNT_OFFSET = 16;
  public static final int ARGUMENT_OFFSET = 20;
  public static final int KEYS_OFFSET = 24;
  /** Bytes per key on the wire. */
  public static final int KEY_LENGTH = 16;

  /** Frame length of a batch of {@code keyCount} keys. */
  public static int frameLength(int keyCount) {
    return KEYS_OFFSET + KEY_LENGTH * keyCount;
  }

  /**
   * Encodes a key batch of keys {@code [from, from + count)} of {@code keys} (hi, lo pairs).
   *
   * @param opcode LOOKUP, GET, PREFETCH or DELETE
   * @param argument the PREFETCH deadline in ms; must be 0 for the other opcodes
   */
  public static ByteBuf encode(
      ByteBufAllocator alloc,
      int opcode,
      int flags,
      long requestId,
      long[] keys,
      int from,
      int count,
      int argument) {
    if (opcode != Opcode.LOOKUP
        && opcode != Opcode.GET
        && opcode != Opcode.PREFETCH
        && opcode != Opcode.DELETE) {
      throw new IllegalArgumentException("not a key batch opcode: " + Opcode.name(opcode));
    }
    if (from < 0 || count < 0 || 2L * (from + (long) count) > keys.length) {
      throw new IndexOutOfBoundsException(
          "keys [" + from + ", " + from + "+" + count + ") of " + keys.length / 2);
    }
    int length = frameLength(count);
    ByteBuf out = alloc.buffer(length);
    FrameDescriptor.writeHeader(out, length, opcode, flags, requestId);
    out.writeIntLE(count);
    out.writeIntLE(argument);
    for (int i = 2 * from, end = 2 * (from + count); i < end; i++) {
      out.writeLongLE(keys[i]);
    }
    return out;
  }

  static String check(ByteBuf buf, int index, int length, int opcode) {
    if (length < KEYS_OFFSET) {
      return Opcode.name(opcode) + " shorter than " + KEYS_OFFSET + " bytes";
    }
    long count = buf.getUnsignedIntLE(index + KEY_COUNT_OFFSET);
    if ((long) length != KEYS_OFFSET + KEY_LENGTH * count) {
      return Opcode.name(opcode) + " of " + count + " keys must be "
          + (KEYS_OFFSET + KEY_LENGTH * count) + " bytes, got " + length;
    }
    if (opcode != Opcode.PREFETCH && buf.getIntLE(index + ARGUMENT_OFFSET) != 0) {
      return Opcode.name(opcode) + " argument field is not 0";
    }
    return null;
  }

  /** Number of keys in the batch. */
  public int keyCount() {
    return buffer.getIntLE(offset + KEY_COUNT_OFFSET);
  }

  /** The argument field (PREFETCH: deadline in ms). */
  public long argument() {
    return buffer.getUnsignedIntLE(offset + ARGUMENT_OFFSET);
  }

  /** High 64 bits of key {@code i}. */
  public long keyHi(int i) {
    return buffer.getLongLE(offset + KEYS_OFFSET + KEY_LENGTH * i);
  }

  /** Low 64 bits of key {@code i}. */
  public long keyLo(int i) {
    return buffer.getLongLE(offset + KEYS_OFFSET + KEY_LENGTH * i + 8);
  }

  /**
   * Copies all keys as (hi, lo) pairs into {@code dst}, which must hold {@code 2 * keyCount()}
   * longs; returns the key count.
   */
  public int readKeys(long[] dst) {
    int count = keyCount();
    if (dst.length < 2 * count) {
      throw new IllegalArgumentException("dst holds " + dst.length / 2 + " keys, need " + count);
    }
    int index = offset + KEYS_OFFSET;
    for (int i = 0; i < 2 * count; i++, index += 8) {
      dst[i] = buffer.getLongLE(index);
    }
    return count;
  }
}
