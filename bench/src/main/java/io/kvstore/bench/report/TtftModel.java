package io.kvstore.bench.report;

/**
 * A model of time to first token (prefill only; queueing and the first decode step left out): without
 * a store every prompt token is computed at {@code prefillTokensPerS}; with the store the leading
 * tokens it holds cost the measured time of fetching them, and only the rest are computed.
 *
 * <pre>
 *   without = inputTokens / prefillTokensPerS
 *   with    = fetchNanos + (inputTokens - hitTokens) / prefillTokensPerS
 * </pre>
 *
 * <p>{@code fetchNanos} is the whole measured lookup and fetch time of the request, misses included:
 * a request that hits nothing still pays its lookup.
 */
public final class TtftModel {

  private final double prefillTokensPerS;

  /**
   * @param prefillTokensPerS how many prompt tokens the engine computes per second (> 0)
   * @throws IllegalArgumentException if it is not a positive finite number
   */
  public TtftModel(double prefillTokensPerS) {
    if (!(prefillTokensPerS > 0) || Double.isInfinite(prefillTokensPerS)) {
      throw new IllegalArgumentException(
          "prefill rate must be a positive number of tokens/s, got " + prefillTokensPerS);
    }
    this.prefillTokensPerS = prefillTokensPerS;
  }

  /** The prefill rate in tokens per second. */
  public double prefillTokensPerS() {
    return prefillTokensPerS;
  }

  /** Modeled time to first token without a store, in nanoseconds. */
  public long withoutStoreNanos(int inputTokens) {
    return computeNanos(inputTokens);
  }

  /**
   * Modeled time to first token with the store, in nanoseconds.
   *
   * @param hitTokens leading prompt tokens served by the store ({@code <= inputTokens})
   * @param fetchNanos measured time of looking them up and fetching them
   */
  public long withStoreNanos(int inputTokens, int hitTokens, long fetchNanos) {
    if (hitTokens < 0 || hitTokens > inputTokens) {
      throw new IllegalArgumentException(
          "hit tokens " + hitTokens + " outside [0, " + inputTokens + "]");
    }
    return fetchNanos + computeNanos(inputTokens - hitTokens);
  }

  private long computeNanos(int tokens) {
    return Math.round(tokens * 1e9 / prefillTokensPerS);
  }
}
