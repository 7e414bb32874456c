package io.kvstore.client;

import io.kvstore.common.PageFormat;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * Writes page headers ({@code spec/2-page-format.md}) for payloads that live in the caller's own
 * buffers, so the token API can send a page as header + wrapped payload without first copying the
 * payload next to its header (which {@link PageFormat#writeHeader} needs). Field offsets and the
 * checksum rules are {@link PageFormat}'s; the payload checksum is computed in place.
 *
 * <p>Not thread-safe: one instance per call.
 */
final class PageHeaders {

  private final CRC32C crc = new CRC32C();
  private final ByteBuffer header =
      ByteBuffer.allocate(PageFormat.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);

  /**
   * Writes the 64-byte header of a page whose payload is {@code payload}'s remaining bytes into
   * {@code out[outOffset, +64)}. {@code payload}'s position and limit are left as they were.
   */
  void write(
      byte[] out,
      int outOffset,
      long keyHi,
      long keyLo,
      long parentHi,
      long parentLo,
      long namespaceId,
      int tokenCount,
      ByteBuffer payload) {
    int payloadLength = payload.remaining();
    if (payloadLength > PageFormat.MAX_PAYLOAD_LENGTH) {
      throw new IllegalArgumentException(
          "payload of " + payloadLength + " bytes exceeds " + PageFormat.MAX_PAYLOAD_LENGTH);
    }
    int position = payload.position();
    crc.reset();
    crc.update(payload);
    payload.position(position);
    int payloadCrc = (int) crc.getValue();

    header.clear();
    header.putInt(PageFormat.MAGIC_OFFSET, PageFormat.MAGIC);
    header.putShort(PageFormat.VERSION_OFFSET, PageFormat.VERSION);
    header.putShort(PageFormat.FLAGS_OFFSET, (short) 0);
    header.putLong(PageFormat.KEY_HI_OFFSET, keyHi);
    header.putLong(PageFormat.KEY_LO_OFFSET, keyLo);
    header.putLong(PageFormat.PARENT_HI_OFFSET, parentHi);
    header.putLong(PageFormat.PARENT_LO_OFFSET, parentLo);
    header.putLong(PageFormat.NAMESPACE_ID_OFFSET, namespaceId);
    header.putInt(PageFormat.TOKEN_COUNT_OFFSET, tokenCount);
    header.putInt(PageFormat.PAYLOAD_LENGTH_OFFSET, payloadLength);
    header.putInt(PageFormat.PAYLOAD_CRC_OFFSET, payloadCrc);
    crc.reset();
    crc.update(header.array(), 0, PageFormat.HEADER_CRC_OFFSET);
    header.putInt(PageFormat.HEADER_CRC_OFFSET, (int) crc.getValue());
    System.arraycopy(header.array(), 0, out, outOffset, PageFormat.HEADER_LENGTH);
  }
}
