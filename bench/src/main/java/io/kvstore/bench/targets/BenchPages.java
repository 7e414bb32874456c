package io.kvstore.bench.targets;

import io.kvstore.common.PageFormat;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;

/**
 * Builds and checks the pages kvbench stores: real pages ({@code spec/2-page-format.md}: 64-byte
 * header + payload). The payload is a random template (so nothing compresses it) whose first 16
 * bytes are overwritten with the page's key, so every page has its own payload checksum; building a
 * page is one memory copy plus the checksums, as in an engine's SDK.
 */
public final class BenchPages {

  private BenchPages() {}

  /** A direct buffer of {@code payloadBytes} random bytes from {@code seed}: the payload template. */
  public static ByteBuffer payloadTemplate(int payloadBytes, long seed) {
    ByteBuffer b = ByteBuffer.allocateDirect(payloadBytes);
    SplittableRandom r = new SplittableRandom(seed);
    int i = 0;
    for (; i + 8 <= payloadBytes; i += 8) {
      b.putLong(i, r.nextLong());
    }
    for (; i < payloadBytes; i++) {
      b.put(i, (byte) r.nextInt());
    }
    return b;
  }

  /**
   * Writes the page of key {@code (hi, lo)} into {@code dst} from index 0 and sets its position to 0
   * and its limit to the page length.
   *
   * @param template a payload template of at least {@code payloadBytes} bytes (index 0 on)
   */
  public static void build(
      ByteBuffer dst,
      ByteBuffer template,
      long hi,
      long lo,
      long parentHi,
      long parentLo,
      long namespaceId,
      int tokenCount,
      int payloadBytes) {
    int length = PageFormat.pageLength(payloadBytes);
    dst.clear();
    dst.put(PageFormat.HEADER_LENGTH, template, 0, payloadBytes);
    if (payloadBytes >= 16) {
      PageFormat.putLongLE(dst, PageFormat.HEADER_LENGTH, hi);
      PageFormat.putLongLE(dst, PageFormat.HEADER_LENGTH + 8, lo);
    }
    PageFormat.writeHeader(dst, 0, hi, lo, parentHi, parentLo, namespaceId, tokenCount, payloadBytes);
    dst.limit(length);
  }

  /**
   * Whether {@code page[position, limit)} is an intact page of {@code pageLength} bytes for key
   * {@code (hi, lo)} in namespace {@code namespaceId}: length, magic, version, both checksums, key
   * and namespace.
   */
  public static boolean verify(ByteBuffer page, long hi, long lo, long namespaceId, int pageLength) {
    int at = page.position();
    return page.remaining() == pageLength
        && PageFormat.verify(page, at, pageLength) == PageFormat.OK
        && PageFormat.keyHi(page, at) == hi
        && PageFormat.keyLo(page, at) == lo
        && PageFormat.namespaceId(page, at) == namespaceId;
  }
}
