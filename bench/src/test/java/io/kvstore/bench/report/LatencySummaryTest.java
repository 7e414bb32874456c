package io.kvstore.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

class LatencySummaryTest {

  @Test
  void shouldGiveThePercentilesOfAUniformRun() {
    Histogram h = Histograms.newLatencyHistogram();
    for (long v = 1; v <= 1000; v++) {
      h.recordValue(v * 1_000); // 1 us .. 1000 us
    }
    LatencySummary s = LatencySummary.of(h);
    assertEquals(1000, s.count());
    assertEquals(500_500, s.meanNanos(), 500_500 * 0.001);
    // The smallest value that at least p% of the samples do not exceed, within 0.1%.
    assertEquals(500_000, s.p50Nanos(), 500);
    assertEquals(900_000, s.p90Nanos(), 900);
    assertEquals(990_000, s.p99Nanos(), 990);
    assertEquals(999_000, s.p999Nanos(), 999);
    assertEquals(1_000_000, s.maxNanos(), 1000);
  }

  @Test
  void shouldPutATailSampleOnlyInTheHighPercentiles() {
    Histogram h = Histograms.newLatencyHistogram();
    for (int i = 0; i < 999; i++) {
      h.recordValue(10_000);
    }
    h.recordValue(50_000_000);
    LatencySummary s = LatencySummary.of(h);
    assertEquals(10_000, s.p50Nanos(), 10);
    assertEquals(10_000, s.p99Nanos(), 10);
    assertEquals(10_000, s.p999Nanos(), 10);
    assertEquals(50_000_000, s.maxNanos(), 50_000);
  }

  @Test
  void shouldSummariseNoSamplesAsZeros() {
    assertEquals(LatencySummary.EMPTY, LatencySummary.of(Histograms.newLatencyHistogram()));
  }

  @Test
  void shouldClampSamplesOutsideTheTrackableRange() {
    Histogram h = Histograms.newLatencyHistogram();
    Histograms.record(h, -5);
    Histograms.record(h, Long.MAX_VALUE);
    assertEquals(2, h.getTotalCount());
    assertEquals(0, h.getMinValue());
    assertTrue(h.getMaxValue() >= Histograms.MAX_TRACKABLE_NANOS);
  }

  @Test
  void shouldBuildACdfThatEndsAtOne() {
    Histogram h = Histograms.newLatencyHistogram();
    h.recordValue(1_000);
    h.recordValue(1_000);
    h.recordValue(3_000);
    h.recordValue(9_000);
    double[][] cdf = Histograms.cdfMicros(h);
    assertEquals(3, cdf[0].length);
    assertEquals(1.0, cdf[0][0], 0.001);
    assertEquals(0.5, cdf[1][0], 1e-12);
    assertEquals(0.75, cdf[1][1], 1e-12);
    assertEquals(1.0, cdf[1][2], 1e-12);
    assertEquals(9.0, cdf[0][2], 0.01);
  }
}
