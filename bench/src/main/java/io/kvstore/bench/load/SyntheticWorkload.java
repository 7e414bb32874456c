package io.kvstore.bench.load;

import io.kvstore.bench.replay.Request;
import io.kvstore.bench.replay.RequestSource;
import io.kvstore.bench.replay.SyntheticTokens;
import io.kvstore.common.Namespace;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * A synthetic workload of prompts that share prefixes, as chat and RAG traffic does (system
 * prompts, few-shot examples, shared documents). Each request draws a prompt length from a {@link
 * LengthDistribution} and one of {@code prefixes} shared prefixes by a Zipf law (a few are popular);
 * its first {@code floor(prefixShare * length / blockTokens)} blocks are that prefix's blocks, the
 * rest are its own. So {@code prefixShare} is the share of each prompt's tokens that some other
 * request also has: the best hit ratio a large enough store can reach, less first-time misses.
 *
 * <p>Arrivals are Poisson at {@code ratePerS} (0: all at time 0, for runs as fast as possible).
 * Deterministic for a seed. Keys are chained with {@code BlockHasher} over synthetic tokens
 * ({@link SyntheticTokens}): equal prefixes have equal keys.
 */
public final class SyntheticWorkload implements RequestSource {

  private static final long PREFIX_ID_BASE = 0x5052_4546_0000_0000L; // "PREF"

  private final LengthDistribution lengths;
  private final double prefixShare;
  private final int blockTokens;
  private final double ratePerS;
  private final long maxRequests;
  private final long seed;
  private final double zipfExponent;
  private final double[] zipfCdf;
  private final SplittableRandom random;
  private final SyntheticTokens tokens;
  private final long[][] prefixKeys;
  private final int[] prefixBlocks;
  private long next;
  private double clockMicros;

  /**
   * @param prefixShare share of each prompt that is a shared prefix, in [0, 1]
   * @param prefixes number of distinct shared prefixes (>= 1)
   * @param zipfExponent skew of the prefixes' popularity (0: uniform)
   * @param ratePerS mean arrivals per second (0: no pacing)
   * @param maxRequests requests to generate (0: no end; the run's duration ends it)
   */
  public SyntheticWorkload(Namespace namespace, LengthDistribution lengths, double prefixShare,
      int prefixes, double zipfExponent, double ratePerS, long maxRequests, long seed) {
    if (!(prefixShare >= 0 && prefixShare <= 1)) {
      throw new IllegalArgumentException("--prefix-share must be in [0, 1], got " + prefixShare);
    }
    if (prefixes < 1 || prefixes > 1_000_000) {
      throw new IllegalArgumentException("--prefixes must be in [1, 1000000], got " + prefixes);
    }
    if (!(zipfExponent >= 0 && zipfExponent <= 10)) {
      throw new IllegalArgumentException("--zipf must be in [0, 10], got " + zipfExponent);
    }
    if (!(ratePerS >= 0) || Double.isInfinite(ratePerS)) {
      throw new IllegalArgumentException("--rate must be >= 0 requests/s, got " + ratePerS);
    }
    if (maxRequests < 0) {
      throw new IllegalArgumentException("--requests must be >= 0, got " + maxRequests);
    }
    this.lengths = lengths;
    this.prefixShare = prefixShare;
    this.blockTokens = namespace.blockSize();
    this.ratePerS = ratePerS;
    this.maxRequests = maxRequests;
    this.seed = seed;
    this.zipfExponent = zipfExponent;
    this.zipfCdf = zipfCdf(prefixes, zipfExponent);
    this.random = new SplittableRandom(seed);
    this.tokens = new SyntheticTokens(namespace);
    this.prefixKeys = new long[prefixes][];
    this.prefixBlocks = new int[prefixes];
  }

  static double[] zipfCdf(int n, double s) {
    double[] cdf = new double[n];
    double sum = 0;
    for (int i = 0; i < n; i++) {
      sum += 1.0 / Math.pow(i + 1, s);
      cdf[i] = sum;
    }
    for (int i = 0; i < n; i++) {
      cdf[i] /= sum;
    }
    return cdf;
  }

  /** A prefix index drawn by the Zipf law: index 0 is the most popular. */
  int drawPrefix() {
    int i = Arrays.binarySearch(zipfCdf, random.nextDouble());
    return Math.min(zipfCdf.length - 1, i >= 0 ? i : -i - 1);
  }

  @Override
  public Request next() {
    if (maxRequests > 0 && next >= maxRequests) {
      return null;
    }
    long index = next++;
    if (ratePerS > 0) {
      clockMicros += -Math.log(1.0 - random.nextDouble()) / ratePerS * 1e6;
    }
    int length = lengths.sample(random);
    int blocks = (length + blockTokens - 1) / blockTokens;
    int shared = (int) Math.min(blocks, Math.floor(prefixShare * length / blockTokens));
    int prefix = drawPrefix();
    long[] keys = new long[2 * blocks];
    long[] chain = prefixChain(prefix, shared);
    System.arraycopy(chain, 0, keys, 0, 2 * shared);
    for (int j = shared; j < blocks; j++) {
      long parentHi = j == 0 ? 0 : keys[2 * j - 2];
      long parentLo = j == 0 ? 0 : keys[2 * j - 1];
      long blockId = seed * 0x9E3779B97F4A7C15L ^ (index << 21) ^ j;
      tokens.key(blockId, parentHi, parentLo, keys, 2 * j);
    }
    return new Request(index, Math.round(clockMicros), length, blockTokens, keys);
  }

  /** The keys of the first {@code blocks} blocks of shared prefix {@code p}, grown on demand. */
  private long[] prefixChain(int p, int blocks) {
    long[] chain = prefixKeys[p];
    if (chain == null || chain.length < 2 * blocks) {
      chain = chain == null ? new long[Math.max(2 * blocks, 16)]
          : Arrays.copyOf(chain, Math.max(2 * blocks, 2 * chain.length));
      prefixKeys[p] = chain;
    }
    for (int j = prefixBlocks[p]; j < blocks; j++) {
      long parentHi = j == 0 ? 0 : chain[2 * j - 2];
      long parentLo = j == 0 ? 0 : chain[2 * j - 1];
      tokens.key(PREFIX_ID_BASE + ((long) p << 24) + j, parentHi, parentLo, chain, 2 * j);
    }
    prefixBlocks[p] = Math.max(prefixBlocks[p], blocks);
    return chain;
  }

  @Override
  public long size() {
    return maxRequests == 0 ? -1 : maxRequests;
  }

  @Override
  public String describe() {
    return String.format(Locale.ROOT,
        "synthetic: prompts %s tokens, %d-token blocks, prefix share %.2f over %d prefixes"
            + " (zipf %.2f), %s, seed %d",
        lengths, blockTokens, prefixShare, zipfCdf.length, zipfExponent,
        ratePerS > 0 ? String.format(Locale.ROOT, "%.1f requests/s", ratePerS) : "no pacing", seed);
  }
}
