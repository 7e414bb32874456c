package io.kvstore.client.protocol;

import io.netty.buffer.ByteBuf;

/**
 * The 16-byte header every frame starts with ({@code spec/3-wire-protocol.md} §3.1), as static
 * offsets and accessors over a {@link ByteBuf} at an absolute frame start.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |              frame length (u32, header included)              |  0
 *  +---------------+---------------+-------------------------------+
 *  |  opcode (u8)  |  flags (u8)   |        reserved (u16 = 0)     |  4
 *  +---------------+---------------+-------------------------------+
 *  |                        request id (u64)                       |  8
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                     body (frame length - 16)                 ... 16
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>All integers are little-endian. Accessors take absolute indexes and never move the buffer's
 * reader or writer index.
 */
public final class FrameDescriptor {

  public static final int FRAME_LENGTH_OFFSET = 0;
  public static final int OPCODE_OFFSET = 4;
  public static final int FLAGS_OFFSET = 5;
  public static final int RESERVED_OFFSET = 6;
  public static final int REQUEST_ID_OFFSET = 8;
  /** Length of the header; the body starts here. Also the smallest valid frame length. */
  public static final int HEADER_LENGTH = 16;

  /**
   * The newest protocol version this code speaks (spec §3.3): version 2 adds SHM_RELEASE's QUIET
   * flag (spec/4 §4.3) to version 1.
   */
  public static final int PROTOCOL_VERSION = 2;

  /** The oldest protocol version this code speaks; it speaks every version up to the newest. */
  public static final int MIN_PROTOCOL_VERSION = 1;

  /** The first version in which SHM_RELEASE may carry flag QUIET. */
  public static final int QUIET_RELEASE_VERSION = 2;

  /** Request id reserved for errors about the connection rather than one request. */
  public static final long CONNECTION_REQUEST_ID = 0L;

  /** Default max frame length (spec §3.6): 64 MiB. */
  public static final int DEFAULT_MAX_FRAME_LENGTH = 64 << 20;
  /** The smallest max frame length a peer may announce. */
  public static final int MIN_MAX_FRAME_LENGTH = 4096;

  private FrameDescriptor() {}

  /** Writes a header at the writer index and advances it by {@link #HEADER_LENGTH}. */
  public static void writeHeader(ByteBuf out, int frameLength, int opcode, int flags, long requestId) {
    out.writeIntLE(frameLength);
    out.writeByte(opcode);
    out.writeByte(flags);
    out.writeShortLE(0);
    out.writeLongLE(requestId);
  }

  /** The frame length field of the frame at {@code frameIndex}, as an unsigned value. */
  public static long frameLength(ByteBuf buf, int frameIndex) {
    return buf.getUnsignedIntLE(frameIndex + FRAME_LENGTH_OFFSET);
  }

  /** The opcode of the frame at {@code frameIndex}. */
  public static int opcode(ByteBuf buf, int frameIndex) {
    return buf.getUnsignedByte(frameIndex + OPCODE_OFFSET);
  }

  /** The flags of the frame at {@code frameIndex}. */
  public static int flags(ByteBuf buf, int frameIndex) {
    return buf.getUnsignedByte(frameIndex + FLAGS_OFFSET);
  }

  /** The reserved field of the frame at {@code frameIndex} (must be 0). */
  public static int reserved(ByteBuf buf, int frameIndex) {
    return buf.getUnsignedShortLE(frameIndex + RESERVED_OFFSET);
  }

  /** The request id of the frame at {@code frameIndex}. */
  public static long requestId(ByteBuf buf, int frameIndex) {
    return buf.getLongLE(frameIndex + REQUEST_ID_OFFSET);
  }
}
