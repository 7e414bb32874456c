package io.kvstore.client.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * ERROR (0xFF): ends the request with this id, or concerns the connection when the id is 0
 * ({@code spec/3-wire-protocol.md} §3.4.5).
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                         frame header                          |  0
 *  |                          (16 bytes)                           |
 *  +-------------------------------+-------------------------------+
 *  |       error code (u16)        |   message length (u16)        | 16
 *  +-------------------------------+-------------------------------+
 *  |               message (UTF-8, <= 1024 bytes)                 ... 20
 *  +---------------------------------------------------------------+
 * </pre>
 */
public final class ErrorFlyweight extends Flyweight {

  public static final int CODE_OFFSET = 16;
  public static final int MESSAGE_LENGTH_OFFSET = 18;
  public static final int MESSAGE_OFFSET = 20;
  /** Longest message carried; longer ones are cut at a character boundary. */
  public static final int MAX_MESSAGE_LENGTH = 1024;

  /** Encodes an ERROR; a message longer than 1024 UTF-8 bytes is cut to fit. */
  public static ByteBuf encode(ByteBufAllocator alloc, long requestId, int code, String message) {
    if (code < 0 || code > 0xFFFF) {
      throw new IllegalArgumentException("error code " + code + " is not a u16");
    }
    byte[] bytes = utf8Prefix(message == null ? "" : message, MAX_MESSAGE_LENGTH);
    int length = MESSAGE_OFFSET + bytes.length;
    ByteBuf out = alloc.buffer(length);
    FrameDescriptor.writeHeader(out, length, Opcode.ERROR, 0, requestId);
    out.writeShortLE(code);
    out.writeShortLE(bytes.length);
    out.writeBytes(bytes);
    return out;
  }

  /** The UTF-8 bytes of the longest prefix of {@code s} that fits {@code max} bytes. */
  static byte[] utf8Prefix(String s, int max) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    if (bytes.length <= max) {
      return bytes;
    }
    int end = max;
    // Back off continuation bytes (10xxxxxx) so the cut falls between two characters.
    while (end > 0 && (bytes[end] & 0xC0) == 0x80) {
      end--;
    }
    byte[] cut = new byte[end];
    System.arraycopy(bytes, 0, cut, 0, end);
    return cut;
  }

  static String check(ByteBuf buf, int index, int length) {
    if (length < MESSAGE_OFFSET) {
      return "ERROR shorter than " + MESSAGE_OFFSET + " bytes";
    }
    int messageLength = buf.getUnsignedShortLE(index + MESSAGE_LENGTH_OFFSET);
    if (messageLength > MAX_MESSAGE_LENGTH || length != MESSAGE_OFFSET + messageLength) {
      return "ERROR message length " + messageLength + " does not fit frame length " + length;
    }
    return null;
  }

  /** The error code. */
  public int code() {
    return buffer.getUnsignedShortLE(offset + CODE_OFFSET);
  }

  /** The message. */
  public String message() {
    return buffer.toString(
        offset + MESSAGE_OFFSET,
        buffer.getUnsignedShortLE(offset + MESSAGE_LENGTH_OFFSET),
        StandardCharsets.UTF_8);
  }
}
