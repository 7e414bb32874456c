package io.kvstore.server.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.expositionformats.OpenMetricsTextFormatWriter;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import org.junit.jupiter.api.Test;

class MetricsRegistryTest {

  @Test
  void shouldWriteWholeValuesAsIntegersAndKeepTheRestAsTheLibraryWritesThem() {
    MetricsRegistry r = new MetricsRegistry();
    GaugeWithCallback.builder().name("t_values").help("values").labelNames("k")
        .callback(cb -> {
          cb.call(8_388_608, "whole");
          cb.call(67_108_864, "exponent");
          cb.call(0.25, "fraction");
          cb.call(-3, "negative");
          cb.call(Double.POSITIVE_INFINITY, "inf");
          cb.call(Double.NaN, "nan");
          cb.call(1e17, "huge");
        })
        .register(r.prometheus());
    assertEquals("""
        # HELP t_values values
        # TYPE t_values gauge
        t_values{k="exponent"} 67108864
        t_values{k="fraction"} 0.25
        t_values{k="huge"} 1.0E17
        t_values{k="inf"} +Inf
        t_values{k="nan"} NaN
        t_values{k="negative"} -3
        t_values{k="whole"} 8388608
        """, r.scrape());
  }

  @Test
  void shouldRefuseAFamilyRegisteredTwice() {
    MetricsRegistry r = new MetricsRegistry();
    Gauge.builder().name("t_twice").help("once").register(r.prometheus());
    assertThrows(IllegalArgumentException.class,
        () -> Gauge.builder().name("t_twice").help("twice").register(r.prometheus()));
  }

  @Test
  void shouldPickOpenMetricsOnlyWhenAsked() {
    assertSame(PrometheusTextFormatWriter.class, MetricsRegistry.writerFor(null).getClass());
    assertSame(PrometheusTextFormatWriter.class, MetricsRegistry.writerFor("*/*").getClass());
    assertSame(OpenMetricsTextFormatWriter.class,
        MetricsRegistry.writerFor("application/openmetrics-text; version=1.0.0").getClass());
    assertEquals(MetricsRegistry.TEXT_CONTENT_TYPE, MetricsRegistry.writerFor(null).getContentType());
  }
}
