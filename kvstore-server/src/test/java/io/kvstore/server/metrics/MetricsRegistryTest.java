package io.kvstore.server.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class MetricsRegistryTest {

  private final MetricsRegistry registry = new MetricsRegistry();

  @Test
  void shouldExposeCounterAndGaugesInRegistrationOrder() {
    Counter c = registry.counter("a_total", "A counter.");
    Gauge g = registry.gauge("b", "A gauge.");
    AtomicLong source = new AtomicLong(5);
    registry.gauge("c_bytes", "A gauge read at scrape.", source::get);
    c.inc();
    c.add(10);
    c.add(-3);
    g.inc();
    g.inc();
    g.dec();
    source.set(99);
    assertEquals("# HELP a_total A counter.\n# TYPE a_total counter\na_total 11\n"
        + "# HELP b A gauge.\n# TYPE b gauge\nb 1\n"
        + "# HELP c_bytes A gauge read at scrape.\n# TYPE c_bytes gauge\nc_bytes 99\n",
        registry.scrape());
    g.set(-4);
    assertTrue(registry.scrape().contains("\nb -4\n"));
  }

  @Test
  void shouldExposeCounterFamilySortedByLabelValueAndEscaped() {
    CounterFamily f = registry.counterFamily("errors_total", "Errors.", "code");
    assertEquals("# HELP errors_total Errors.\n# TYPE errors_total counter\n", registry.scrape());
    f.labels("too_big").inc();
    f.labels("bad \"frame\"").add(2);
    f.labels("too_big").inc();
    assertSame(f.labels("too_big"), f.labels("too_big"));
    assertEquals("# HELP errors_total Errors.\n# TYPE errors_total counter\n"
        + "errors_total{code=\"bad \\\"frame\\\"\"} 2\n"
        + "errors_total{code=\"too_big\"} 2\n", registry.scrape());
  }

  @Test
  void shouldExposeEveryBucketSumAndCountOfAHistogramFamily() {
    HistogramFamily h = registry.histogramFamily("lat_seconds", "Latency.", "op", "get", "put");
    h.labels("get").recordNanos(1_500);       // le 0.000002
    h.labels("get").recordNanos(300_000_000); // le 0.5
    StringBuilder expected = new StringBuilder("# HELP lat_seconds Latency.\n# TYPE lat_seconds histogram\n");
    String[] les = {"0.000001", "0.000002", "0.000005", "0.00001", "0.00002", "0.00005", "0.0001",
        "0.0002", "0.0005", "0.001", "0.002", "0.005", "0.01", "0.02", "0.05", "0.1", "0.2", "0.5",
        "1", "2", "5", "10"};
    for (int i = 0; i < les.length; i++) {
      long n = i == 0 ? 0 : i < 17 ? 1 : 2;
      expected.append("lat_seconds_bucket{op=\"get\",le=\"").append(les[i]).append("\"} ").append(n).append('\n');
    }
    expected.append("lat_seconds_bucket{op=\"get\",le=\"+Inf\"} 2\n")
        .append("lat_seconds_sum{op=\"get\"} 0.3000015\n")
        .append("lat_seconds_count{op=\"get\"} 2\n");
    for (String le : les) {
      expected.append("lat_seconds_bucket{op=\"put\",le=\"").append(le).append("\"} 0\n");
    }
    expected.append("lat_seconds_bucket{op=\"put\",le=\"+Inf\"} 0\n")
        .append("lat_seconds_sum{op=\"put\"} 0\n")
        .append("lat_seconds_count{op=\"put\"} 0\n");
    assertEquals(expected.toString(), registry.scrape());
  }

  @Test
  void shouldRunRegisteredCollectorsAtScrapeTime() {
    AtomicLong v = new AtomicLong();
    registry.register(out -> {
      out.family("x_total", "counter", "X.");
      out.sample("x_total", v.incrementAndGet());
    }, "x_total");
    assertTrue(registry.scrape().endsWith("x_total 1\n"));
    assertTrue(registry.scrape().endsWith("x_total 2\n"));
  }

  @Test
  void shouldRejectBadRegistrations() {
    registry.counter("a_total", "A.");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> registry.gauge("a_total", "again"));
    assertEquals("metric family 'a_total' is registered twice", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> registry.counter("a_count", "A."));
    assertEquals("counter name 'a_count' must end in _total", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> registry.counterFamily("b", "B.", "code"));
    assertThrows(IllegalArgumentException.class, () -> registry.gauge("bad-name", "X."));
    assertThrows(IllegalArgumentException.class, () -> registry.counterFamily("c_total", "C.", "bad-label"));
    assertThrows(IllegalArgumentException.class, () -> registry.histogramFamily("h", "H.", "le", "x"));
    assertThrows(IllegalArgumentException.class, () -> registry.histogramFamily("h", "H.", "op"));
    assertThrows(IllegalArgumentException.class, () -> registry.histogramFamily("h", "H.", "op", "a", "a"));
    assertThrows(IllegalArgumentException.class, () -> registry.register(out -> { }, "a_total"));
    HistogramFamily h = registry.histogramFamily("h2", "H.", "op", "get");
    e = assertThrows(IllegalArgumentException.class, () -> h.labels("put"));
    assertEquals("unknown op 'put' for h2; known: [get]", e.getMessage());
  }
}
