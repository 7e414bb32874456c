package io.kvstore.bench.report;

import java.util.List;
import java.util.Map;

/**
 * Everything one {@code replay} or {@code load} run reports. Rates are derived from the counts and
 * {@link #elapsedNanos()}; hit ratios from the block counts (a block reference is one block of one
 * request that looked up the store).
 *
 * @param command {@code replay} or {@code load}
 * @param target which store ({@code kvstore-embedded}, {@code kvstore-daemon}, {@code redis})
 * @param workload what ran (trace file, or the synthetic workload's parameters)
 * @param label what distinguishes this run in a sweep (e.g. {@code dram=256MiB}), or ""
 * @param pageBytes payload bytes per page (the page on the wire and in the tiers is 64 bytes more)
 * @param workers concurrent workers (each with its own connection)
 * @param elapsedNanos wall time of the measured run
 * @param requests requests completed (a request with a failed call is not: see failedCalls)
 * @param fetchCalls fetch calls (one batch of keys each)
 * @param pagesFetched pages received (verified or not)
 * @param bytesFetched their bytes, headers included
 * @param putCalls put calls (one batch of pages each)
 * @param pagesPut pages sent
 * @param bytesPut their bytes, headers included
 * @param fetchLatency latency of one fetch call
 * @param putLatency latency of one put call
 * @param blockReferences blocks of the requests that looked up the store
 * @param hitBlocks of those, blocks in the leading run the store served
 * @param tokens prompt tokens of those requests
 * @param hitTokens prompt tokens served by the store
 * @param tiers per-tier counters over the run, fastest first (empty if the target has none)
 * @param errors pages received whose bytes did not verify (checksum, key, namespace or length)
 * @param putRejects pages the store refused
 * @param failedCalls fetch and put calls that failed (the run went on; {@code --stop-on-failure}
 *     ends it at the first instead)
 * @param failedCallsByCause those calls by cause: the SDK's error code name, or the failure's class
 * @param prefillTokensPerS the TTFT model's prefill rate
 * @param ttftWithout modeled TTFT without the store
 * @param ttftWith modeled TTFT with the store
 * @param timelineBinNanos width of one throughput timeline bin
 * @param timelineBytes bytes fetched and put per bin, from the start of the run
 */
public record RunReport(
    String command,
    String target,
    String workload,
    String label,
    int pageBytes,
    int workers,
    long elapsedNanos,
    long requests,
    long fetchCalls,
    long pagesFetched,
    long bytesFetched,
    long putCalls,
    long pagesPut,
    long bytesPut,
    LatencySummary fetchLatency,
    LatencySummary putLatency,
    long blockReferences,
    long hitBlocks,
    long tokens,
    long hitTokens,
    List<TierResult> tiers,
    long errors,
    long putRejects,
    long failedCalls,
    Map<String, Long> failedCallsByCause,
    double prefillTokensPerS,
    LatencySummary ttftWithout,
    LatencySummary ttftWith,
    long timelineBinNanos,
    long[] timelineBytes) {

  /** Copies the map so that the report stays as it was made. */
  public RunReport {
    failedCallsByCause = Map.copyOf(failedCallsByCause);
  }

  /** Completed requests per second. */
  public double requestsPerSecond() {
    return perSecond(requests);
  }

  /** Fetch and put calls per second. */
  public double opsPerSecond() {
    return perSecond(fetchCalls + putCalls);
  }

  /** Pages fetched and put per second. */
  public double pagesPerSecond() {
    return perSecond(pagesFetched + pagesPut);
  }

  /** Bytes fetched and put per second, in GB/s (10^9 bytes). */
  public double gigabytesPerSecond() {
    return perSecond(bytesFetched + bytesPut) / 1e9;
  }

  /** Share of block references served from the store. */
  public double hitRatio() {
    return blockReferences == 0 ? 0.0 : (double) hitBlocks / blockReferences;
  }

  /** Prompt tokens served from the store over all prompt tokens. */
  public double prefixHitTokenRatio() {
    return tokens == 0 ? 0.0 : (double) hitTokens / tokens;
  }

  /** Share of block references served from tier {@code t}. */
  public double tierHitRatio(TierResult t) {
    return blockReferences == 0 ? 0.0 : (double) t.hits() / blockReferences;
  }

  /** Bytes promoted into any tier. */
  public long promotedBytes() {
    return tiers.stream().mapToLong(TierResult::promotedBytes).sum();
  }

  /** Bytes demoted into any tier. */
  public long demotedBytes() {
    return tiers.stream().mapToLong(TierResult::demotedBytes).sum();
  }

  /** Throughput of each timeline bin in GB/s. */
  public double[] timelineGigabytesPerSecond() {
    double[] out = new double[timelineBytes.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = timelineBytes[i] / (timelineBinNanos / 1e9) / 1e9;
    }
    return out;
  }

  private double perSecond(long count) {
    return elapsedNanos <= 0 ? 0.0 : count / (elapsedNanos / 1e9);
  }
}
