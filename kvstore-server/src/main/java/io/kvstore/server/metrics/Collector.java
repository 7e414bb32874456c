package io.kvstore.server.metrics;

/**
 * Something that writes one or more complete metric families at scrape time. Implementations read
 * their numbers when called (counters they own, or a snapshot such as the store's statistics).
 */
@FunctionalInterface
public interface Collector {

  /**
   * Writes this collector's families: each family's {@code HELP}/{@code TYPE} lines and all of its
   * samples, together.
   *
   * @param out the writer of the current scrape
   */
  void collect(PrometheusTextWriter out);
}
