package io.kvstore.client.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * PREFETCH_OK (0x86): how many of the keys are in a memory tier when promotion finished or the
 * deadline passed ({@code spec/3-wire-protocol.md} §3.4.1).
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
 *  |       promoted count (u32, keys in DRAM or hot at the end)    | 20
 *  +---------------------------------------------------------------+  24
 * </pre>
 */
public final class PrefetchOkFlyweight extends Flyweight {

  public static final int KEY_COUNT_OFFSET = 16;
  public static final int PROMOTED_OFFSET = 20;
  /** Length of a PREFETCH_OK frame. */
  public static final int LENGTH = 24;

  /** Encodes a PREFETCH_OK frame. */
  public static ByteBuf encode(ByteBufAllocator alloc, long requestId, int keyCount, int promoted) {
    if (promoted < 0 || promoted > keyCount) {
      throw new IllegalArgumentException("promoted " + promoted + " of " + keyCount + " keys");
    }
    ByteBuf out = alloc.buffer(LENGTH);
    FrameDescriptor.writeHeader(out, LENGTH, Opcode.PREFETCH_OK, 0, requestId);
    out.writeIntLE(keyCount);
    out.writeIntLE(promoted);
    return out;
  }

  static String check(ByteBuf buf, int index, int length) {
    if (length != LENGTH) {
      return "PREFETCH_OK must be " + LENGTH + " bytes, got " + length;
    }
    if (buf.getUnsignedIntLE(index + PROMOTED_OFFSET)
        > buf.getUnsignedIntLE(index + KEY_COUNT_OFFSET)) {
      return "PREFETCH_OK promoted more keys than requested";
    }
    return null;
  }

  /** Number of keys in the PREFETCH this answers. */
  public int keyCount() {
    return buffer.getIntLE(offset + KEY_COUNT_OFFSET);
  }

  /** Keys held in a memory tier at the end of the prefetch. */
  public int promotedCount() {
    return buffer.getIntLE(offset + PROMOTED_OFFSET);
  }
}
