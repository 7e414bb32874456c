package io.kvstore.bench.crash;

import io.kvstore.common.PageFormat;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;

/**
 * The verifiable pages of a crash test: every byte of the page of key {@code k} at version {@code v}
 * follows from {@code (seed, k, v)}, so any page the daemon returns can be checked without keeping
 * a copy of what was written.
 *
 * <pre>
 *  0                64        80         88        92                          page length
 *  +----------------+---------+----------+---------+---------------------------+
 *  | page header    | key     | version  | key     | pseudo-random bytes of    |
 *  | (spec/2)       | hi, lo  | (LE)     | index   | (key hi, key lo, version) |
 *  +----------------+---------+----------+---------+---------------------------+
 * </pre>
 *
 * The version in the payload names which write a returned page claims to be; rebuilding that
 * version and comparing every byte tells an intact page of that write from anything else.
 */
final class PagePattern {

  /** Smallest payload: key, version and key index must fit. */
  static final int MIN_PAYLOAD_BYTES = 32;

  private static final int VERSION_AT = PageFormat.HEADER_LENGTH + 16;
  private static final int INDEX_AT = PageFormat.HEADER_LENGTH + 24;
  private static final int RANDOM_AT = PageFormat.HEADER_LENGTH + 28;

  private final long seed;
  private final long namespaceId;
  private final int payloadBytes;
  private final int pageLength;

  /**
   * @param seed the run's seed: keys differ between seeds
   * @param namespaceId the namespace stamped in every page header
   * @param payloadBytes payload bytes per page, at least {@link #MIN_PAYLOAD_BYTES}
   */
  PagePattern(long seed, long namespaceId, int payloadBytes) {
    if (payloadBytes < MIN_PAYLOAD_BYTES) {
      throw new IllegalArgumentException(
          "page size must be at least " + MIN_PAYLOAD_BYTES + " B, got " + payloadBytes);
    }
    this.seed = seed;
    this.namespaceId = namespaceId;
    this.payloadBytes = payloadBytes;
    this.pageLength = PageFormat.pageLength(payloadBytes);
  }

  /** Bytes per page, header included. */
  int pageLength() {
    return pageLength;
  }

  /** The namespace of the pages. */
  long namespaceId() {
    return namespaceId;
  }

  /** High half of key {@code k}. */
  long keyHi(int k) {
    return mix(seed ^ 0x6A09E667F3BCC908L, k);
  }

  /** Low half of key {@code k}. */
  long keyLo(int k) {
    return mix(seed ^ 0xBB67AE8584CAA73BL, k);
  }

  /** Writes key {@code k}'s page at {@code version} into {@code dst} (position 0, limit the page). */
  void build(ByteBuffer dst, int k, long version) {
    long hi = keyHi(k);
    long lo = keyLo(k);
    dst.clear();
    PageFormat.putLongLE(dst, PageFormat.HEADER_LENGTH, hi);
    PageFormat.putLongLE(dst, PageFormat.HEADER_LENGTH + 8, lo);
    PageFormat.putLongLE(dst, VERSION_AT, version);
    PageFormat.putIntLE(dst, INDEX_AT, k);
    SplittableRandom r = new SplittableRandom(mix(hi ^ lo, version));
    int i = RANDOM_AT;
    for (; i + 8 <= pageLength; i += 8) {
      dst.putLong(i, r.nextLong());
    }
    for (; i < pageLength; i++) {
      dst.put(i, (byte) r.nextInt());
    }
    PageFormat.writeHeader(dst, 0, hi, lo, 0, 0, namespaceId, 16, payloadBytes);
    dst.position(0).limit(pageLength);
  }

  /**
   * The version a returned page claims ({@code length} bytes at {@code page}'s index {@code at}), or
   * -1 when it is too short to say.
   */
  long claimedVersion(ByteBuffer page, int at, int length) {
    return length < VERSION_AT + 8 ? -1 : PageFormat.getLongLE(page, at + VERSION_AT);
  }

  /**
   * Whether the {@code length} bytes at {@code page}'s index {@code at} are exactly key {@code k}'s
   * page at {@code version}; {@code scratch} (at least a page) is overwritten.
   */
  boolean matches(ByteBuffer page, int at, int length, int k, long version, ByteBuffer scratch) {
    if (length != pageLength) {
      return false;
    }
    build(scratch, k, version);
    return page.slice(at, length).equals(scratch.slice(0, pageLength));
  }

  /** SplitMix64's finaliser over two words: well-spread keys from small integers. */
  static long mix(long a, long b) {
    long z = a + 0x9E3779B97F4A7C15L * (b + 1);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
