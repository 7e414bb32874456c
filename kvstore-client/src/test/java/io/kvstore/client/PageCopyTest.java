package io.kvstore.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kvstore.common.PageFormat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link PageCopy}: the copy is exact, and the one-pass check finds what {@code verify} finds. */
class PageCopyTest {

  private static final int AT = 24; // the page sits behind a frame prefix, as in a GET_PAGE

  /** A frame buffer holding a valid page of {@code payload} bytes at {@link #AT}. */
  private static ByteBuf frameWithPage(int payload) {
    ByteBuffer page = ByteBuffer.allocateDirect(PageFormat.pageLength(payload));
    SplittableRandom random = new SplittableRandom(payload);
    for (int i = PageFormat.HEADER_LENGTH; i < page.capacity(); i++) {
      page.put(i, (byte) random.nextInt(256));
    }
    PageFormat.writeHeader(page, 0, 1, 2, 0, 0, 7, 16, payload);
    ByteBuf frame = Unpooled.directBuffer(AT + page.capacity());
    frame.writeZero(AT).writeBytes(page);
    return frame;
  }

  private static byte[] bytes(ByteBuf b, int index, int length) {
    byte[] out = new byte[length];
    b.getBytes(index, out);
    return out;
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 1000, PageCopy.CHUNK_BYTES, PageCopy.CHUNK_BYTES + 1, 2 << 20})
  void shouldCopyAValidPageExactlyAndAcceptIt(int payload) {
    ByteBuf frame = frameWithPage(payload);
    int length = PageFormat.pageLength(payload);
    ByteBuffer dst = ByteBuffer.allocateDirect(length + 100).position(50).limit(length + 90);
    assertEquals(PageFormat.OK, PageCopy.copyAndVerify(frame, AT, dst, 50, length, true));
    assertEquals(50, dst.position(), "position not moved");
    assertEquals(length + 90, dst.limit(), "limit not moved");
    byte[] copied = new byte[length];
    dst.duplicate().position(50).get(copied);
    assertArrayEquals(bytes(frame, AT, length), copied);
    frame.release();
  }

  @ParameterizedTest
  @ValueSource(ints = {PageFormat.HEADER_LENGTH, PageFormat.HEADER_LENGTH + PageCopy.CHUNK_BYTES - 1,
      PageFormat.HEADER_LENGTH + PageCopy.CHUNK_BYTES, PageFormat.HEADER_LENGTH + (2 << 20) - 1})
  void shouldFindAFlippedPayloadByteInAnyChunk(int offsetInPage) {
    ByteBuf frame = frameWithPage(2 << 20);
    int length = PageFormat.pageLength(2 << 20);
    frame.setByte(AT + offsetInPage, frame.getByte(AT + offsetInPage) ^ 0x10);
    ByteBuffer dst = ByteBuffer.allocateDirect(length);
    assertEquals(PageFormat.ERR_PAYLOAD_CRC, PageCopy.copyAndVerify(frame, AT, dst, 0, length, true));
    assertEquals(PageFormat.OK, PageCopy.copyAndVerify(frame, AT, dst, 0, length, false),
        "copied unchecked when checks are off");
    frame.release();
  }

  @ParameterizedTest
  @ValueSource(ints = {PageFormat.KEY_HI_OFFSET, PageFormat.PAYLOAD_CRC_OFFSET})
  void shouldFindABadHeader(int offsetInPage) {
    ByteBuf frame = frameWithPage(5000);
    int length = PageFormat.pageLength(5000);
    frame.setByte(AT + offsetInPage, frame.getByte(AT + offsetInPage) ^ 0x01);
    ByteBuffer dst = ByteBuffer.allocateDirect(length);
    assertEquals(PageFormat.ERR_HEADER_CRC, PageCopy.copyAndVerify(frame, AT, dst, 0, length, true));
    frame.release();
  }

  @ParameterizedTest
  @ValueSource(ints = {-1, 1})
  void shouldRefuseALengthThatDisagreesWithTheHeader(int delta) {
    ByteBuf frame = frameWithPage(5000);
    int length = PageFormat.pageLength(5000) + delta;
    ByteBuffer dst = ByteBuffer.allocateDirect(length + 1);
    int code = PageCopy.copyAndVerify(frame, AT, dst, 0, length, true);
    assertEquals(PageFormat.ERR_LENGTH, code, PageFormat.describe(code));
    assertEquals(PageFormat.ERR_TOO_SHORT, PageCopy.copyAndVerify(frame, AT, dst, 0, 10, true));
    frame.release();
  }
}
