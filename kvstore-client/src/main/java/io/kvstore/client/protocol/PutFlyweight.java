package io.kvstore.client.protocol;

import io.kvstore.common.PageFormat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;

/**
 * PUT (0x05): a batch of whole pages, each behind its own length ({@code spec/3-wire-protocol.md}
 * §3.4.2).
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                         frame header                          |  0
 *  |                          (16 bytes)                           |
 *  +---------------------------------------------------------------+
 *  |                        page count (u32)                       | 16
 *  +---------------------------------------------------------------+
 *  |                       reserved (u32 = 0)                      | 20
 *  +---------------------------------------------------------------+
 *  |                     page 0 length (u32)                       | 24
 *  +---------------------------------------------------------------+
 *  |                page 0 (header + payload)                    ...
 *  +---------------------------------------------------------------+
 *  |                     page 1 length (u32)                       |
 *  +---------------------------------------------------------------+
 *  |                page 1 (header + payload)                    ...
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>Encoding does not copy pages: the frame is a composite of small length prefixes and the
 * callers' buffers wrapped in place, so page bytes go from (off-heap) memory to the socket as they
 * are. Decoding walks the pages with a cursor: {@link #firstPage()}, {@link #pageLength(int)},
 * {@link #pageIndex(int)}, {@link #nextPage(int)}.
 */
public final class PutFlyweight extends Flyweight {

  public static final int PAGE_COUNT_OFFSET = 16;
  public static final int RESERVED_OFFSET = 20;
  public static final int PAGES_OFFSET = 24;
  /** Bytes of the length before each page. */
  public static final int PAGE_LENGTH_PREFIX = 4;

  /** Frame length of a PUT whose pages add up to {@code totalPageBytes} bytes. */
  public static long frameLength(int pageCount, long totalPageBytes) {
    return PAGES_OFFSET + (long) PAGE_LENGTH_PREFIX * pageCount + totalPageBytes;
  }

  /**
   * Encodes a PUT of {@code pages[from, from + count)}, each page being the bytes between its
   * position and limit. The pages are wrapped, not copied: they must not change until the write
   * has completed. Their positions and limits are not moved.
   */
  public static ByteBuf encode(
      ByteBufAllocator alloc, long requestId, ByteBuffer[] pages, int from, int count) {
    if (from < 0 || count < 0 || from + count > pages.length) {
      throw new IndexOutOfBoundsException(
          "pages [" + from + ", " + from + "+" + count + ") of " + pages.length);
    }
    long total = 0;
    for (int i = from; i < from + count; i++) {
      int length = pages[i].remaining();
      if (length < PageFormat.HEADER_LENGTH) {
        throw new IllegalArgumentException(
            "page " + i + " has " + length + " bytes, less than a page header");
      }
      total += length;
    }
    long frameLength = frameLength(count, total);
    if (frameLength > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("PUT of " + frameLength + " bytes does not fit a frame");
    }
    ByteBuf prefixes = alloc.buffer(PAGES_OFFSET + PAGE_LENGTH_PREFIX * count);
    FrameDescriptor.writeHeader(prefixes, (int) frameLength, Opcode.PUT, 0, requestId);
    prefixes.writeIntLE(count);
    prefixes.writeIntLE(0);
    for (int i = from; i < from + count; i++) {
      prefixes.writeIntLE(pages[i].remaining());
    }
    // Enough components that Netty never consolidates (which would copy every page).
    CompositeByteBuf frame = alloc.compositeBuffer(2 * count + 2);
    frame.addComponent(true, prefixes.retainedSlice(0, PAGES_OFFSET));
    for (int i = 0; i < count; i++) {
      int lengthIndex = PAGES_OFFSET + PAGE_LENGTH_PREFIX * i;
      frame.addComponent(true, prefixes.retainedSlice(lengthIndex, PAGE_LENGTH_PREFIX));
      frame.addComponent(true, Unpooled.wrappedBuffer(pages[from + i].duplicate()));
    }
    prefixes.release();
    return frame;
  }

  /**
   * Encodes a PUT whose page {@code i} is the 64-byte page header at {@code pageHeaders[headersOffset
   * + 64 i, +64)} followed by the payload {@code payloads[from + i]} (position to limit). Headers
   * are copied (64 bytes each); payloads are wrapped, not copied, and must not change until the
   * write has completed. Lets a caller send pages whose payload lives apart from its header (the
   * SDK's token API writes headers for payloads the engine hands it).
   */
  public static ByteBuf encode(
      ByteBufAllocator alloc,
      long requestId,
      byte[] pageHeaders,
      int headersOffset,
      ByteBuffer[] payloads,
      int from,
      int count) {
    if (from < 0 || count < 0 || from + count > payloads.length) {
      throw new IndexOutOfBoundsException(
          "payloads [" + from + ", " + from + "+" + count + ") of " + payloads.length);
    }
    if (headersOffset < 0
        || headersOffset + (long) PageFormat.HEADER_LENGTH * count > pageHeaders.length) {
      throw new IndexOutOfBoundsException("page headers too short for " + count + " pages");
    }
    long total = 0;
    for (int i = from; i < from + count; i++) {
      total += PageFormat.HEADER_LENGTH + (long) payloads[i].remaining();
    }
    long frameLength = frameLength(count, total);
    if (frameLength > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("PUT of " + frameLength + " bytes does not fit a frame");
    }
    int perPage = PAGE_LENGTH_PREFIX + PageFormat.HEADER_LENGTH;
    ByteBuf prefixes = alloc.buffer(PAGES_OFFSET + perPage * count);
    FrameDescriptor.writeHeader(prefixes, (int) frameLength, Opcode.PUT, 0, requestId);
    prefixes.writeIntLE(count);
    prefixes.writeIntLE(0);
    for (int i = 0; i < count; i++) {
      prefixes.writeIntLE(PageFormat.HEADER_LENGTH + payloads[from + i].remaining());
      prefixes.writeBytes(
          pageHeaders, headersOffset + PageFormat.HEADER_LENGTH * i, PageFormat.HEADER_LENGTH);
    }
    CompositeByteBuf frame = alloc.compositeBuffer(2 * count + 2);
    frame.addComponent(true, prefixes.retainedSlice(0, PAGES_OFFSET));
    for (int i = 0; i < count; i++) {
      frame.addComponent(true, prefixes.retainedSlice(PAGES_OFFSET + perPage * i, perPage));
      if (payloads[from + i].hasRemaining()) {
        frame.addComponent(true, Unpooled.wrappedBuffer(payloads[from + i].duplicate()));
      }
    }
    prefixes.release();
    return frame;
  }

  static String check(ByteBuf buf, int index, int length) {
    if (length < PAGES_OFFSET) {
      return "PUT shorter than " + PAGES_OFFSET + " bytes";
    }
    if (buf.getIntLE(index + RESERVED_OFFSET) != 0) {
      return "PUT reserved field is not 0";
    }
    long count = buf.getUnsignedIntLE(index + PAGE_COUNT_OFFSET);
    long cursor = PAGES_OFFSET;
    for (long i = 0; i < count; i++) {
      if (cursor + PAGE_LENGTH_PREFIX > length) {
        return "PUT ends before the length of page " + i + " of " + count;
      }
      long pageLength = buf.getUnsignedIntLE(index + (int) cursor);
      if (pageLength < PageFormat.HEADER_LENGTH) {
        return "PUT page " + i + " length " + pageLength + " is less than a page header";
      }
      cursor += PAGE_LENGTH_PREFIX + pageLength;
      if (cursor > length) {
        return "PUT page " + i + " of " + pageLength + " bytes runs past the frame";
      }
    }
    if (cursor != length) {
      return "PUT has " + (length - cursor) + " bytes after its " + count + " pages";
    }
    return null;
  }

  /** Number of pages in the batch. */
  public int pageCount() {
    return buffer.getIntLE(offset + PAGE_COUNT_OFFSET);
  }

  /** Cursor of the first page (meaningless when {@link #pageCount()} is 0). */
  public int firstPage() {
    return offset + PAGES_OFFSET;
  }

  /** Length of the page at {@code cursor}. */
  public int pageLength(int cursor) {
    return buffer.getIntLE(cursor);
  }

  /** Absolute index of the first byte of the page at {@code cursor}. */
  public int pageIndex(int cursor) {
    return cursor + PAGE_LENGTH_PREFIX;
  }

  /** Cursor of the page after the one at {@code cursor}. */
  public int nextPage(int cursor) {
    return cursor + PAGE_LENGTH_PREFIX + pageLength(cursor);
  }
}
