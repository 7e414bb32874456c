package io.kvstore.client;

import io.kvstore.common.PageFormat;
import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Copies a received page into the caller's buffer and verifies its checksums in the same pass: the
 * payload is copied in chunks of {@link #CHUNK_BYTES}, each checksummed right after it is copied,
 * while it is still in the CPU cache. Copying the whole page and then reading it all again for the
 * CRC would move every byte through memory twice; for a 2 MiB page (larger than a core's cache)
 * that second pass is most of the cost of a check.
 */
final class PageCopy {

  /** Bytes copied, then checksummed, at a time: well within a core's L2 cache. */
  static final int CHUNK_BYTES = 64 << 10;

  private PageCopy() {}

  /**
   * Copies {@code length} bytes of {@code src} from {@code srcIndex} into {@code dst} at {@code
   * position} (position and limit of {@code dst} are left as they were; the caller has checked the
   * room). With {@code verify}, checks the copy as {@link PageFormat#verify} would, and returns its
   * code; without, returns {@link PageFormat#OK}. A page that fails may have been copied in part or
   * in full: the caller treats it as a miss.
   */
  static int copyAndVerify(ByteBuf src, int srcIndex, ByteBuffer dst, int position, int length,
      boolean verify) {
    ByteBuffer view = dst.duplicate();
    if (!verify) {
      view.limit(position + length).position(position);
      src.getBytes(srcIndex, view);
      return PageFormat.OK;
    }
    if (length < PageFormat.HEADER_LENGTH) {
      return PageFormat.ERR_TOO_SHORT;
    }
    view.limit(position + PageFormat.HEADER_LENGTH).position(position);
    src.getBytes(srcIndex, view);
    int header = PageFormat.verifyHeader(dst, position, length);
    if (header != PageFormat.OK) {
      return header;
    }
    if (PageFormat.HEADER_LENGTH + PageFormat.payloadLength(dst, position) != length) {
      return PageFormat.ERR_LENGTH;
    }
    CRC32C crc = new CRC32C();
    for (int done = PageFormat.HEADER_LENGTH; done < length; ) {
      int n = Math.min(CHUNK_BYTES, length - done);
      int at = position + done;
      view.limit(at + n).position(at);
      src.getBytes(srcIndex + done, view);
      view.position(at);
      crc.update(view); // the chunk just copied, still in cache
      done += n;
    }
    return (int) crc.getValue() == PageFormat.getIntLE(dst, position + PageFormat.PAYLOAD_CRC_OFFSET)
        ? PageFormat.OK
        : PageFormat.ERR_PAYLOAD_CRC;
  }
}
