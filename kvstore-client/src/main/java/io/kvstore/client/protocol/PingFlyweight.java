package io.kvstore.client.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * PING (0x02) and PONG (0x82): an 8-byte value the daemon echoes ({@code spec/3-wire-protocol.md}
 * §3.4.4).
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                         frame header                          |  0
 *  |                          (16 bytes)                           |
 *  +---------------------------------------------------------------+
 *  |                 opaque (u64, echoed by PONG)                  | 16
 *  |                                                               |
 *  +---------------------------------------------------------------+  24
 * </pre>
 */
public final class PingFlyweight extends Flyweight {

  public static final int PAYLOAD_OFFSET = 16;
  /** Length of a PING or PONG frame. */
  public static final int LENGTH = 24;

  /** Encodes a PING or a PONG carrying {@code payload}. */
  public static ByteBuf encode(ByteBufAllocator alloc, int opcode, long requestId, long payload) {
    if (opcode != Opcode.PING && opcode != Opcode.PONG) {
      throw new IllegalArgumentException("not PING or PONG: " + Opcode.name(opcode));
    }
    ByteBuf out = alloc.buffer(LENGTH);
    FrameDescriptor.writeHeader(out, LENGTH, opcode, 0, requestId);
    out.writeLongLE(payload);
    return out;
  }

  static String check(ByteBuf buf, int index, int length, int opcode) {
    return length == LENGTH ? null : Opcode.name(opcode) + " must be " + LENGTH + " bytes";
  }

  /** The opaque value. */
  public long payload() {
    return buffer.getLongLE(offset + PAYLOAD_OFFSET);
  }
}
