package io.kvstore.bench.replay;

import io.kvstore.bench.report.RunReport;
import org.HdrHistogram.Histogram;

/**
 * A finished run: its report and the merged latency histograms behind it (for CDF plots).
 *
 * @param report the numbers
 * @param fetchLatency latency of every fetch call, nanoseconds
 * @param putLatency latency of every put call, nanoseconds
 */
public record RunResult(RunReport report, Histogram fetchLatency, Histogram putLatency) {}
