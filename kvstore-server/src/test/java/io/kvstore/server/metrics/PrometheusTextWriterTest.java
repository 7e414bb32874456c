package io.kvstore.server.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class PrometheusTextWriterTest {

  private final StringBuilder sb = new StringBuilder();
  private final PrometheusTextWriter out = new PrometheusTextWriter(sb);

  @Test
  void shouldWriteHelpTypeAndSamples() {
    out.family("kvstore_x_total", "counter", "Things counted.");
    out.sample("kvstore_x_total", 42);
    out.sample("kvstore_x_total", "tier", "dram", 7);
    assertEquals("# HELP kvstore_x_total Things counted.\n"
        + "# TYPE kvstore_x_total counter\n"
        + "kvstore_x_total 42\n"
        + "kvstore_x_total{tier=\"dram\"} 7\n", sb.toString());
  }

  @Test
  void shouldEscapeBackslashQuoteAndNewlineInLabelValues() {
    out.sample("m", "code", "a\\b\"c\nd", 1);
    assertEquals("m{code=\"a\\\\b\\\"c\\nd\"} 1\n", sb.toString());
  }

  @Test
  void shouldEscapeBackslashAndNewlineButNotQuotesInHelp() {
    out.family("m", "gauge", "say \"hi\"\\ then\nmore");
    assertEquals("# HELP m say \"hi\"\\\\ then\\nmore\n# TYPE m gauge\n", sb.toString());
  }

  @Test
  void shouldWriteTwoLabelsAndTextValues() {
    out.sample("h_bucket", "op", "get", "le", "0.001", "3");
    out.sample("h_bucket", null, null, "le", "+Inf", "4");
    out.sample("h_sum", "op", "get", null, null, "0.25");
    out.sample("h_count", null, null, null, null, "4");
    assertEquals("h_bucket{op=\"get\",le=\"0.001\"} 3\n"
        + "h_bucket{le=\"+Inf\"} 4\n"
        + "h_sum{op=\"get\"} 0.25\n"
        + "h_count 4\n", sb.toString());
  }

  @ParameterizedTest
  @CsvSource({
    "0, 0",
    "1, 0.000000001",
    "1000, 0.000001",
    "1500, 0.0000015",
    "250000000, 0.25",
    "1000000000, 1",
    "10000000000, 10",
    "123456789012, 123.456789012",
  })
  void shouldFormatNanosecondsAsExactSeconds(long nanos, String expected) {
    assertEquals(expected, PrometheusTextWriter.seconds(nanos));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "1abc", "a-b", "a b", "é"})
  void shouldRejectBadMetricNames(String name) {
    assertThrows(IllegalArgumentException.class, () -> PrometheusTextWriter.checkMetricName(name));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "1a", "a:b", "__reserved", "a-b"})
  void shouldRejectBadLabelNames(String name) {
    assertThrows(IllegalArgumentException.class, () -> PrometheusTextWriter.checkLabelName(name));
  }

  @Test
  void shouldAcceptGoodNames() {
    assertEquals("kvstore:x_1", PrometheusTextWriter.checkMetricName("kvstore:x_1"));
    assertEquals("_tier2", PrometheusTextWriter.checkLabelName("_tier2"));
  }
}
