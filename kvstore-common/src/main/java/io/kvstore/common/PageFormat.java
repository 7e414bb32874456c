package io.kvstore.common;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The layout of a page (one block of KV data) in every tier, on disk and on the wire, as specified in
 * {@code spec/2-page-format.md}. All integers are little-endian.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                     magic 'KVPG' (0x4750564B)                 |  0
 *  +-------------------------------+-------------------------------+
 *  |        format version (1)     |          flags (0)            |  4
 *  +-------------------------------+-------------------------------+
 *  |                          key hi (u64)                         |  8
 *  |                          key lo (u64)                         | 16
 *  +---------------------------------------------------------------+
 *  |                        parent hi (u64)                        | 24
 *  |                        parent lo (u64)                        | 32
 *  +---------------------------------------------------------------+
 *  |                       namespace id (u64)                      | 40
 *  +---------------------------------------------------------------+
 *  |                        token count (u32)                      | 48
 *  +---------------------------------------------------------------+
 *  |                       payload length (u32)                    | 52
 *  +---------------------------------------------------------------+
 *  |                      payload CRC32C (u32)                     | 56
 *  +---------------------------------------------------------------+
 *  |               header CRC32C of bytes 0..59 (u32)              | 60
 *  +---------------------------------------------------------------+
 *  |                     payload (payload length bytes)           ...  64
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>All methods work on absolute offsets from a page's start inside a buffer and never move the
 * buffer's position or limit, so one buffer can be read by many threads.
 */
public final class PageFormat {

  /** 'KVPG' read as a little-endian u32. */
  public static final int MAGIC = 0x4750564B;
  /** The format version this code writes and reads. */
  public static final short VERSION = 1;

  /** Offset of the magic (u32). */
  public static final int MAGIC_OFFSET = 0;
  /** Offset of the format version (u16). */
  public static final int VERSION_OFFSET = 4;
  /** Offset of the flags (u16, reserved: written as 0, ignored by version 1 readers). */
  public static final int FLAGS_OFFSET = 6;
  /** Offset of the key's {@code hi} half (u64). */
  public static final int KEY_HI_OFFSET = 8;
  /** Offset of the key's {@code lo} half (u64). */
  public static final int KEY_LO_OFFSET = 16;
  /** Offset of the parent key's {@code hi} half (u64); 0 with lo 0 for a first block. */
  public static final int PARENT_HI_OFFSET = 24;
  /** Offset of the parent key's {@code lo} half (u64). */
  public static final int PARENT_LO_OFFSET = 32;
  /** Offset of the namespace id (u64), see {@link Namespace#id()}. */
  public static final int NAMESPACE_ID_OFFSET = 40;
  /** Offset of the token count (u32). */
  public static final int TOKEN_COUNT_OFFSET = 48;
  /** Offset of the payload length (u32). */
  public static final int PAYLOAD_LENGTH_OFFSET = 52;
  /** Offset of the payload's CRC32C (u32). */
  public static final int PAYLOAD_CRC_OFFSET = 56;
  /** Offset of the header's CRC32C (u32), which covers bytes 0..59. */
  public static final int HEADER_CRC_OFFSET = 60;
  /** Length of the fixed header; the payload starts here. */
  public static final int HEADER_LENGTH = 64;

  /** Largest payload the format allows: 256 MiB (a page of 2 MiB is typical). */
  public static final int MAX_PAYLOAD_LENGTH = 256 << 20;

  /** Result of {@link #verify}: the page is well formed and both checksums match. */
  public static final int OK = 0;
  /** Fewer than {@link #HEADER_LENGTH} bytes are available. */
  public static final int ERR_TOO_SHORT = 1;
  /** The first four bytes are not 'KVPG'. */
  public static final int ERR_BAD_MAGIC = 2;
  /** The version is not {@link #VERSION}. */
  public static final int ERR_BAD_VERSION = 3;
  /** The header checksum does not match: no header field may be trusted. */
  public static final int ERR_HEADER_CRC = 4;
  /** The payload length is out of bounds or disagrees with the page's length. */
  public static final int ERR_LENGTH = 5;
  /** The payload checksum does not match. */
  public static final int ERR_PAYLOAD_CRC = 6;

  private PageFormat() {}

  /** Total page length (header + payload) for a payload of {@code payloadLength} bytes. */
  public static int pageLength(int payloadLength) {
    return HEADER_LENGTH + payloadLength;
  }

  /**
   * Writes a complete header for the payload already at {@code buf[offset + HEADER_LENGTH, +
   * payloadLength)}, computing both checksums.
   */
  public static void writeHeader(
      ByteBuffer buf,
      int offset,
      long keyHi,
      long keyLo,
      long parentHi,
      long parentLo,
      long namespaceId,
      int tokenCount,
      int payloadLength) {
    if (payloadLength < 0 || payloadLength > MAX_PAYLOAD_LENGTH) {
      throw new IllegalArgumentException("payload length out of range: " + payloadLength);
    }
    writeHeader(buf, offset, keyHi, keyLo, parentHi, parentLo, namespaceId, tokenCount,
        payloadLength, crc32c(buf, offset + HEADER_LENGTH, payloadLength));
  }

  /**
   * Writes a complete header at {@code buf[offset, offset + 64)} for a payload that is held
   * elsewhere (an engine's own buffer, sent after the header without being copied next to it), given
   * the payload's length and CRC32C ({@link #crc32c}); computes the header checksum.
   */
  public static void writeHeader(
      ByteBuffer buf,
      int offset,
      long keyHi,
      long keyLo,
      long parentHi,
      long parentLo,
      long namespaceId,
      int tokenCount,
      int payloadLength,
      int payloadCrc) {
    if (payloadLength < 0 || payloadLength > MAX_PAYLOAD_LENGTH) {
      throw new IllegalArgumentException("payload length out of range: " + payloadLength);
    }
    putIntLE(buf, offset + MAGIC_OFFSET, MAGIC);
    putShortLE(buf, offset + VERSION_OFFSET, VERSION);
    putShortLE(buf, offset + FLAGS_OFFSET, (short) 0);
    putLongLE(buf, offset + KEY_HI_OFFSET, keyHi);
    putLongLE(buf, offset + KEY_LO_OFFSET, keyLo);
    putLongLE(buf, offset + PARENT_HI_OFFSET, parentHi);
    putLongLE(buf, offset + PARENT_LO_OFFSET, parentLo);
    putLongLE(buf, offset + NAMESPACE_ID_OFFSET, namespaceId);
    putIntLE(buf, offset + TOKEN_COUNT_OFFSET, tokenCount);
    putIntLE(buf, offset + PAYLOAD_LENGTH_OFFSET, payloadLength);
    putIntLE(buf, offset + PAYLOAD_CRC_OFFSET, payloadCrc);
    putIntLE(buf, offset + HEADER_CRC_OFFSET, crc32c(buf, offset, HEADER_CRC_OFFSET));
  }

  /**
   * Checks a page of {@code length} bytes at {@code offset}: magic, version, header checksum, that
   * the payload length matches, and the payload checksum.
   *
   * @return {@link #OK} or one of the {@code ERR_*} codes
   */
  public static int verify(ByteBuffer buf, int offset, int length) {
    int headerCheck = verifyHeader(buf, offset, length);
    if (headerCheck != OK) {
      return headerCheck;
    }
    int payloadLength = payloadLength(buf, offset);
    if (HEADER_LENGTH + payloadLength != length) {
      return ERR_LENGTH;
    }
    int crc = crc32c(buf, offset + HEADER_LENGTH, payloadLength);
    return crc == getIntLE(buf, offset + PAYLOAD_CRC_OFFSET) ? OK : ERR_PAYLOAD_CRC;
  }

  /**
   * Checks only the header (magic, version, header checksum, payload length within the format's
   * bound and within {@code available} bytes): enough to trust the key and the length fields.
   *
   * @param available the bytes present from {@code offset}: a page whose header claims more
   *     payload than that fails with {@link #ERR_LENGTH}, so a caller can then read the payload
   *     without running past its data
   * @return {@link #OK} or one of {@link #ERR_TOO_SHORT}, {@link #ERR_BAD_MAGIC}, {@link
   *     #ERR_BAD_VERSION}, {@link #ERR_HEADER_CRC}, {@link #ERR_LENGTH}
   */
  public static int verifyHeader(ByteBuffer buf, int offset, int available) {
    if (available < HEADER_LENGTH) {
      return ERR_TOO_SHORT;
    }
    if (getIntLE(buf, offset + MAGIC_OFFSET) != MAGIC) {
      return ERR_BAD_MAGIC;
    }
    if (getShortLE(buf, offset + VERSION_OFFSET) != VERSION) {
      return ERR_BAD_VERSION;
    }
    if (crc32c(buf, offset, HEADER_CRC_OFFSET) != getIntLE(buf, offset + HEADER_CRC_OFFSET)) {
      return ERR_HEADER_CRC;
    }
    int payloadLength = getIntLE(buf, offset + PAYLOAD_LENGTH_OFFSET);
    if (payloadLength < 0
        || payloadLength > MAX_PAYLOAD_LENGTH
        || payloadLength > available - HEADER_LENGTH) {
      return ERR_LENGTH;
    }
    return OK;
  }

  /** A human-readable name for a {@link #verify} result. */
  public static String describe(int code) {
    switch (code) {
      case OK:
        return "ok";
      case ERR_TOO_SHORT:
        return "shorter than the 64-byte page header";
      case ERR_BAD_MAGIC:
        return "bad magic (not a kvstore page)";
      case ERR_BAD_VERSION:
        return "unsupported page format version";
      case ERR_HEADER_CRC:
        return "header checksum mismatch";
      case ERR_LENGTH:
        return "payload length does not match the page length";
      case ERR_PAYLOAD_CRC:
        return "payload checksum mismatch";
      default:
        return "unknown page check result " + code;
    }
  }

  /** The format version field (u16). */
  public static int version(ByteBuffer buf, int offset) {
    return getShortLE(buf, offset + VERSION_OFFSET) & 0xFFFF;
  }

  /** The flags field (u16); reserved in version 1. */
  public static int flags(ByteBuffer buf, int offset) {
    return getShortLE(buf, offset + FLAGS_OFFSET) & 0xFFFF;
  }

  /** The key's {@code hi} half; trust it only after {@link #verifyHeader} returned OK. */
  public static long keyHi(ByteBuffer buf, int offset) {
    return getLongLE(buf, offset + KEY_HI_OFFSET);
  }

  /** The key's {@code lo} half; trust it only after {@link #verifyHeader} returned OK. */
  public static long keyLo(ByteBuffer buf, int offset) {
    return getLongLE(buf, offset + KEY_LO_OFFSET);
  }

  /** The parent key's {@code hi} half (0 with lo 0: the root parent). */
  public static long parentHi(ByteBuffer buf, int offset) {
    return getLongLE(buf, offset + PARENT_HI_OFFSET);
  }

  /** The parent key's {@code lo} half. */
  public static long parentLo(ByteBuffer buf, int offset) {
    return getLongLE(buf, offset + PARENT_LO_OFFSET);
  }

  /** The namespace id the page was written under. */
  public static long namespaceId(ByteBuffer buf, int offset) {
    return getLongLE(buf, offset + NAMESPACE_ID_OFFSET);
  }

  /** The number of tokens whose KV the payload holds. */
  public static int tokenCount(ByteBuffer buf, int offset) {
    return getIntLE(buf, offset + TOKEN_COUNT_OFFSET);
  }

  /** The payload length; trust it only after {@link #verifyHeader} returned OK. */
  public static int payloadLength(ByteBuffer buf, int offset) {
    return getIntLE(buf, offset + PAYLOAD_LENGTH_OFFSET);
  }

  /** The stored payload CRC32C. */
  public static int payloadCrc(ByteBuffer buf, int offset) {
    return getIntLE(buf, offset + PAYLOAD_CRC_OFFSET);
  }

  /** The stored header CRC32C. */
  public static int headerCrc(ByteBuffer buf, int offset) {
    return getIntLE(buf, offset + HEADER_CRC_OFFSET);
  }

  /** CRC32C (Castagnoli) of {@code buf[offset, offset + length)}, without moving the buffer. */
  public static int crc32c(ByteBuffer buf, int offset, int length) {
    CRC32C crc = new CRC32C();
    ByteBuffer view = buf.duplicate();
    view.limit(offset + length).position(offset);
    crc.update(view);
    return (int) crc.getValue();
  }

  /** Reads a little-endian u64 at an absolute index, whatever the buffer's byte order. */
  public static long getLongLE(ByteBuffer buf, int index) {
    long v = buf.getLong(index);
    return buf.order() == ByteOrder.LITTLE_ENDIAN ? v : Long.reverseBytes(v);
  }

  /** Reads a little-endian u32 at an absolute index, whatever the buffer's byte order. */
  public static int getIntLE(ByteBuffer buf, int index) {
    int v = buf.getInt(index);
    return buf.order() == ByteOrder.LITTLE_ENDIAN ? v : Integer.reverseBytes(v);
  }

  /** Writes a little-endian u64 at an absolute index, whatever the buffer's byte order. */
  public static void putLongLE(ByteBuffer buf, int index, long v) {
    buf.putLong(index, buf.order() == ByteOrder.LITTLE_ENDIAN ? v : Long.reverseBytes(v));
  }

  /** Writes a little-endian u32 at an absolute index, whatever the buffer's byte order. */
  public static void putIntLE(ByteBuffer buf, int index, int v) {
    buf.putInt(index, buf.order() == ByteOrder.LITTLE_ENDIAN ? v : Integer.reverseBytes(v));
  }

  private static short getShortLE(ByteBuffer buf, int index) {
    short v = buf.getShort(index);
    return buf.order() == ByteOrder.LITTLE_ENDIAN ? v : Short.reverseBytes(v);
  }

  private static void putShortLE(ByteBuffer buf, int index, short v) {
    buf.putShort(index, buf.order() == ByteOrder.LITTLE_ENDIAN ? v : Short.reverseBytes(v));
  }
}
