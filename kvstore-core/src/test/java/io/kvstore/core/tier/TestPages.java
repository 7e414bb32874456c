package io.kvstore.core.tier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.kvstore.common.PageFormat;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Test pages whose every byte can be checked from the page alone: the payload starts with the key
 * and continues with a pattern derived from (key, version), and the version is kept in the header's
 * token count. A torn, mixed or misplaced page fails {@link #check}.
 */
public final class TestPages {

  /** Namespace id written into every test page. */
  public static final long NAMESPACE = 7L;

  private TestPages() {}

  /** A root page (no parent). */
  public static ByteBuffer page(long keyHi, long keyLo, int version, int payloadLength) {
    return page(keyHi, keyLo, 0L, 0L, version, payloadLength);
  }

  /** A heap buffer holding one complete page, position 0, limit its length. */
  public static ByteBuffer page(
      long keyHi, long keyLo, long parentHi, long parentLo, int version, int payloadLength) {
    ByteBuffer buf =
        ByteBuffer.allocate(PageFormat.pageLength(payloadLength)).order(ByteOrder.LITTLE_ENDIAN);
    fillPayload(buf, PageFormat.HEADER_LENGTH, keyHi, keyLo, version, payloadLength);
    PageFormat.writeHeader(
        buf, 0, keyHi, keyLo, parentHi, parentLo, NAMESPACE, version, payloadLength);
    return buf;
  }

  /** Copies the page into {@code target} (cleared first); returns it flipped to hold just the page. */
  public static ByteBuffer copyInto(ByteBuffer page, ByteBuffer target) {
    target.clear();
    target.put(page.duplicate()).flip();
    return target;
  }

  /**
   * Checks that {@code buf[offset, offset + length)} is exactly a test page for the given key: both
   * checksums, the key, and every payload byte.
   *
   * @return the page's version
   */
  public static int check(ByteBuffer buf, int offset, int length, long keyHi, long keyLo) {
    int code = PageFormat.verify(buf, offset, length);
    if (code != PageFormat.OK) {
      fail("page of key " + keyHi + "/" + keyLo + " is not intact: " + PageFormat.describe(code));
    }
    assertEquals(keyHi, PageFormat.keyHi(buf, offset), "key hi");
    assertEquals(keyLo, PageFormat.keyLo(buf, offset), "key lo");
    assertEquals(NAMESPACE, PageFormat.namespaceId(buf, offset), "namespace");
    int version = PageFormat.tokenCount(buf, offset);
    int payloadLength = PageFormat.payloadLength(buf, offset);
    int start = offset + PageFormat.HEADER_LENGTH;
    for (int i = 0; i < payloadLength; i++) {
      byte expected = payloadByte(keyHi, keyLo, version, i);
      if (buf.get(start + i) != expected) {
        fail("payload byte " + i + " of key " + keyHi + "/" + keyLo + " v" + version + " differs");
      }
    }
    return version;
  }

  /** {@link #check} of a whole buffer from position 0 to its limit. */
  public static int check(ByteBuffer page, long keyHi, long keyLo) {
    return check(page, 0, page.limit(), keyHi, keyLo);
  }

  private static void fillPayload(
      ByteBuffer buf, int start, long keyHi, long keyLo, int version, int payloadLength) {
    for (int i = 0; i < payloadLength; i++) {
      buf.put(start + i, payloadByte(keyHi, keyLo, version, i));
    }
  }

  /** Byte i of the payload: the key's 16 bytes first, then a (key, version, i) hash. */
  private static byte payloadByte(long keyHi, long keyLo, int version, int i) {
    if (i < 8) {
      return (byte) (keyHi >>> (8 * i));
    }
    if (i < 16) {
      return (byte) (keyLo >>> (8 * (i - 8)));
    }
    long h = keyHi * 0x9E3779B97F4A7C15L + keyLo * 0xC2B2AE3D27D4EB4FL + version * 0x165667B1L + i;
    h ^= h >>> 29;
    h *= 0xBF58476D1CE4E5B9L;
    return (byte) (h ^ (h >>> 32));
  }
}
