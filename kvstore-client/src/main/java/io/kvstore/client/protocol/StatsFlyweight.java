package io.kvstore.client.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * STATS (0x08, header only) and STATS_OK (0x88, UTF-8 text) ({@code spec/3-wire-protocol.md}
 * §3.4.3).
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                         frame header                          |  0
 *  |                          (16 bytes)                           |
 *  +---------------------------------------------------------------+
 *  |  STATS_OK only: "name value\n" lines, UTF-8 (length - 16)    ... 16
 *  +---------------------------------------------------------------+
 * </pre>
 */
public final class StatsFlyweight extends Flyweight {

  public static final int TEXT_OFFSET = 16;

  /** Encodes a STATS request (a header, no body). */
  public static ByteBuf encodeRequest(ByteBufAllocator alloc, long requestId) {
    ByteBuf out = alloc.buffer(FrameDescriptor.HEADER_LENGTH);
    FrameDescriptor.writeHeader(out, FrameDescriptor.HEADER_LENGTH, Opcode.STATS, 0, requestId);
    return out;
  }

  /** Encodes a STATS_OK carrying {@code text}. */
  public static ByteBuf encodeResponse(ByteBufAllocator alloc, long requestId, CharSequence text) {
    byte[] bytes = text.toString().getBytes(StandardCharsets.UTF_8);
    int length = TEXT_OFFSET + bytes.length;
    ByteBuf out = alloc.buffer(length);
    FrameDescriptor.writeHeader(out, length, Opcode.STATS_OK, 0, requestId);
    out.writeBytes(bytes);
    return out;
  }

  static String check(ByteBuf buf, int index, int length, int opcode) {
    if (opcode == Opcode.STATS && length != FrameDescriptor.HEADER_LENGTH) {
      return "STATS has no body, got " + (length - FrameDescriptor.HEADER_LENGTH) + " bytes";
    }
    return null;
  }

  /** The STATS_OK text. */
  public String text() {
    return buffer.toString(
        offset + TEXT_OFFSET, frameLength() - TEXT_OFFSET, StandardCharsets.UTF_8);
  }
}
