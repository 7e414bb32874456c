package io.kvstore.client.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * HELLO (0x01), the first frame on a connection ({@code spec/3-wire-protocol.md} §3.3).
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                         frame header                          |  0
 *  |                          (16 bytes)                           |
 *  +-------------------------------+-------------------------------+
 *  |     min version (u16)         |      max version (u16)        | 16
 *  +-------------------------------+-------------------------------+
 *  |               client max frame length (u32)                   | 20
 *  +---------------------------------------------------------------+
 *  |                       namespace id (u64)                      | 24
 *  |                                                               |
 *  +-------------------------------+-------------------------------+
 *  |   auth token length (u16)     |       reserved (u16 = 0)      | 32
 *  +-------------------------------+-------------------------------+
 *  |              auth token (opaque bytes, <= 1024)              ... 36
 *  +---------------------------------------------------------------+
 * </pre>
 */
public final class HelloFlyweight extends Flyweight {

  public static final int MIN_VERSION_OFFSET = 16;
  public static final int MAX_VERSION_OFFSET = 18;
  public static final int CLIENT_MAX_FRAME_OFFSET = 20;
  public static final int NAMESPACE_ID_OFFSET = 24;
  public static final int TOKEN_LENGTH_OFFSET = 32;
  public static final int RESERVED_OFFSET = 34;
  public static final int TOKEN_OFFSET = 36;
  /** Longest auth token the protocol carries. */
  public static final int MAX_TOKEN_LENGTH = 1024;

  /** Encodes a HELLO frame into a new buffer from {@code alloc}. */
  public static ByteBuf encode(
      ByteBufAllocator alloc,
      long requestId,
      int minVersion,
      int maxVersion,
      int clientMaxFrameLength,
      long namespaceId,
      byte[] authToken) {
    if (authToken.length > MAX_TOKEN_LENGTH) {
      throw new IllegalArgumentException(
          "auth token is " + authToken.length + " bytes, the protocol allows " + MAX_TOKEN_LENGTH);
    }
    int length = TOKEN_OFFSET + authToken.length;
    ByteBuf out = alloc.buffer(length);
    FrameDescriptor.writeHeader(out, length, Opcode.HELLO, 0, requestId);
    out.writeShortLE(minVersion);
    out.writeShortLE(maxVersion);
    out.writeIntLE(clientMaxFrameLength);
    out.writeLongLE(namespaceId);
    out.writeShortLE(authToken.length);
    out.writeShortLE(0);
    out.writeBytes(authToken);
    return out;
  }

  /** Checks the body layout of the frame at {@code index}; returns null or what is wrong. */
  static String check(ByteBuf buf, int index, int length) {
    if (length < TOKEN_OFFSET) {
      return "HELLO shorter than " + TOKEN_OFFSET + " bytes";
    }
    int tokenLength = buf.getUnsignedShortLE(index + TOKEN_LENGTH_OFFSET);
    if (tokenLength > MAX_TOKEN_LENGTH) {
      return "auth token of " + tokenLength + " bytes exceeds " + MAX_TOKEN_LENGTH;
    }
    if (length != TOKEN_OFFSET + tokenLength) {
      return "HELLO length " + length + " does not match token length " + tokenLength;
    }
    if (buf.getUnsignedShortLE(index + RESERVED_OFFSET) != 0) {
      return "HELLO reserved field is not 0";
    }
    return null;
  }

  /** Lowest protocol version the client speaks. */
  public int minVersion() {
    return buffer.getUnsignedShortLE(offset + MIN_VERSION_OFFSET);
  }

  /** Highest protocol version the client speaks. */
  public int maxVersion() {
    return buffer.getUnsignedShortLE(offset + MAX_VERSION_OFFSET);
  }

  /** Longest frame the client accepts. */
  public long clientMaxFrameLength() {
    return buffer.getUnsignedIntLE(offset + CLIENT_MAX_FRAME_OFFSET);
  }

  /** The namespace this connection is bound to. */
  public long namespaceId() {
    return buffer.getLongLE(offset + NAMESPACE_ID_OFFSET);
  }

  /** Length of the auth token in bytes. */
  public int tokenLength() {
    return buffer.getUnsignedShortLE(offset + TOKEN_LENGTH_OFFSET);
  }

  /** A copy of the auth token (handshake only, so the copy is off the hot path). */
  public byte[] token() {
    byte[] token = new byte[tokenLength()];
    buffer.getBytes(offset + TOKEN_OFFSET, token);
    return token;
  }
}
