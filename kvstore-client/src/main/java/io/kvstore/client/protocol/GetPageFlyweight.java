package io.kvstore.client.protocol;

import io.kvstore.common.PageFormat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;

/**
 * GET_PAGE (0xC4): one page found for a GET, sent as soon as it is found
 * ({@code spec/3-wire-protocol.md} §3.4.1).
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                         frame header                          |  0
 *  |                          (16 bytes)                           |
 *  +---------------------------------------------------------------+
 *  |        key index (u32, position of the key in the GET)        | 16
 *  +---------------------------------------------------------------+
 *  |                      reserved (u32 = 0)                       | 20
 *  +---------------------------------------------------------------+
 *  |          page: 64-byte page header + payload (spec 2)        ... 24
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>The page is not copied by this class: the sender appends the stored page as its own buffer
 * ({@link #encode(ByteBufAllocator, long, int, ByteBuf)}), and the receiver reads it in place at
 * {@link #pageIndex()}.
 */
public final class GetPageFlyweight extends Flyweight {

  public static final int KEY_INDEX_OFFSET = 16;
  public static final int RESERVED_OFFSET = 20;
  public static final int PAGE_OFFSET = 24;

  /** Frame length of a GET_PAGE carrying a page of {@code pageLength} bytes. */
  public static long frameLength(int pageLength) {
    return PAGE_OFFSET + (long) pageLength;
  }

  /** Writes the 24-byte prefix of a GET_PAGE whose page of {@code pageLength} bytes follows. */
  public static void writePrefix(ByteBuf out, long requestId, int keyIndex, int pageLength) {
    FrameDescriptor.writeHeader(
        out, PAGE_OFFSET + pageLength, Opcode.GET_PAGE, 0, requestId);
    out.writeIntLE(keyIndex);
    out.writeIntLE(0);
  }

  /**
   * A GET_PAGE frame made of a fresh 24-byte prefix and {@code page} itself (its readable bytes),
   * without copying the page. Takes ownership of {@code page}: it is released with the frame.
   */
  public static ByteBuf encode(ByteBufAllocator alloc, long requestId, int keyIndex, ByteBuf page) {
    ByteBuf prefix = alloc.buffer(PAGE_OFFSET);
    writePrefix(prefix, requestId, keyIndex, page.readableBytes());
    CompositeByteBuf frame = alloc.compositeBuffer(2);
    frame.addComponent(true, prefix);
    frame.addComponent(true, page);
    return frame;
  }

  static String check(ByteBuf buf, int index, int length) {
    if (length < PAGE_OFFSET + PageFormat.HEADER_LENGTH) {
      return "GET_PAGE of " + length + " bytes cannot hold a page header";
    }
    if (buf.getIntLE(index + RESERVED_OFFSET) != 0) {
      return "GET_PAGE reserved field is not 0";
    }
    return null;
  }

  /** Position of the page's key in the GET request. */
  public int keyIndex() {
    return buffer.getIntLE(offset + KEY_INDEX_OFFSET);
  }

  /** Absolute index of the page's first byte in {@link #buffer()}. */
  public int pageIndex() {
    return offset + PAGE_OFFSET;
  }

  /** Length of the page (header + payload). */
  public int pageLength() {
    return frameLength() - PAGE_OFFSET;
  }

  /** Key hi from the page header, read in place. */
  public long pageKeyHi() {
    return buffer.getLongLE(pageIndex() + PageFormat.KEY_HI_OFFSET);
  }

  /** Key lo from the page header, read in place. */
  public long pageKeyLo() {
    return buffer.getLongLE(pageIndex() + PageFormat.KEY_LO_OFFSET);
  }
}
