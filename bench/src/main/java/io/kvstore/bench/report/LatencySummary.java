package io.kvstore.bench.report;

import org.HdrHistogram.Histogram;

/**
 * Count, mean and the percentiles every kvbench report gives for one latency distribution, in
 * nanoseconds. Percentiles are HdrHistogram's {@code getValueAtPercentile}: the smallest recorded
 * value (at the histogram's precision) that at least that share of the samples do not exceed.
 *
 * @param count samples
 * @param meanNanos arithmetic mean
 * @param p50Nanos median
 * @param p90Nanos 90th percentile
 * @param p99Nanos 99th percentile
 * @param p999Nanos 99.9th percentile
 * @param maxNanos largest sample
 */
public record LatencySummary(
    long count,
    double meanNanos,
    long p50Nanos,
    long p90Nanos,
    long p99Nanos,
    long p999Nanos,
    long maxNanos) {

  /** The summary of no samples: every field 0. */
  public static final LatencySummary EMPTY = new LatencySummary(0, 0, 0, 0, 0, 0, 0);

  /** Summarises {@code h}, whose values are nanoseconds. */
  public static LatencySummary of(Histogram h) {
    if (h.getTotalCount() == 0) {
      return EMPTY;
    }
    return new LatencySummary(
        h.getTotalCount(),
        h.getMean(),
        h.getValueAtPercentile(50.0),
        h.getValueAtPercentile(90.0),
        h.getValueAtPercentile(99.0),
        h.getValueAtPercentile(99.9),
        h.getMaxValue());
  }
}
