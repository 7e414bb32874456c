package io.kvstore.core.tier.internal;

import io.kvstore.common.PageFormat;
import java.nio.ByteBuffer;

/** Argument checks shared by the tiers' {@code put}. */
public final class PageChecks {

  private PageChecks() {}

  /**
   * The length of the page {@code src[position, limit)}, after checking that it is one whole page:
   * at least a header, and exactly as long as its header says. The checksums are the caller's
   * business (pages are verified where they enter the store).
   *
   * @throws IllegalArgumentException if it is not
   */
  public static int wholePageLength(ByteBuffer src) {
    int pageLength = src.remaining();
    if (pageLength < PageFormat.HEADER_LENGTH) {
      throw new IllegalArgumentException(
          "a page is at least " + PageFormat.HEADER_LENGTH + " bytes, got " + pageLength);
    }
    int payloadLength = PageFormat.payloadLength(src, src.position());
    if (payloadLength != pageLength - PageFormat.HEADER_LENGTH) {
      throw new IllegalArgumentException(
          "page header says " + payloadLength + " payload bytes, buffer holds "
              + (pageLength - PageFormat.HEADER_LENGTH));
    }
    return pageLength;
  }
}
