package io.kvstore.server.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;

class ServerMetricsTest {

  @Test
  void shouldRecordLatencyPerOperationInFixedBuckets() {
    ServerMetrics m = new ServerMetrics(new MetricsRegistry());
    m.recordLatencyNanos(ServerMetrics.Op.GET, 4_000);
    m.recordLatencyNanos(ServerMetrics.Op.GET, 6_000);
    m.recordLatencyNanos(ServerMetrics.Op.PING, 100);
    m.recordLatencyNanos(ServerMetrics.Op.PING, -5); // a clock step counts as 0
    assertEquals(2, m.latency(ServerMetrics.Op.GET).count());
    assertEquals(1e-5, m.latency(ServerMetrics.Op.GET).sumSeconds(), 1e-12);
    assertEquals(2, m.latency(ServerMetrics.Op.PING).count());
    assertEquals(0, m.latency(ServerMetrics.Op.PUT).count());
    String text = m.registry().scrape();
    assertTrue(text.contains("kvstore_op_latency_seconds_bucket{op=\"get\",le=\"2.0E-6\"} 0\n"), text);
    assertTrue(text.contains("kvstore_op_latency_seconds_bucket{op=\"get\",le=\"5.0E-6\"} 1\n"), text);
    assertTrue(text.contains("kvstore_op_latency_seconds_bucket{op=\"get\",le=\"1.0E-5\"} 2\n"), text);
    assertTrue(text.contains("kvstore_op_latency_seconds_bucket{op=\"get\",le=\"10.0\"} 2\n"), text);
    assertTrue(text.contains("kvstore_op_latency_seconds_bucket{op=\"get\",le=\"+Inf\"} 2\n"), text);
    assertTrue(text.contains("kvstore_op_latency_seconds_count{op=\"ping\"} 2\n"), text);
    assertEquals(ServerMetrics.LATENCY_BOUNDS_SECONDS.length + 1,
        text.lines().filter(l -> l.startsWith("kvstore_op_latency_seconds_bucket{op=\"put\"")).count());
    for (ServerMetrics.Op op : ServerMetrics.Op.values()) {
      assertTrue(text.contains("kvstore_op_latency_seconds_count{op=\"" + op.label() + "\"} "), op.label());
    }
  }

  @Test
  void shouldCountConnectionsErrorsAndBytes() {
    ServerMetrics m = new ServerMetrics(new MetricsRegistry());
    m.connectionOpened();
    m.connectionOpened();
    m.connectionOpened();
    m.connectionClosed();
    m.recordError("FRAME_TOO_LARGE");
    m.recordError("FRAME_TOO_LARGE");
    m.recordError("AUTH_FAILED");
    m.addBytesIn(100);
    m.addBytesIn(28);
    m.addBytesOut(4096);
    assertEquals(2, m.connections());
    assertEquals(3, m.connectionsAccepted());
    assertEquals(2, m.errors("FRAME_TOO_LARGE"));
    assertEquals(0, m.errors("never_seen"));
    assertEquals(128, m.bytesIn());
    assertEquals(4096, m.bytesOut());
    String text = m.registry().scrape();
    assertTrue(text.contains("# TYPE kvstore_connections gauge\nkvstore_connections 2\n"), text);
    assertTrue(text.contains("# TYPE kvstore_connections_accepted_total counter\n"
        + "kvstore_connections_accepted_total 3\n"), text);
    assertTrue(text.contains("# TYPE kvstore_errors_total counter\n"
        + "kvstore_errors_total{code=\"AUTH_FAILED\"} 1\n"
        + "kvstore_errors_total{code=\"FRAME_TOO_LARGE\"} 2\n"), text);
    assertTrue(text.contains("kvstore_bytes_in_total 128\n"), text);
    assertTrue(text.contains("kvstore_bytes_out_total 4096\n"), text);
  }

  @Test
  void shouldServeCountersAndGaugesKeptElsewhereAtEachScrape() {
    ServerMetrics m = new ServerMetrics(new MetricsRegistry());
    LongAdder authFailures = new LongAdder();
    LongAdder refusedPerAddress = new LongAdder();
    LongAdder refusedPerToken = new LongAdder();
    long[] budgetBytes = {0};
    m.registerCounter("kvstore_auth_failures_total", "Failed HELLOs.", authFailures::sum);
    Map<String, LongSupplier> reasons = new LinkedHashMap<>();
    reasons.put("per_address", refusedPerAddress::sum);
    reasons.put("per_token", refusedPerToken::sum);
    m.registerCounter("kvstore_connections_refused_total", "Refused connections.", "reason", reasons);
    m.registerGauge("kvstore_request_budget_used_bytes", "Budget in use.", () -> budgetBytes[0]);
    m.registerGauge("kvstore_test_by_kind", "By kind.", "kind", Map.of("a", () -> 7L));

    authFailures.add(3);
    refusedPerToken.increment();
    budgetBytes[0] = 65_536;
    String text = m.registry().scrape();
    assertTrue(text.contains("# TYPE kvstore_auth_failures_total counter\nkvstore_auth_failures_total 3\n"), text);
    assertTrue(text.contains("# TYPE kvstore_connections_refused_total counter\n"
        + "kvstore_connections_refused_total{reason=\"per_address\"} 0\n"
        + "kvstore_connections_refused_total{reason=\"per_token\"} 1\n"), text);
    assertTrue(text.contains("# TYPE kvstore_request_budget_used_bytes gauge\n"
        + "kvstore_request_budget_used_bytes 65536\n"), text);
    assertTrue(text.contains("kvstore_test_by_kind{kind=\"a\"} 7\n"), text);

    authFailures.add(2);
    assertTrue(m.registry().scrape().contains("kvstore_auth_failures_total 5\n"));
  }

  @Test
  void shouldRefuseACounterWithoutTotalAndANameTakenTwice() {
    ServerMetrics m = new ServerMetrics(new MetricsRegistry());
    assertThrows(IllegalArgumentException.class, () -> m.registerCounter("kvstore_x", "x", () -> 1));
    assertThrows(IllegalArgumentException.class,
        () -> m.registerCounter("kvstore_connections_accepted_total", "again", () -> 1));
    assertThrows(IllegalArgumentException.class,
        () -> m.registerGauge("kvstore_connections", "again", () -> 1));
  }
}
