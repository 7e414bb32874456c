package io.kvstore.server.net;

import io.kvstore.server.metrics.MetricsRegistry;
import io.kvstore.server.metrics.ServerMetrics;
import io.kvstore.server.metrics.StoreMetrics;

/**
 * The body of STATS_OK ({@code spec/3-wire-protocol.md} §3.4.3): the store's statistics and the
 * server's connection and byte counters as {@code name value} lines, the Prometheus text format
 * without comments. The names are those of {@code docs/metrics.md}, so an operator reads the same
 * numbers over the protocol and from {@code /metrics}.
 *
 * <p>The store's families come from a private registry holding only {@link StoreMetrics}, so the
 * text does not depend on what the daemon registered in its own registry.
 */
final class StatsText {

  private final MetricsRegistry storeRegistry = new MetricsRegistry();
  private final ServerMetrics server;

  StatsText(StoreOps store, ServerMetrics server) {
    this.server = server;
    StoreMetrics.register(storeRegistry, store::stats);
  }

  /** The current text; one line per sample, each ending with a newline. */
  String render() {
    String scraped = storeRegistry.scrape();
    StringBuilder sb = new StringBuilder(scraped.length() + 256);
    int start = 0;
    while (start < scraped.length()) {
      int end = scraped.indexOf('\n', start);
      if (end < 0) {
        end = scraped.length();
      }
      if (end > start && scraped.charAt(start) != '#') {
        sb.append(scraped, start, end).append('\n');
      }
      start = end + 1;
    }
    sb.append("kvstore_connections ").append(server.connections()).append('\n');
    sb.append("kvstore_connections_accepted_total ").append(server.connectionsAccepted()).append('\n');
    sb.append("kvstore_bytes_in_total ").append(server.bytesIn()).append('\n');
    sb.append("kvstore_bytes_out_total ").append(server.bytesOut()).append('\n');
    return sb.toString();
  }
}
