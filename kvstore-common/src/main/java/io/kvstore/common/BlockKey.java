package io.kvstore.common;

/**
 * A 128-bit block key, as defined in {@code spec/1-block-key.md}.
 *
 * <p>The store's hot paths take keys as two {@code long}s ({@code hi}, {@code lo}) so that no object
 * is made per page; this value class is the convenient form for APIs at the edge (the SDK's token
 * API, tests, tools).
 */
public record BlockKey(long hi, long lo) implements Comparable<BlockKey> {

  /**
   * The parent of the first block of every chain, and the "no parent" marker in page headers.
   * See {@code spec/1-block-key.md}.
   */
  public static final BlockKey ROOT_PARENT = new BlockKey(0L, 0L);

  /** Returns whether this is the {@link #ROOT_PARENT} value. */
  public boolean isRoot() {
    return hi == 0L && lo == 0L;
  }

  /** Returns whether {@code (hi, lo)} is the root parent. */
  public static boolean isRoot(long hi, long lo) {
    return hi == 0L && lo == 0L;
  }

  /** The key as 32 lowercase hex digits, {@code hi} first. */
  public String toHex() {
    return String.format("%016x%016x", hi, lo);
  }

  /** Parses the 32-hex-digit form produced by {@link #toHex()}. */
  public static BlockKey fromHex(String hex) {
    if (hex == null || hex.length() != 32) {
      throw new IllegalArgumentException("a block key is 32 hex digits, got: " + hex);
    }
    for (int i = 0; i < 32; i++) {
      // parseUnsignedLong alone would also take a leading '+'
      if (Character.digit(hex.charAt(i), 16) < 0) {
        throw new IllegalArgumentException("a block key is 32 hex digits, got: " + hex);
      }
    }
    return new BlockKey(
        Long.parseUnsignedLong(hex.substring(0, 16), 16),
        Long.parseUnsignedLong(hex.substring(16), 16));
  }

  /** The key's 16 bytes as spec/1-block-key.md defines them: {@code hi} then {@code lo}, big-endian. */
  public byte[] toBytes() {
    byte[] b = new byte[16];
    for (int i = 0; i < 8; i++) {
      b[i] = (byte) (hi >>> (56 - 8 * i));
      b[8 + i] = (byte) (lo >>> (56 - 8 * i));
    }
    return b;
  }

  /** The key whose 16 bytes (see {@link #toBytes()}) start at {@code bytes[offset]}. */
  public static BlockKey fromBytes(byte[] bytes, int offset) {
    if (offset < 0 || offset > bytes.length - 16) {
      throw new IllegalArgumentException(
          "a block key is 16 bytes; offset " + offset + " in an array of " + bytes.length);
    }
    long h = 0;
    long l = 0;
    for (int i = 0; i < 8; i++) {
      h = h << 8 | (bytes[offset + i] & 0xFFL);
      l = l << 8 | (bytes[offset + 8 + i] & 0xFFL);
    }
    return new BlockKey(h, l);
  }

  @Override
  public int compareTo(BlockKey o) {
    int c = Long.compareUnsigned(hi, o.hi);
    return c != 0 ? c : Long.compareUnsigned(lo, o.lo);
  }

  @Override
  public String toString() {
    return toHex();
  }
}
