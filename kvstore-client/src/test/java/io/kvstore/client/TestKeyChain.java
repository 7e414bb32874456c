package io.kvstore.client;

/**
 * A deterministic stand-in for the spec'd block hash (spec/1), enough to test that the SDK chains
 * keys block by block and writes parents; it is NOT the spec's hash function.
 */
final class TestKeyChain implements KeyChain {

  private final long namespaceId;
  private final int tokensPerBlock;

  TestKeyChain(long namespaceId, int tokensPerBlock) {
    this.namespaceId = namespaceId;
    this.tokensPerBlock = tokensPerBlock;
  }

  @Override
  public long namespaceId() {
    return namespaceId;
  }

  @Override
  public int tokensPerBlock() {
    return tokensPerBlock;
  }

  @Override
  public void keys(int[] tokens, int blocks, long[] keysOut) {
    if (blocks * tokensPerBlock > tokens.length || keysOut.length < 2 * blocks) {
      throw new IllegalArgumentException("not enough tokens or key slots for " + blocks + " blocks");
    }
    long hi = 0;
    long lo = 0;
    for (int b = 0; b < blocks; b++) {
      long h = mix(hi ^ namespaceId);
      long l = mix(lo + 0x9E3779B97F4A7C15L);
      for (int t = b * tokensPerBlock; t < (b + 1) * tokensPerBlock; t++) {
        h = mix(h ^ tokens[t]);
        l = mix(l + tokens[t]);
      }
      hi = h;
      lo = l;
      keysOut[2 * b] = hi;
      keysOut[2 * b + 1] = lo;
    }
  }

  /** SplitMix64's finalizer. */
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
