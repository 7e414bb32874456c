package io.kvstore.common;

import static io.kvstore.common.PageFormat.ERR_BAD_MAGIC;
import static io.kvstore.common.PageFormat.ERR_BAD_VERSION;
import static io.kvstore.common.PageFormat.ERR_HEADER_CRC;
import static io.kvstore.common.PageFormat.ERR_LENGTH;
import static io.kvstore.common.PageFormat.ERR_PAYLOAD_CRC;
import static io.kvstore.common.PageFormat.ERR_TOO_SHORT;
import static io.kvstore.common.PageFormat.HEADER_LENGTH;
import static io.kvstore.common.PageFormat.OK;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class PageFormatTest {

  /** spec/2-page-format.md section 2.5, computed by spec/vectors/page_vector.py. */
  private static final String SPEC_PAGE_HEX =
      "4b56504701000000a8e3b5db57812b03"
          + "d5a070482b548d1b0000000000000000"
          + "0000000000000000ae5aa766248f33ef"
          + "1000000010000000137534bc57b3d6a4"
          + "4b562062797465732c20313620422e21";

  private static final BlockKey KEY = BlockKey.fromHex("032b8157dbb5e3a81b8d542b4870a0d5");
  private static final BlockKey PARENT = BlockKey.fromHex("00112233445566778899aabbccddeeff");
  private static final long NS_ID = 0xef338f2466a75aaeL;

  /** Writes a page with {@code payload} at {@code offset} of a fresh buffer of the given kind. */
  private static ByteBuffer page(byte[] payload, int offset, boolean direct, ByteOrder order,
      BlockKey parent, int tokenCount) {
    int length = PageFormat.pageLength(payload.length);
    ByteBuffer buf = (direct ? ByteBuffer.allocateDirect(offset + length + 8)
        : ByteBuffer.allocate(offset + length + 8)).order(order);
    buf.put(offset + HEADER_LENGTH, payload);
    PageFormat.writeHeader(buf, offset, KEY.hi(), KEY.lo(), parent.hi(), parent.lo(), NS_ID,
        tokenCount, payload.length);
    return buf;
  }

  private static byte[] bytes(ByteBuffer buf, int offset, int length) {
    byte[] out = new byte[length];
    buf.get(offset, out);
    return out;
  }

  @Test
  void shouldWriteTheSameHeaderForAPayloadHeldElsewhere() {
    for (int payloadLength : new int[] {0, 1, 63, 4096}) {
      ByteBuffer page = ByteBuffer.allocate(HEADER_LENGTH + payloadLength).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < payloadLength; i++) {
        page.put(HEADER_LENGTH + i, (byte) (i * 13 + payloadLength));
      }
      PageFormat.writeHeader(page, 0, 11, 22, 33, 44, 55, 16, payloadLength);

      // The payload alone, in a big-endian direct buffer at a non-zero position; the header goes
      // into a big-endian heap array at an offset, as the SDK's token API writes it.
      ByteBuffer payload = ByteBuffer.allocateDirect(payloadLength + 5);
      payload.position(5);
      payload.put(page.duplicate().position(HEADER_LENGTH));
      payload.position(5);
      int crc = PageFormat.crc32c(payload, 5, payloadLength);
      ByteBuffer out = ByteBuffer.wrap(new byte[HEADER_LENGTH + 3]);
      PageFormat.writeHeader(out, 3, 11, 22, 33, 44, 55, 16, payloadLength, crc);

      byte[] expected = new byte[HEADER_LENGTH];
      page.get(0, expected);
      byte[] actual = new byte[HEADER_LENGTH];
      out.get(3, actual);
      assertArrayEquals(expected, actual, "payload length " + payloadLength);
      assertEquals(5, payload.position(), "the payload's position must not move");
    }
  }

  @Test
  void shouldMatchTheSpecVector() {
    byte[] payload = "KV bytes, 16 B.!".getBytes(StandardCharsets.US_ASCII);
    ByteBuffer buf = page(payload, 0, false, ByteOrder.LITTLE_ENDIAN, BlockKey.ROOT_PARENT, 16);
    assertEquals(SPEC_PAGE_HEX, HexFormat.of().formatHex(bytes(buf, 0, 80)));

    ByteBuffer spec = ByteBuffer.wrap(HexFormat.of().parseHex(SPEC_PAGE_HEX));
    assertEquals(OK, PageFormat.verify(spec, 0, 80));
    assertEquals(KEY, new BlockKey(PageFormat.keyHi(spec, 0), PageFormat.keyLo(spec, 0)));
    assertEquals(0xbc347513, PageFormat.payloadCrc(spec, 0));
    assertEquals(0xa4d6b357, PageFormat.headerCrc(spec, 0));
  }

  @Test
  void shouldRoundTripEveryFieldAtAnOffset() {
    byte[] payload = new byte[1000];
    for (int i = 0; i < payload.length; i++) {
      payload[i] = (byte) (i * 31);
    }
    ByteBuffer buf = page(payload, 13, true, ByteOrder.BIG_ENDIAN, PARENT, 256);
    int position = buf.position();
    int limit = buf.limit();
    assertEquals(OK, PageFormat.verify(buf, 13, 1064));
    assertEquals(OK, PageFormat.verifyHeader(buf, 13, 1064));
    assertEquals(KEY.hi(), PageFormat.keyHi(buf, 13));
    assertEquals(KEY.lo(), PageFormat.keyLo(buf, 13));
    assertEquals(PARENT.hi(), PageFormat.parentHi(buf, 13));
    assertEquals(PARENT.lo(), PageFormat.parentLo(buf, 13));
    assertEquals(NS_ID, PageFormat.namespaceId(buf, 13));
    assertEquals(256, PageFormat.tokenCount(buf, 13));
    assertEquals(1000, PageFormat.payloadLength(buf, 13));
    assertEquals(PageFormat.VERSION, PageFormat.version(buf, 13));
    assertEquals(0, PageFormat.flags(buf, 13));
    assertArrayEquals(payload, bytes(buf, 13 + HEADER_LENGTH, 1000));
    assertEquals(position, buf.position(), "position untouched");
    assertEquals(limit, buf.limit(), "limit untouched");
  }

  @Test
  void shouldWriteTheSameBytesWhateverTheBufferKindAndOrder() {
    byte[] payload = new byte[77];
    payload[5] = 9;
    byte[] reference = bytes(
        page(payload, 3, false, ByteOrder.LITTLE_ENDIAN, PARENT, 7), 3, 64 + 77);
    for (boolean direct : new boolean[] {false, true}) {
      for (ByteOrder order : new ByteOrder[] {ByteOrder.LITTLE_ENDIAN, ByteOrder.BIG_ENDIAN}) {
        ByteBuffer buf = page(payload, 3, direct, order, PARENT, 7);
        assertArrayEquals(reference, bytes(buf, 3, 64 + 77), "direct=" + direct + " " + order);
        // and read back the same fields whatever the reader's order
        ByteBuffer other = buf.duplicate().order(
            order == ByteOrder.BIG_ENDIAN ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
        assertEquals(OK, PageFormat.verify(other, 3, 64 + 77));
        assertEquals(PARENT.lo(), PageFormat.parentLo(other, 3));
      }
    }
  }

  @Test
  void shouldAcceptAnEmptyPayload() {
    ByteBuffer buf = page(new byte[0], 0, false, ByteOrder.LITTLE_ENDIAN, PARENT, 0);
    assertEquals(OK, PageFormat.verify(buf, 0, HEADER_LENGTH));
  }

  @Test
  void shouldReportEachErrorCode() {
    byte[] payload = new byte[100];
    assertEquals(ERR_TOO_SHORT,
        PageFormat.verify(page(payload, 0, false, ByteOrder.LITTLE_ENDIAN, PARENT, 1), 0, 63));

    ByteBuffer magic = page(payload, 0, false, ByteOrder.LITTLE_ENDIAN, PARENT, 1);
    magic.put(0, (byte) 'k');
    assertEquals(ERR_BAD_MAGIC, PageFormat.verify(magic, 0, 164));

    ByteBuffer version = page(payload, 0, false, ByteOrder.LITTLE_ENDIAN, PARENT, 1);
    version.put(PageFormat.VERSION_OFFSET, (byte) 2);
    assertEquals(ERR_BAD_VERSION, PageFormat.verify(version, 0, 164));

    for (int bit : new int[] {6 * 8, 8 * 8 + 3, 40 * 8, 52 * 8 + 1, 59 * 8 + 7, 63 * 8}) {
      ByteBuffer header = page(payload, 0, false, ByteOrder.LITTLE_ENDIAN, PARENT, 1);
      flip(header, bit);
      assertEquals(ERR_HEADER_CRC, PageFormat.verify(header, 0, 164), "bit " + bit);
      assertEquals(ERR_HEADER_CRC, PageFormat.verifyHeader(header, 0, 164), "bit " + bit);
    }

    ByteBuffer body = page(payload, 0, false, ByteOrder.LITTLE_ENDIAN, PARENT, 1);
    flip(body, (64 + 99) * 8 + 7);
    assertEquals(OK, PageFormat.verifyHeader(body, 0, 164), "header alone is still intact");
    assertEquals(ERR_PAYLOAD_CRC, PageFormat.verify(body, 0, 164));

    ByteBuffer sound = page(payload, 0, false, ByteOrder.LITTLE_ENDIAN, PARENT, 1);
    assertEquals(ERR_LENGTH, PageFormat.verify(sound, 0, 165), "page longer than its header says");
    assertEquals(ERR_LENGTH, PageFormat.verify(sound, 0, 163), "truncated payload");
    assertEquals(ERR_LENGTH, PageFormat.verifyHeader(sound, 0, 163), "claims more than available");
    assertEquals(OK, PageFormat.verifyHeader(sound, 0, 172), "more bytes than the page is fine");
  }

  @Test
  void shouldRejectAnOutOfBoundsLengthEvenWithAMatchingHeaderCrc() {
    ByteBuffer buf = page(new byte[8], 0, false, ByteOrder.LITTLE_ENDIAN, PARENT, 1);
    PageFormat.putIntLE(buf, PageFormat.PAYLOAD_LENGTH_OFFSET, -1);
    PageFormat.putIntLE(buf, PageFormat.HEADER_CRC_OFFSET, PageFormat.crc32c(buf, 0, 60));
    assertEquals(ERR_LENGTH, PageFormat.verifyHeader(buf, 0, Integer.MAX_VALUE));
  }

  @Test
  void shouldRefuseToWriteAnOversizedPayloadLength() {
    ByteBuffer buf = ByteBuffer.allocate(64);
    assertThrows(IllegalArgumentException.class, () -> PageFormat.writeHeader(
        buf, 0, 1, 2, 0, 0, 3, 4, PageFormat.MAX_PAYLOAD_LENGTH + 1));
    assertThrows(IllegalArgumentException.class,
        () -> PageFormat.writeHeader(buf, 0, 1, 2, 0, 0, 3, 4, -1));
  }

  @Test
  void shouldDescribeEveryCode() {
    for (int code = OK; code <= ERR_PAYLOAD_CRC; code++) {
      assertEquals(false, PageFormat.describe(code).startsWith("unknown"), "code " + code);
    }
    assertEquals("unknown page check result 99", PageFormat.describe(99));
  }

  private static void flip(ByteBuffer buf, int bit) {
    int index = bit / 8;
    buf.put(index, (byte) (buf.get(index) ^ (1 << (bit % 8))));
  }
}
