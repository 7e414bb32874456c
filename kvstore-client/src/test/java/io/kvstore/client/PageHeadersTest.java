package io.kvstore.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kvstore.common.PageFormat;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** {@link PageHeaders} must write byte for byte the header {@link PageFormat#writeHeader} writes. */
class PageHeadersTest {

  @Test
  void shouldWriteTheSameHeaderAsPageFormat() {
    for (int payloadLength : new int[] {0, 1, 63, 4096}) {
      ByteBuffer page = ByteBuffer.allocate(PageFormat.HEADER_LENGTH + payloadLength)
          .order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < payloadLength; i++) {
        page.put(PageFormat.HEADER_LENGTH + i, (byte) (i * 13 + payloadLength));
      }
      PageFormat.writeHeader(page, 0, 11, 22, 33, 44, 55, 16, payloadLength);

      // The payload alone, in a big-endian direct buffer at a non-zero position.
      ByteBuffer payload = ByteBuffer.allocateDirect(payloadLength + 5);
      payload.position(5);
      payload.put(page.duplicate().position(PageFormat.HEADER_LENGTH));
      payload.position(5);
      byte[] out = new byte[PageFormat.HEADER_LENGTH + 3];
      new PageHeaders().write(out, 3, 11, 22, 33, 44, 55, 16, payload);

      byte[] expected = new byte[PageFormat.HEADER_LENGTH];
      page.get(0, expected);
      byte[] actual = new byte[PageFormat.HEADER_LENGTH];
      System.arraycopy(out, 3, actual, 0, PageFormat.HEADER_LENGTH);
      assertArrayEquals(expected, actual, "payload length " + payloadLength);
      assertEquals(5, payload.position(), "the payload's position must not move");
    }
  }
}
