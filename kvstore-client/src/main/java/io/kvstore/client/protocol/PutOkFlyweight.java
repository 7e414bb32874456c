package io.kvstore.client.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * PUT_OK (0x85): the status of every page of a PUT ({@code spec/3-wire-protocol.md} §3.4.2).
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                         frame header                          |  0
 *  |                          (16 bytes)                           |
 *  +---------------------------------------------------------------+
 *  |                   page count (u32, as sent)                   | 16
 *  +---------------------------------------------------------------+
 *  |                      stored count (u32)                       | 20
 *  +-------------------------------+-------------------------------+
 *  |   status of page 0 (u16)      |   status of page 1 (u16)      | 24
 *  +-------------------------------+-------------------------------+
 *  |                   ... page count statuses ...                ...
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>A status is {@link ErrorCode#OK} (stored) or an {@link ErrorCode}.
 */
public final class PutOkFlyweight extends Flyweight {

  public static final int PAGE_COUNT_OFFSET = 16;
  public static final int STORED_COUNT_OFFSET = 20;
  public static final int STATUS_OFFSET = 24;

  /** Encodes PUT_OK from the first {@code pageCount} entries of {@code statuses}. */
  public static ByteBuf encode(
      ByteBufAllocator alloc, long requestId, int pageCount, int[] statuses) {
    if (pageCount < 0 || pageCount > statuses.length) {
      throw new IllegalArgumentException("page count out of range: " + pageCount);
    }
    int stored = 0;
    for (int i = 0; i < pageCount; i++) {
      if (statuses[i] < 0 || statuses[i] > 0xFFFF) {
        throw new IllegalArgumentException("status " + statuses[i] + " is not a u16");
      }
      if (statuses[i] == ErrorCode.OK) {
        stored++;
      }
    }
    int length = STATUS_OFFSET + 2 * pageCount;
    ByteBuf out = alloc.buffer(length);
    FrameDescriptor.writeHeader(out, length, Opcode.PUT_OK, 0, requestId);
    out.writeIntLE(pageCount);
    out.writeIntLE(stored);
    for (int i = 0; i < pageCount; i++) {
      out.writeShortLE(statuses[i]);
    }
    return out;
  }

  static String check(ByteBuf buf, int index, int length) {
    if (length < STATUS_OFFSET) {
      return "PUT_OK shorter than " + STATUS_OFFSET + " bytes";
    }
    long count = buf.getUnsignedIntLE(index + PAGE_COUNT_OFFSET);
    if (length != STATUS_OFFSET + 2 * count) {
      return "PUT_OK of " + count + " pages must be " + (STATUS_OFFSET + 2 * count)
          + " bytes, got " + length;
    }
    long stored = 0;
    for (int i = 0; i < count; i++) {
      if (buf.getUnsignedShortLE(index + STATUS_OFFSET + 2 * i) == ErrorCode.OK) {
        stored++;
      }
    }
    if (stored != buf.getUnsignedIntLE(index + STORED_COUNT_OFFSET)) {
      return "PUT_OK stored count disagrees with its " + stored + " OK statuses";
    }
    return null;
  }

  /** Number of pages in the PUT this answers. */
  public int pageCount() {
    return buffer.getIntLE(offset + PAGE_COUNT_OFFSET);
  }

  /** Number of pages stored. */
  public int storedCount() {
    return buffer.getIntLE(offset + STORED_COUNT_OFFSET);
  }

  /** Status of page {@code i}: {@link ErrorCode#OK} or the reason it was not stored. */
  public int status(int i) {
    if (i < 0 || i >= pageCount()) {
      throw new IndexOutOfBoundsException("page " + i + " of " + pageCount());
    }
    return buffer.getUnsignedShortLE(offset + STATUS_OFFSET + 2 * i);
  }
}
