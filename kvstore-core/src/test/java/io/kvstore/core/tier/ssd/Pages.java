package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.PageFormat;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/** Test pages whose payload is a function of (key, version), so any reader can check the bytes. */
final class Pages {

  private Pages() {}

  /** A direct page with a payload of {@code payloadLength} bytes; version goes in the namespace id. */
  static ByteBuffer page(long hi, long lo, long parentHi, long parentLo, int payloadLength, long version) {
    ByteBuffer buf =
        ByteBuffer.allocateDirect(PageFormat.pageLength(payloadLength)).order(ByteOrder.LITTLE_ENDIAN);
    fill(buf, hi, lo, parentHi, parentLo, payloadLength, version);
    return buf;
  }

  /** The same page in a heap buffer. */
  static ByteBuffer heapPage(long hi, long lo, int payloadLength, long version) {
    ByteBuffer buf = ByteBuffer.allocate(PageFormat.pageLength(payloadLength));
    fill(buf, hi, lo, 0, 0, payloadLength, version);
    return buf;
  }

  static ByteBuffer page(long hi, long lo, int payloadLength) {
    return page(hi, lo, 0, 0, payloadLength, 0);
  }

  /**
   * Asserts that {@code tier} serves page {@code k} (key (k, k), version k, no parent) with a
   * payload of {@code payloadLength} bytes, byte for byte.
   */
  static void assertServes(SsdTier tier, long k, int payloadLength) {
    int len = PageFormat.pageLength(payloadLength);
    ByteBuffer dst = ByteBuffer.allocateDirect(len);
    assertEquals(len, tier.get(k, k, dst), "page " + k);
    assertTrue(sameBytes(page(k, k, 0, 0, payloadLength, k), dst, 0, len), "bytes of page " + k);
  }

  private static void fill(
      ByteBuffer buf, long hi, long lo, long parentHi, long parentLo, int payloadLength, long version) {
    SplittableRandom rnd = new SplittableRandom(hi * 31 + lo * 17 + version);
    for (int i = PageFormat.HEADER_LENGTH; i + 8 <= buf.capacity(); i += 8) {
      buf.putLong(i, rnd.nextLong());
    }
    for (int i = buf.capacity() & ~7; i < buf.capacity(); i++) {
      if (i >= PageFormat.HEADER_LENGTH) {
        buf.put(i, (byte) rnd.nextInt());
      }
    }
    PageFormat.writeHeader(buf, 0, hi, lo, parentHi, parentLo, version, 16, payloadLength);
  }

  /** Whether {@code a[0, a.limit())} and {@code b} at {@code bPos} hold the same bytes. */
  static boolean sameBytes(ByteBuffer expected, ByteBuffer actual, int actualPos, int len) {
    if (expected.remaining() != len) {
      return false;
    }
    for (int i = 0; i < len; i++) {
      if (expected.get(expected.position() + i) != actual.get(actualPos + i)) {
        return false;
      }
    }
    return true;
  }
}
