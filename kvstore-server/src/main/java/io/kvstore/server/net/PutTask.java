package io.kvstore.server.net;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.PutFlyweight;
import io.kvstore.client.protocol.PutOkFlyweight;
import io.kvstore.common.PageFormat;
import io.kvstore.core.store.BadPageException;
import io.kvstore.core.store.ForeignPageException;
import io.kvstore.core.tier.TierWriteException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;

/**
 * One PUT ({@code spec/3-wire-protocol.md} §3.4.2), run on the store executor: each page is checked
 * on its own and stored in order; the answer is PUT_OK with a status per page.
 *
 * <p>A page is handed to the store as a view of the received frame ({@link ByteBuf#nioBuffer(int,
 * int)} of the decoder's slice: a direct buffer when the allocator is direct), so its bytes go from
 * the socket buffer into tier memory with one copy and never through the Java heap.
 *
 * <p>Checks, cheapest first, each failing only its page: longer than the max page length →
 * PAGE_TOO_LARGE; bad magic, version or length → MALFORMED_PAGE; header CRC → BAD_CHECKSUM; a
 * namespace other than the connection's → NAMESPACE_DENIED; then the store verifies the payload CRC
 * (BAD_CHECKSUM) and stores it, or: no tier can take it → NO_SPACE; the key is held under another
 * namespace → NAMESPACE_DENIED (the held page is left as it was); a tier fails to write it →
 * NO_SPACE when the tier is out of space, STORAGE_ERROR otherwise. Any other failure ends the whole
 * PUT with an ERROR ({@link RequestHandler}); pages before it may be stored (a PUT is idempotent).
 */
final class PutTask {

  private PutTask() {}

  /**
   * Stores the pages of a PUT frame.
   *
   * @param frame the whole PUT frame, reader index at its first byte
   * @return the PUT_OK frame
   */
  static ByteBuf run(
      ByteBuf frame,
      long requestId,
      StoreOps store,
      long namespaceId,
      int maxPageLength,
      ServerContext context,
      ByteBufAllocator alloc) {
    PutFlyweight put = new PutFlyweight();
    put.wrap(frame);
    int count = put.pageCount();
    int[] statuses = new int[count];
    int cursor = put.firstPage();
    for (int i = 0; i < count; i++, cursor = put.nextPage(cursor)) {
      int length = put.pageLength(cursor);
      ByteBuffer page = frame.nioBuffer(put.pageIndex(cursor), length);
      statuses[i] = storeOne(page, store, namespaceId, maxPageLength);
      if (statuses[i] != ErrorCode.OK) {
        Errors.count(context, statuses[i]);
      }
    }
    return PutOkFlyweight.encode(alloc, requestId, count, statuses);
  }

  /** Checks and stores one page (position 0 to limit of {@code page}); returns its status. */
  static int storeOne(ByteBuffer page, StoreOps store, long namespaceId, int maxPageLength) {
    int length = page.remaining();
    if (length > maxPageLength) {
      return ErrorCode.PAGE_TOO_LARGE;
    }
    int header = PageFormat.verifyHeader(page, page.position(), length);
    if (header != PageFormat.OK) {
      return statusOf(header);
    }
    if (PageFormat.namespaceId(page, page.position()) != namespaceId) {
      return ErrorCode.NAMESPACE_DENIED;
    }
    try {
      return store.put(page) ? ErrorCode.OK : ErrorCode.NO_SPACE;
    } catch (BadPageException e) {
      return statusOf(e.code());
    } catch (ForeignPageException e) {
      return ErrorCode.NAMESPACE_DENIED;
    } catch (TierWriteException | UncheckedIOException e) {
      return Errors.codeOf(e);
    }
  }

  /**
   * Stores one page that the client may still be writing ({@code src}, a view of its shared
   * region) with {@link StoreOps#putCopyVerified}: the store reads it once and checks only its own
   * copy, so the statuses are those of {@link #storeOne}, decided on that copy.
   */
  static int storeCopyVerified(ByteBuffer src, StoreOps store, long namespaceId, int maxPageLength) {
    if (src.remaining() > maxPageLength) {
      return ErrorCode.PAGE_TOO_LARGE;
    }
    try {
      return store.putCopyVerified(src, namespaceId) ? ErrorCode.OK : ErrorCode.NO_SPACE;
    } catch (BadPageException e) {
      return statusOf(e.code());
    } catch (ForeignPageException e) {
      return ErrorCode.NAMESPACE_DENIED;
    } catch (TierWriteException | UncheckedIOException e) {
      return Errors.codeOf(e);
    }
  }

  /** The protocol status for a {@code PageFormat.ERR_*} code. */
  static int statusOf(int pageFormatError) {
    return pageFormatError == PageFormat.ERR_HEADER_CRC || pageFormatError == PageFormat.ERR_PAYLOAD_CRC
        ? ErrorCode.BAD_CHECKSUM
        : ErrorCode.MALFORMED_PAGE;
  }
}
