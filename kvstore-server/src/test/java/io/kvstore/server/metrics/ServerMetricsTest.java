package io.kvstore.server.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ServerMetricsTest {

  @Test
  void shouldRecordLatencyPerOperation() {
    ServerMetrics m = new ServerMetrics(new MetricsRegistry());
    m.recordLatencyNanos(ServerMetrics.Op.GET, 4_000);
    m.recordLatencyNanos(ServerMetrics.Op.GET, 6_000);
    m.recordLatencyNanos(ServerMetrics.Op.PING, 100);
    assertEquals(2, m.latency(ServerMetrics.Op.GET).count());
    assertEquals(10_000, m.latency(ServerMetrics.Op.GET).sumNanos());
    assertEquals(1, m.latency(ServerMetrics.Op.PING).count());
    assertEquals(0, m.latency(ServerMetrics.Op.PUT).count());
    String text = m.registry().scrape();
    assertTrue(text.contains("kvstore_op_latency_seconds_bucket{op=\"get\",le=\"0.000005\"} 1\n"), text);
    assertTrue(text.contains("kvstore_op_latency_seconds_bucket{op=\"get\",le=\"0.00001\"} 2\n"), text);
    assertTrue(text.contains("kvstore_op_latency_seconds_sum{op=\"get\"} 0.00001\n"), text);
    assertTrue(text.contains("kvstore_op_latency_seconds_count{op=\"ping\"} 1\n"), text);
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
}
