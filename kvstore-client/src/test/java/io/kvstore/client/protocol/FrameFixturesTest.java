package io.kvstore.client.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.PageFormat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The exact bytes of every frame of {@code spec/3-wire-protocol.md}: each fixture is checked both
 * ways, encoder → bytes and bytes → {@link FrameDecoder} → flyweight fields.
 */
class FrameFixturesTest {

  private static final ByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;

  private final EmbeddedChannel daemon = new EmbeddedChannel(FrameDecoder.forDaemon(1 << 20));
  private final EmbeddedChannel client = new EmbeddedChannel(FrameDecoder.forClient(1 << 20));

  @AfterEach
  void closeChannels() {
    assertFalse(daemon.finishAndReleaseAll(), "unread inbound frames");
    assertFalse(client.finishAndReleaseAll(), "unread inbound frames");
  }

  static final String HELLO =
      "27000000 01 00 0000 0100000000000000"
          + "| 0100 0100 | 00000004 | efcdab8967452301 | 0300 0000 | 746f6b";

  @Test
  void shouldEncodeHello() {
    byte[] token = "tok".getBytes(StandardCharsets.US_ASCII);
    assertEncodes(HELLO, HelloFlyweight.encode(ALLOC, 1, 1, 1, 64 << 20, 0x0123456789ABCDEFL, token));
  }

  @Test
  void shouldDecodeHello() {
    ByteBuf frame = decode(daemon, HELLO);
    HelloFlyweight hello = new HelloFlyweight();
    hello.wrap(frame);
    assertEquals(Opcode.HELLO, hello.opcode());
    assertEquals(1, hello.requestId());
    assertEquals(1, hello.minVersion());
    assertEquals(1, hello.maxVersion());
    assertEquals(64 << 20, hello.clientMaxFrameLength());
    assertEquals(0x0123456789ABCDEFL, hello.namespaceId());
    assertEquals("tok", new String(hello.token(), StandardCharsets.US_ASCII));
    frame.release();
  }

  static final String HELLO_OK =
      "30000000 81 00 0000 0100000000000000"
          + "| 0100 0000 | 00000004 | 00000100 | 00000002 | 0000001000000000 | 0700000000000000";

  @Test
  void shouldEncodeHelloOk() {
    assertEncodes(
        HELLO_OK, HelloOkFlyweight.encode(ALLOC, 1, 1, 64 << 20, 65536, 32 << 20, 256L << 20, 7));
  }

  @Test
  void shouldDecodeHelloOk() {
    ByteBuf frame = decode(client, HELLO_OK);
    HelloOkFlyweight ok = new HelloOkFlyweight();
    ok.wrap(frame);
    assertEquals(Opcode.HELLO_OK, ok.opcode());
    assertEquals(1, ok.version());
    assertEquals(64 << 20, ok.maxFrameLength());
    assertEquals(65536, ok.maxBatch());
    assertEquals(32 << 20, ok.maxPageLength());
    assertEquals(256L << 20, ok.maxInFlightBytes());
    assertEquals(7, ok.connectionId());
    frame.release();
  }

  static final String PING = "18000000 02 00 0000 0200000000000000 | 8877665544332211";
  static final String PONG = "18000000 82 00 0000 0200000000000000 | 8877665544332211";

  @Test
  void shouldEncodeAndDecodePingAndPong() {
    assertEncodes(PING, PingFlyweight.encode(ALLOC, Opcode.PING, 2, 0x1122334455667788L));
    assertEncodes(PONG, PingFlyweight.encode(ALLOC, Opcode.PONG, 2, 0x1122334455667788L));
    PingFlyweight ping = new PingFlyweight();
    ByteBuf frame = decode(daemon, PING);
    ping.wrap(frame);
    assertEquals(Opcode.PING, ping.opcode());
    assertEquals(0x1122334455667788L, ping.payload());
    frame.release();
    frame = decode(client, PONG);
    ping.wrap(frame);
    assertEquals(Opcode.PONG, ping.opcode());
    assertEquals(2, ping.requestId());
    assertEquals(0x1122334455667788L, ping.payload());
    frame.release();
  }

  static final String LOOKUP =
      "38000000 03 00 0000 0300000000000000 | 02000000 | 00000000"
          + "| 0100000000000000 0200000000000000 | 0300000000000000 0400000000000000";

  @Test
  void shouldEncodeLookup() {
    long[] keys = {9, 9, 1, 2, 3, 4};
    assertEncodes(
        LOOKUP, KeyBatchFlyweight.encode(ALLOC, Opcode.LOOKUP, 0, 3, keys, 1, 2, 0));
  }

  @Test
  void shouldDecodeLookup() {
    ByteBuf frame = decode(daemon, LOOKUP);
    KeyBatchFlyweight batch = new KeyBatchFlyweight();
    batch.wrap(frame);
    assertEquals(Opcode.LOOKUP, batch.opcode());
    assertEquals(3, batch.requestId());
    assertEquals(2, batch.keyCount());
    assertEquals(3, batch.keyHi(1));
    assertEquals(4, batch.keyLo(1));
    long[] keys = new long[4];
    assertEquals(2, batch.readKeys(keys));
    assertEquals(java.util.Arrays.toString(new long[] {1, 2, 3, 4}), java.util.Arrays.toString(keys));
    frame.release();
  }

  static final String GET_PREFIX =
      "28000000 04 01 0000 0400000000000000 | 01000000 | 00000000"
          + "| 0807060504030201 100f0e0d0c0b0a09";

  @Test
  void shouldEncodeAndDecodePrefixGet() {
    long[] keys = {0x0102030405060708L, 0x090A0B0C0D0E0F10L};
    assertEncodes(
        GET_PREFIX,
        KeyBatchFlyweight.encode(ALLOC, Opcode.GET, Opcode.FLAG_GET_PREFIX, 4, keys, 0, 1, 0));
    ByteBuf frame = decode(daemon, GET_PREFIX);
    KeyBatchFlyweight batch = new KeyBatchFlyweight();
    batch.wrap(frame);
    assertEquals(Opcode.GET, batch.opcode());
    assertEquals(Opcode.FLAG_GET_PREFIX, batch.flags());
    assertEquals(0x0102030405060708L, batch.keyHi(0));
    assertEquals(0x090A0B0C0D0E0F10L, batch.keyLo(0));
    frame.release();
  }

  static final String PREFETCH =
      "28000000 06 00 0000 0500000000000000 | 01000000 | fa000000"
          + "| 0100000000000000 0200000000000000";

  @Test
  void shouldEncodeAndDecodePrefetch() {
    assertEncodes(
        PREFETCH, KeyBatchFlyweight.encode(ALLOC, Opcode.PREFETCH, 0, 5, new long[] {1, 2}, 0, 1, 250));
    ByteBuf frame = decode(daemon, PREFETCH);
    KeyBatchFlyweight batch = new KeyBatchFlyweight();
    batch.wrap(frame);
    assertEquals(Opcode.PREFETCH, batch.opcode());
    assertEquals(250, batch.argument());
    assertEquals(1, batch.keyCount());
    frame.release();
  }

  static final String DELETE_EMPTY = "18000000 07 00 0000 0600000000000000 | 00000000 | 00000000";

  @Test
  void shouldEncodeAndDecodeEmptyDelete() {
    assertEncodes(
        DELETE_EMPTY, KeyBatchFlyweight.encode(ALLOC, Opcode.DELETE, 0, 6, new long[0], 0, 0, 0));
    ByteBuf frame = decode(daemon, DELETE_EMPTY);
    KeyBatchFlyweight batch = new KeyBatchFlyweight();
    batch.wrap(frame);
    assertEquals(Opcode.DELETE, batch.opcode());
    assertEquals(0, batch.keyCount());
    frame.release();
  }

  static final String LOOKUP_OK =
      "24000000 83 00 0000 0300000000000000 | 02000000 | 03000000 | 01000000 01000000 00000000";

  @Test
  void shouldEncodeAndDecodeLookupOk() {
    assertEncodes(LOOKUP_OK, LookupOkFlyweight.encode(ALLOC, 3, 2, new int[] {1, 1, 0}, 3));
    ByteBuf frame = decode(client, LOOKUP_OK);
    LookupOkFlyweight ok = new LookupOkFlyweight();
    ok.wrap(frame);
    assertEquals(2, ok.runLength());
    assertEquals(3, ok.tierCount());
    assertEquals(1, ok.tierBlocks(0));
    assertEquals(1, ok.tierBlocks(1));
    assertEquals(0, ok.tierBlocks(2));
    frame.release();
  }

  static final String GET_PAGE_PREFIX = "5c000000 c4 00 0000 0400000000000000 | 03000000 | 00000000";

  @Test
  void shouldEncodeGetPageAroundTheStoredPage() {
    ByteBuffer page = page(0x11, 0x22, "abcd");
    ByteBuf pageBuf = io.netty.buffer.Unpooled.wrappedBuffer(page.duplicate());
    ByteBuf frame = GetPageFlyweight.encode(ALLOC, 4, 3, pageBuf);
    assertEquals(Hex.clean(GET_PAGE_PREFIX) + ByteBufUtil.hexDump(pageBuf), Hex.of(frame));
    frame.release();
  }

  @Test
  void shouldDecodeGetPageInPlace() {
    ByteBuffer page = page(0x11, 0x22, "abcd");
    String hex = GET_PAGE_PREFIX + ByteBufUtil.hexDump(io.netty.buffer.Unpooled.wrappedBuffer(page));
    ByteBuf frame = decode(client, hex);
    GetPageFlyweight flyweight = new GetPageFlyweight();
    flyweight.wrap(frame);
    assertEquals(Opcode.GET_PAGE, flyweight.opcode());
    assertFalse(Opcode.isFinal(flyweight.opcode()));
    assertEquals(4, flyweight.requestId());
    assertEquals(3, flyweight.keyIndex());
    assertEquals(68, flyweight.pageLength());
    assertEquals(0x11, flyweight.pageKeyHi());
    assertEquals(0x22, flyweight.pageKeyLo());
    ByteBuffer copy = ByteBuffer.allocateDirect(68);
    frame.getBytes(flyweight.pageIndex(), copy);
    assertEquals(PageFormat.OK, PageFormat.verify(copy, 0, 68));
    frame.release();
  }

  static final String GET_DONE =
      "1a000000 84 00 0000 0400000000000000 | 0a000000 | 08000000 | 02 02";

  @Test
  void shouldEncodeAndDecodeGetDone() {
    long[] misses = new long[1];
    misses[0] |= 1L << 1;
    misses[0] |= 1L << 9;
    assertEncodes(GET_DONE, BatchDoneFlyweight.encode(ALLOC, Opcode.GET_DONE, 4, 10, misses));
    ByteBuf frame = decode(client, GET_DONE);
    BatchDoneFlyweight done = new BatchDoneFlyweight();
    done.wrap(frame);
    assertEquals(10, done.keyCount());
    assertEquals(8, done.hitCount());
    for (int i = 0; i < 10; i++) {
      assertEquals(i == 1 || i == 9, done.isMiss(i), "key " + i);
    }
    frame.release();
  }

  static final String DELETE_OK = "18000000 87 00 0000 0600000000000000 | 00000000 | 00000000";

  @Test
  void shouldEncodeAndDecodeDeleteOk() {
    assertEncodes(DELETE_OK, BatchDoneFlyweight.encode(ALLOC, Opcode.DELETE_OK, 6, 0, new long[0]));
    ByteBuf frame = decode(client, DELETE_OK);
    BatchDoneFlyweight done = new BatchDoneFlyweight();
    done.wrap(frame);
    assertEquals(Opcode.DELETE_OK, done.opcode());
    assertEquals(0, done.keyCount());
    assertEquals(0, done.hitCount());
    frame.release();
  }

  static final String PUT_PREFIX =
      "60000000 05 00 0000 0700000000000000 | 01000000 | 00000000 | 44000000";

  @Test
  void shouldEncodePutAsPrefixesAndPages() {
    ByteBuffer page = page(0x33, 0x44, "wxyz");
    ByteBuf frame = PutFlyweight.encode(ALLOC, 7, new ByteBuffer[] {page}, 0, 1);
    String pageHex = ByteBufUtil.hexDump(io.netty.buffer.Unpooled.wrappedBuffer(page.duplicate()));
    assertEquals(Hex.clean(PUT_PREFIX) + pageHex, Hex.of(frame));
    assertEquals(0, page.position(), "the caller's page position must not move");
    frame.release();
  }

  @Test
  void shouldDecodePutPagesWithCursor() {
    ByteBuffer a = page(1, 2, "first page");
    ByteBuffer b = page(3, 4, "");
    ByteBuf encoded = PutFlyweight.encode(ALLOC, 8, new ByteBuffer[] {a, b}, 0, 2);
    daemon.writeInbound(encoded);
    ByteBuf frame = daemon.readInbound();
    PutFlyweight put = new PutFlyweight();
    put.wrap(frame);
    assertEquals(2, put.pageCount());
    int cursor = put.firstPage();
    assertEquals(a.remaining(), put.pageLength(cursor));
    assertEquals(1, frame.getLongLE(put.pageIndex(cursor) + PageFormat.KEY_HI_OFFSET));
    cursor = put.nextPage(cursor);
    assertEquals(64, put.pageLength(cursor));
    assertEquals(3, frame.getLongLE(put.pageIndex(cursor) + PageFormat.KEY_HI_OFFSET));
    assertEquals(frame.readerIndex() + frame.readableBytes(), put.nextPage(cursor));
    frame.release();
  }

  @Test
  void shouldWrapPutPagesWithoutCopying() {
    ByteBuffer page = page(5, 6, "payload!");
    ByteBuf frame = PutFlyweight.encode(ALLOC, 9, new ByteBuffer[] {page}, 0, 1);
    int payloadInFrame = PutFlyweight.PAGES_OFFSET + 4 + PageFormat.HEADER_LENGTH;
    assertEquals('p', frame.getByte(payloadInFrame));
    // A write to the caller's off-heap page shows through the frame: it was wrapped, not copied.
    page.put(PageFormat.HEADER_LENGTH, (byte) 'Q');
    assertEquals('Q', frame.getByte(payloadInFrame));
    frame.release();
  }

  static final String PUT_OK =
      "1e000000 85 00 0000 0700000000000000 | 03000000 | 01000000 | 0000 0a00 0d00";

  @Test
  void shouldEncodeAndDecodePutOk() {
    int[] statuses = {ErrorCode.OK, ErrorCode.BAD_CHECKSUM, ErrorCode.NO_SPACE};
    assertEncodes(PUT_OK, PutOkFlyweight.encode(ALLOC, 7, 3, statuses));
    ByteBuf frame = decode(client, PUT_OK);
    PutOkFlyweight ok = new PutOkFlyweight();
    ok.wrap(frame);
    assertEquals(3, ok.pageCount());
    assertEquals(1, ok.storedCount());
    assertEquals(ErrorCode.OK, ok.status(0));
    assertEquals(ErrorCode.BAD_CHECKSUM, ok.status(1));
    assertEquals(ErrorCode.NO_SPACE, ok.status(2));
    frame.release();
  }

  static final String PREFETCH_OK = "18000000 86 00 0000 0500000000000000 | 01000000 | 01000000";

  @Test
  void shouldEncodeAndDecodePrefetchOk() {
    assertEncodes(PREFETCH_OK, PrefetchOkFlyweight.encode(ALLOC, 5, 1, 1));
    ByteBuf frame = decode(client, PREFETCH_OK);
    PrefetchOkFlyweight ok = new PrefetchOkFlyweight();
    ok.wrap(frame);
    assertEquals(1, ok.keyCount());
    assertEquals(1, ok.promotedCount());
    frame.release();
  }

  static final String STATS = "10000000 08 00 0000 0800000000000000";
  static final String STATS_OK = "14000000 88 00 0000 0800000000000000 | 6120310a";

  @Test
  void shouldEncodeAndDecodeStats() {
    assertEncodes(STATS, StatsFlyweight.encodeRequest(ALLOC, 8));
    assertEncodes(STATS_OK, StatsFlyweight.encodeResponse(ALLOC, 8, "a 1\n"));
    ByteBuf frame = decode(daemon, STATS);
    assertEquals(Opcode.STATS, FrameDescriptor.opcode(frame, frame.readerIndex()));
    frame.release();
    frame = decode(client, STATS_OK);
    StatsFlyweight stats = new StatsFlyweight();
    stats.wrap(frame);
    assertEquals("a 1\n", stats.text());
    frame.release();
  }

  static final String ERROR =
      "1c000000 ff 00 0000 0900000000000000 | 0900 | 0800 | 746f6f206d616e79";

  @Test
  void shouldEncodeAndDecodeError() {
    assertEncodes(ERROR, ErrorFlyweight.encode(ALLOC, 9, ErrorCode.BATCH_TOO_LARGE, "too many"));
    ByteBuf frame = decode(client, ERROR);
    ErrorFlyweight error = new ErrorFlyweight();
    error.wrap(frame);
    assertEquals(9, error.requestId());
    assertEquals(ErrorCode.BATCH_TOO_LARGE, error.code());
    assertEquals("too many", error.message());
    assertTrue(Opcode.isFinal(error.opcode()));
    frame.release();
  }

  @Test
  void shouldCutLongErrorMessagesBetweenCharacters() {
    String message = "é".repeat(600); // 1200 UTF-8 bytes, 2 per character
    ByteBuf frame = ErrorFlyweight.encode(ALLOC, 1, ErrorCode.INTERNAL, message);
    ErrorFlyweight error = new ErrorFlyweight();
    error.wrap(frame);
    assertEquals("é".repeat(512), error.message());
    assertNull(FrameDecoder.checkFrame(frame, 0, frame.readableBytes()));
    frame.release();
  }

  /** A valid page per spec 2 in a little-endian direct buffer. */
  static ByteBuffer page(long keyHi, long keyLo, String payload) {
    byte[] bytes = payload.getBytes(StandardCharsets.US_ASCII);
    ByteBuffer page =
        ByteBuffer.allocateDirect(PageFormat.HEADER_LENGTH + bytes.length)
            .order(ByteOrder.LITTLE_ENDIAN);
    page.put(PageFormat.HEADER_LENGTH, bytes);
    PageFormat.writeHeader(page, 0, keyHi, keyLo, 0, 0, 42, 16, bytes.length);
    return page;
  }

  private static void assertEncodes(String expectedHex, ByteBuf encoded) {
    try {
      assertEquals(Hex.clean(expectedHex), Hex.of(encoded));
    } finally {
      encoded.release();
    }
  }

  private static ByteBuf decode(EmbeddedChannel channel, String hex) {
    channel.writeInbound(Hex.buf(hex));
    Object decoded = channel.readInbound();
    assertInstanceOf(ByteBuf.class, decoded, () -> "decoded " + decoded);
    ByteBuf frame = (ByteBuf) decoded;
    assertEquals(Hex.bytes(hex).length, frame.readableBytes());
    assertNull(channel.readInbound());
    return frame;
  }
}
