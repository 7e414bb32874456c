package io.kvstore.common;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.security.DigestException;
import java.security.MessageDigest;

/**
 * Computes chained block keys, exactly as {@code spec/1-block-key.md} section 1.4 defines them:
 *
 * <pre>
 *   key_i = first 16 bytes of SHA-256("KVBK" || u32 1 || namespace digest || key_{i-1}
 *                                     || u32 B || B x u32 token || u32 extra length || extra)
 * </pre>
 *
 * <p>Only full blocks get keys: {@code n} tokens give {@code n / blockSize} keys and the trailing
 * partial block none. Token ids are {@code 0..2^32-1}; the {@code int[]} forms accept {@code
 * 0..2^31-1} (every real vocabulary) and reject negative ids, the {@code long[]} form accepts the
 * whole range. All inputs are validated before anything is hashed or written, so a call that throws
 * has written nothing.
 *
 * <p>Thread-safety: all methods are static and thread-safe. Each thread hashes with its own {@link
 * MessageDigest} and a 4 KiB scratch array, kept in a {@link ThreadLocal} and reused, so the
 * {@code long[]} form allocates nothing per call; a block's tokens are fed to the digest through
 * that scratch in chunks, whatever the block size.
 */
public final class BlockHasher {

  /** Version of the block-key input, hashed into it (spec 1.4). */
  public static final int KEY_VERSION = 1;
  /** Largest extra byte string per block. */
  public static final int MAX_EXTRA_BYTES = 65535;
  /** Largest token id: 2^32-1. */
  public static final long MAX_TOKEN_ID = 0xFFFF_FFFFL;

  private static final VarHandle INT_LE =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle LONG_BE =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
  /** "KVBK" as a little-endian int, so that the bytes come out in reading order. */
  private static final int TAG_LE = 'K' | 'V' << 8 | 'B' << 16 | 'K' << 24;
  private static final int SCRATCH_BYTES = 4096;
  private static final ThreadLocal<State> STATE = ThreadLocal.withInitial(State::new);

  private BlockHasher() {}

  /** Number of full blocks, hence of keys, in {@code tokenCount} tokens under {@code ns}. */
  public static int fullBlocks(Namespace ns, int tokenCount) {
    if (tokenCount < 0) {
      throw new IllegalArgumentException("token count must be >= 0, got " + tokenCount);
    }
    return tokenCount / ns.blockSize();
  }

  /** Keys of the full blocks of {@code tokens}, starting from {@link BlockKey#ROOT_PARENT}. */
  public static BlockKey[] keys(Namespace ns, int[] tokens) {
    return keys(ns, BlockKey.ROOT_PARENT, tokens, null);
  }

  /**
   * Keys of the full blocks of {@code tokens}, whose first block follows {@code parent}: with the
   * key of block {@code k-1} as parent and the tokens from block {@code k} on, this gives keys
   * {@code k, k+1, ...} of the whole sequence.
   *
   * @param extras {@code null} when no block has extra bytes; otherwise {@code extras[i]} is the
   *     extra of block {@code i} of this call ({@code null} or empty for none), and the array must
   *     have an entry for every full block
   */
  public static BlockKey[] keys(Namespace ns, BlockKey parent, int[] tokens, byte[][] extras) {
    long[] pairs = new long[2 * fullBlocks(ns, tokens.length)];
    keys(ns, parent.hi(), parent.lo(), tokens, 0, tokens.length, extras, pairs, 0);
    return toKeys(pairs);
  }

  /**
   * As {@link #keys(Namespace, BlockKey, int[], byte[][])} for token ids given as {@code long}, so
   * that ids in {@code 2^31..2^32-1} can be hashed.
   *
   * @throws IllegalArgumentException if a token id is outside {@code 0..2^32-1}
   */
  public static BlockKey[] keys(Namespace ns, BlockKey parent, long[] tokens, byte[][] extras) {
    int blocks = fullBlocks(ns, tokens.length);
    int[] bits = new int[blocks * ns.blockSize()];
    for (int i = 0; i < bits.length; i++) {
      long t = tokens[i];
      if (t < 0 || t > MAX_TOKEN_ID) {
        throw new IllegalArgumentException(
            "token id at index " + i + " is " + t + "; token ids must be in 0..2^32-1");
      }
      bits[i] = (int) t; // the u32 bit pattern; hashed as such, never range-checked again
    }
    long[] pairs = new long[2 * blocks];
    checkExtras(extras, blocks);
    hashChain(ns, parent.hi(), parent.lo(), bits, 0, blocks, extras, pairs, 0);
    return toKeys(pairs);
  }

  /**
   * The allocation-free form: hashes the full blocks of {@code tokens[tokenOffset, tokenOffset +
   * tokenLength)} after the parent {@code (parentHi, parentLo)} and writes key {@code i} as {@code
   * out[outOffset + 2i] = hi}, {@code out[outOffset + 2i + 1] = lo}.
   *
   * @param extras as in {@link #keys(Namespace, BlockKey, int[], byte[][])}
   * @return the number of keys written ({@code tokenLength / blockSize})
   * @throws IllegalArgumentException on a negative token id, a bad range, too short an output
   *     array, or bad extras; nothing is written then
   */
  public static int keys(
      Namespace ns,
      long parentHi,
      long parentLo,
      int[] tokens,
      int tokenOffset,
      int tokenLength,
      byte[][] extras,
      long[] out,
      int outOffset) {
    if (tokenOffset < 0 || tokenLength < 0 || tokenOffset > tokens.length - tokenLength) {
      throw new IllegalArgumentException(
          "token range [" + tokenOffset + ", +" + tokenLength + ") is outside an array of "
              + tokens.length);
    }
    int blocks = fullBlocks(ns, tokenLength);
    if (outOffset < 0 || outOffset > out.length - 2 * blocks) {
      throw new IllegalArgumentException(
          blocks + " keys need " + 2 * blocks + " longs from offset " + outOffset
              + " but the output array has " + out.length);
    }
    int hashed = blocks * ns.blockSize();
    for (int i = tokenOffset; i < tokenOffset + hashed; i++) {
      if (tokens[i] < 0) {
        throw new IllegalArgumentException(
            "token id at index " + i + " is negative (" + tokens[i]
                + "); token ids must be in 0..2^32-1");
      }
    }
    checkExtras(extras, blocks);
    hashChain(ns, parentHi, parentLo, tokens, tokenOffset, blocks, extras, out, outOffset);
    return blocks;
  }

  /**
   * The key of one block: {@code ns.blockSize()} tokens from {@code tokens[offset]} after {@code
   * parent}, with optional {@code extra} bytes ({@code null} for none).
   */
  public static BlockKey key(
      Namespace ns, BlockKey parent, int[] tokens, int offset, byte[] extra) {
    if (offset < 0 || offset > tokens.length - ns.blockSize()) {
      throw new IllegalArgumentException(
          "a block of " + ns.blockSize() + " tokens from index " + offset
              + " does not fit in an array of " + tokens.length);
    }
    long[] pair = new long[2];
    keys(ns, parent.hi(), parent.lo(), tokens, offset, ns.blockSize(),
        extra == null ? null : new byte[][] {extra}, pair, 0);
    return new BlockKey(pair[0], pair[1]);
  }

  private static void checkExtras(byte[][] extras, int blocks) {
    if (extras == null) {
      return;
    }
    if (extras.length < blocks) {
      throw new IllegalArgumentException(
          "extras has " + extras.length + " entries but there are " + blocks
              + " full blocks; pass null for none, or null entries for blocks without extra");
    }
    for (int i = 0; i < blocks; i++) {
      if (extras[i] != null && extras[i].length > MAX_EXTRA_BYTES) {
        throw new IllegalArgumentException(
            "extra of block " + i + " is " + extras[i].length + " bytes; at most "
                + MAX_EXTRA_BYTES + " allowed");
      }
    }
  }

  /** Hashes {@code blocks} validated blocks; each key becomes the next block's parent. */
  private static void hashChain(
      Namespace ns,
      long parentHi,
      long parentLo,
      int[] tokens,
      int tokenOffset,
      int blocks,
      byte[][] extras,
      long[] out,
      int outOffset) {
    State s = STATE.get();
    MessageDigest md = s.md;
    byte[] buf = s.scratch;
    byte[] nsDigest = ns.digestUnsafe();
    int blockSize = ns.blockSize();
    long hi = parentHi;
    long lo = parentLo;
    for (int b = 0; b < blocks; b++) {
      md.reset(); // a digest left half-fed by an earlier failure must not leak into this key
      INT_LE.set(buf, 0, TAG_LE);
      INT_LE.set(buf, 4, KEY_VERSION);
      System.arraycopy(nsDigest, 0, buf, 8, 32);
      LONG_BE.set(buf, 40, hi);
      LONG_BE.set(buf, 48, lo);
      INT_LE.set(buf, 56, blockSize);
      int pos = 60;
      int t = tokenOffset + b * blockSize;
      int end = t + blockSize;
      while (t < end) {
        if (pos + 4 > buf.length) {
          md.update(buf, 0, pos);
          pos = 0;
        }
        INT_LE.set(buf, pos, tokens[t++]);
        pos += 4;
      }
      byte[] extra = extras == null ? null : extras[b];
      int extraLength = extra == null ? 0 : extra.length;
      if (pos + 4 > buf.length) {
        md.update(buf, 0, pos);
        pos = 0;
      }
      INT_LE.set(buf, pos, extraLength);
      md.update(buf, 0, pos + 4);
      if (extraLength > 0) {
        md.update(extra, 0, extraLength);
      }
      try {
        md.digest(s.hash, 0, s.hash.length);
      } catch (DigestException e) {
        // Only thrown when the output array is shorter than the digest, which it never is.
        throw new IllegalStateException("SHA-256 digest did not fit 32 bytes", e);
      }
      hi = (long) LONG_BE.get(s.hash, 0);
      lo = (long) LONG_BE.get(s.hash, 8);
      out[outOffset + 2 * b] = hi;
      out[outOffset + 2 * b + 1] = lo;
    }
  }

  private static BlockKey[] toKeys(long[] pairs) {
    BlockKey[] keys = new BlockKey[pairs.length / 2];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = new BlockKey(pairs[2 * i], pairs[2 * i + 1]);
    }
    return keys;
  }

  /** Per-thread hashing state, reused across calls. */
  private static final class State {
    final MessageDigest md = Namespace.sha256();
    final byte[] scratch = new byte[SCRATCH_BYTES];
    final byte[] hash = new byte[32];
  }
}
