package io.kvstore.client.shm;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The header of a shared region ({@code spec/4-shared-memory.md} §4.2), read and written at
 * absolute positions of a little-endian view, and the split of the region into its GET and PUT
 * areas.
 *
 * <pre>
 *   0  magic "KVSM"          4  version u16 | reserved u16
 *   8  region length u64     16 connection id u64
 *  24  nonce (16 bytes)
 *  40  GET area offset u64   48 GET area length u64
 *  56  PUT area offset u64   64 PUT area length u64
 *  72  zero to 4096; the GET area starts at 4096, the PUT area right after it
 * </pre>
 */
public final class RegionLayout {

  /** "KVSM" read as a little-endian u32. */
  public static final int MAGIC = 0x4D53564B;
  public static final int VERSION = 1;
  /** Allocation unit and header size: every lease starts on a unit. */
  public static final int UNIT = 4096;
  public static final int HEADER_LENGTH = UNIT;
  public static final int MAGIC_OFFSET = 0;
  public static final int VERSION_OFFSET = 4;
  public static final int LENGTH_OFFSET = 8;
  public static final int CONNECTION_ID_OFFSET = 16;
  public static final int NONCE_OFFSET = 24;
  public static final int GET_OFFSET_OFFSET = 40;
  public static final int GET_LENGTH_OFFSET = 48;
  public static final int PUT_OFFSET_OFFSET = 56;
  public static final int PUT_LENGTH_OFFSET = 64;

  private RegionLayout() {}

  /** Bytes of each area of a region of {@code regionLength}: a whole number of units. */
  public static long areaLength(long regionLength) {
    long units = Math.max(0, regionLength - HEADER_LENGTH) / (2L * UNIT);
    return units * UNIT;
  }

  /** Writes the header of a region into {@code region} (its first 72 bytes; the rest stays 0). */
  public static void writeHeader(ByteBuffer region, long regionLength, long connectionId,
      byte[] nonce) {
    ByteBuffer b = region.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    long area = areaLength(regionLength);
    b.putInt(MAGIC_OFFSET, MAGIC);
    b.putShort(VERSION_OFFSET, (short) VERSION);
    b.putShort(VERSION_OFFSET + 2, (short) 0);
    b.putLong(LENGTH_OFFSET, regionLength);
    b.putLong(CONNECTION_ID_OFFSET, connectionId);
    b.put(NONCE_OFFSET, nonce, 0, ShmFrames.NONCE_LENGTH);
    b.putLong(GET_OFFSET_OFFSET, HEADER_LENGTH);
    b.putLong(GET_LENGTH_OFFSET, area);
    b.putLong(PUT_OFFSET_OFFSET, HEADER_LENGTH + area);
    b.putLong(PUT_LENGTH_OFFSET, area);
  }

  /**
   * Checks a mapped region's header against the layout the spec fixes for its length; returns
   * null when it is one, or what is wrong.
   */
  public static String check(ByteBuffer region, long mappedLength) {
    if (mappedLength < HEADER_LENGTH) {
      return "region of " + mappedLength + " bytes has no room for its header";
    }
    ByteBuffer b = region.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    if (b.getInt(MAGIC_OFFSET) != MAGIC) {
      return "region magic is not KVSM";
    }
    if (Short.toUnsignedInt(b.getShort(VERSION_OFFSET)) != VERSION) {
      return "region version " + Short.toUnsignedInt(b.getShort(VERSION_OFFSET));
    }
    long length = b.getLong(LENGTH_OFFSET);
    long area = areaLength(length);
    if (length != mappedLength
        || b.getLong(GET_OFFSET_OFFSET) != HEADER_LENGTH
        || b.getLong(GET_LENGTH_OFFSET) != area
        || b.getLong(PUT_OFFSET_OFFSET) != HEADER_LENGTH + area
        || b.getLong(PUT_LENGTH_OFFSET) != area) {
      return "region header does not describe a " + mappedLength + "-byte region";
    }
    return null;
  }

  /** The nonce in a region's header. */
  public static byte[] nonce(ByteBuffer region) {
    byte[] nonce = new byte[ShmFrames.NONCE_LENGTH];
    region.duplicate().get(NONCE_OFFSET, nonce, 0, nonce.length);
    return nonce;
  }

  /** Units needed for {@code bytes}. */
  public static int units(long bytes) {
    return (int) ((bytes + UNIT - 1) / UNIT);
  }
}
