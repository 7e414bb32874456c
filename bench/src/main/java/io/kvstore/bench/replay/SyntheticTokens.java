package io.kvstore.bench.replay;

import io.kvstore.common.BlockHasher;
import io.kvstore.common.Namespace;

/**
 * Stands in for the token ids that traces do not carry: block {@code i} of a prompt gets {@code
 * blockSize} tokens derived from a 64-bit block id (a trace's hash id) by SplitMix64, so equal ids
 * give equal tokens, and keys chained with {@link BlockHasher} give equal keys exactly for equal
 * prefixes, as an engine's would. Token ids are 31-bit, every real vocabulary's range.
 */
public final class SyntheticTokens {

  private final Namespace namespace;
  private final int[] tokens;

  /** Tokens and keys for blocks of {@code namespace.blockSize()} tokens. */
  public SyntheticTokens(Namespace namespace) {
    this.namespace = namespace;
    this.tokens = new int[namespace.blockSize()];
  }

  /** Token {@code j} of the block with id {@code blockId}. */
  public static int token(long blockId, int j) {
    return (int) (mix64(blockId + 0x9E3779B97F4A7C15L * (j + 1)) >>> 33);
  }

  /**
   * Writes the key of block {@code blockId} following parent {@code (parentHi, parentLo)} into
   * {@code out[at], out[at + 1]}. Not thread-safe (reuses one token array).
   */
  public void key(long blockId, long parentHi, long parentLo, long[] out, int at) {
    for (int j = 0; j < tokens.length; j++) {
      tokens[j] = token(blockId, j);
    }
    BlockHasher.keys(namespace, parentHi, parentLo, tokens, 0, tokens.length, null, out, at);
  }

  /** SplitMix64's finaliser (Steele, Lea and Flood, OOPSLA 2014). */
  static long mix64(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
