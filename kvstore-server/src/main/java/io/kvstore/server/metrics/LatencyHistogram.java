package io.kvstore.server.metrics;

import io.prometheus.metrics.core.datapoints.DistributionDataPoint;

/**
 * One operation's latency series of {@code kvstore_op_latency_seconds}: records durations in
 * nanoseconds into the Prometheus client's histogram (classic buckets only, see {@link
 * ServerMetrics#LATENCY_BOUNDS_SECONDS}) and reads its count and sum back, for tests and the
 * STATS verb. Recording takes no lock and allocates nothing (the library's data point keeps a
 * {@code LongAdder} per bucket).
 */
public final class LatencyHistogram {

  private final DistributionDataPoint point;

  LatencyHistogram(DistributionDataPoint point) {
    this.point = point;
  }

  /**
   * Records one duration.
   *
   * @param nanos the duration in nanoseconds (e.g. the difference of two {@link System#nanoTime()});
   *     negative durations (a clock step) count as 0
   */
  public void recordNanos(long nanos) {
    point.observe(Math.max(0, nanos) / 1e9);
  }

  /** Durations recorded so far. */
  public long count() {
    return point.getCount();
  }

  /** Sum of the durations recorded so far, in seconds. */
  public double sumSeconds() {
    return point.getSum();
  }
}
