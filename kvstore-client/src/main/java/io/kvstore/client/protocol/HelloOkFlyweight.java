package io.kvstore.client.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * HELLO_OK (0x81): the daemon accepts the connection and announces its limits
 * ({@code spec/3-wire-protocol.md} §3.3).
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                         frame header                          |  0
 *  |                          (16 bytes)                           |
 *  +-------------------------------+-------------------------------+
 *  |      chosen version (u16)     |       reserved (u16 = 0)      | 16
 *  +-------------------------------+-------------------------------+
 *  |                daemon max frame length (u32)                  | 20
 *  +---------------------------------------------------------------+
 *  |                  max batch (u32, keys or pages)               | 24
 *  +---------------------------------------------------------------+
 *  |                   max page length (u32)                       | 28
 *  +---------------------------------------------------------------+
 *  |              max in-flight bytes per connection (u64)         | 32
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                      connection id (u64)                      | 40
 *  |                                                               |
 *  +---------------------------------------------------------------+  48
 * </pre>
 */
public final class HelloOkFlyweight extends Flyweight {

  public static final int VERSION_OFFSET = 16;
  public static final int RESERVED_OFFSET = 18;
  public static final int MAX_FRAME_OFFSET = 20;
  public static final int MAX_BATCH_OFFSET = 24;
  public static final int MAX_PAGE_OFFSET = 28;
  public static final int MAX_IN_FLIGHT_OFFSET = 32;
  public static final int CONNECTION_ID_OFFSET = 40;
  /** Length of a HELLO_OK frame. */
  public static final int LENGTH = 48;

  /** Encodes a HELLO_OK frame into a new buffer from {@code alloc}. */
  public static ByteBuf encode(
      ByteBufAllocator alloc,
      long requestId,
      int version,
      int maxFrameLength,
      int maxBatch,
      int maxPageLength,
      long maxInFlightBytes,
      long connectionId) {
    ByteBuf out = alloc.buffer(LENGTH);
    FrameDescriptor.writeHeader(out, LENGTH, Opcode.HELLO_OK, 0, requestId);
    out.writeShortLE(version);
    out.writeShortLE(0);
    out.writeIntLE(maxFrameLength);
    out.writeIntLE(maxBatch);
    out.writeIntLE(maxPageLength);
    out.writeLongLE(maxInFlightBytes);
    out.writeLongLE(connectionId);
    return out;
  }

  static String check(ByteBuf buf, int index, int length) {
    if (length != LENGTH) {
      return "HELLO_OK must be " + LENGTH + " bytes, got " + length;
    }
    if (buf.getUnsignedShortLE(index + RESERVED_OFFSET) != 0) {
      return "HELLO_OK reserved field is not 0";
    }
    return null;
  }

  /** The protocol version the daemon chose. */
  public int version() {
    return buffer.getUnsignedShortLE(offset + VERSION_OFFSET);
  }

  /** Longest frame the daemon accepts. */
  public long maxFrameLength() {
    return buffer.getUnsignedIntLE(offset + MAX_FRAME_OFFSET);
  }

  /** Most keys or pages in one request. */
  public long maxBatch() {
    return buffer.getUnsignedIntLE(offset + MAX_BATCH_OFFSET);
  }

  /** Longest page the daemon stores. */
  public long maxPageLength() {
    return buffer.getUnsignedIntLE(offset + MAX_PAGE_OFFSET);
  }

  /** Bytes of unanswered requests the daemon holds per connection before it stops reading. */
  public long maxInFlightBytes() {
    return buffer.getLongLE(offset + MAX_IN_FLIGHT_OFFSET);
  }

  /** The daemon's id for this connection (it appears in the daemon's logs). */
  public long connectionId() {
    return buffer.getLongLE(offset + CONNECTION_ID_OFFSET);
  }
}
