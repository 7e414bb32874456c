package io.kvstore.bench.report;

import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/** The one histogram shape kvbench records latencies in, so that recorders can be merged. */
public final class Histograms {

  /** Largest latency tracked: one minute (a longer sample is clamped to it, never dropped). */
  public static final long MAX_TRACKABLE_NANOS = TimeUnit.MINUTES.toNanos(1);
  /** Significant decimal digits kept: 3, so every percentile is within 0.1% of the sample. */
  public static final int SIGNIFICANT_DIGITS = 3;

  private Histograms() {}

  /** A new, empty latency histogram in nanoseconds. */
  public static Histogram newLatencyHistogram() {
    return new Histogram(MAX_TRACKABLE_NANOS, SIGNIFICANT_DIGITS);
  }

  /** Records {@code nanos}, clamped to {@code [0, MAX_TRACKABLE_NANOS]}. */
  public static void record(Histogram h, long nanos) {
    h.recordValue(Math.max(0, Math.min(MAX_TRACKABLE_NANOS, nanos)));
  }

  /**
   * Points of the latency CDF of {@code h} for a plot: {@code [0]} latencies in microseconds,
   * {@code [1]} the share of samples at or below each, one point per distinct recorded bucket.
   */
  public static double[][] cdfMicros(Histogram h) {
    int n = 0;
    for (var v : h.recordedValues()) {
      n++;
    }
    double[] x = new double[n];
    double[] y = new double[n];
    double total = h.getTotalCount();
    long cumulative = 0;
    int i = 0;
    for (var v : h.recordedValues()) {
      cumulative += v.getCountAtValueIteratedTo();
      x[i] = h.highestEquivalentValue(v.getValueIteratedTo()) / 1_000.0;
      y[i] = cumulative / total;
      i++;
    }
    return new double[][] {x, y};
  }
}
