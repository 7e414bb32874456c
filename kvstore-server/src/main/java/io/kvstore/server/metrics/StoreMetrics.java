package io.kvstore.server.metrics;

import io.kvstore.core.store.StoreStats;
import io.kvstore.core.store.StoreStats.TierStats;
import java.util.Locale;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

/**
 * The store's numbers as metrics, read from one {@link StoreStats} snapshot per scrape so that all
 * families of a scrape describe the same moment. Per-tier families carry a {@code tier} label
 * ({@code hot}, {@code dram}, {@code ssd}) with one sample per tier the store has.
 */
public final class StoreMetrics implements Collector {

  /** Every family this collector writes, in order. */
  static final String[] FAMILIES = {
    "kvstore_gets_total", "kvstore_misses_total", "kvstore_puts_total", "kvstore_put_bytes_total",
    "kvstore_put_rejects_total", "kvstore_deletes_total", "kvstore_prefetch_requests_total",
    "kvstore_prefetched_pages_total", "kvstore_corruptions_total",
    "kvstore_tier_hits_total", "kvstore_tier_hit_bytes_total", "kvstore_tier_used_bytes",
    "kvstore_tier_capacity_bytes", "kvstore_tier_pages", "kvstore_tier_evictions_total",
    "kvstore_tier_promotions_total", "kvstore_tier_demotions_total",
    "kvstore_tier_admission_rejects_total",
  };

  private final Supplier<StoreStats> stats;

  private StoreMetrics(Supplier<StoreStats> stats) {
    this.stats = stats;
  }

  /**
   * Registers the store's metrics.
   *
   * @param registry where to register
   * @param stats reads the store's statistics, e.g. {@code store::stats}; called once per scrape
   */
  public static void register(MetricsRegistry registry, Supplier<StoreStats> stats) {
    registry.register(new StoreMetrics(stats), FAMILIES);
  }

  @Override
  public void collect(PrometheusTextWriter out) {
    StoreStats s = stats.get();
    counter(out, "kvstore_gets_total", "Pages asked for (hits in any tier plus misses).", s.gets());
    counter(out, "kvstore_misses_total", "Pages asked for and found in no tier.", s.misses());
    counter(out, "kvstore_puts_total", "Pages stored.", s.puts());
    counter(out, "kvstore_put_bytes_total", "Bytes of the pages stored, headers included.", s.putBytes());
    counter(out, "kvstore_put_rejects_total", "Pages no tier could take.", s.putRejects());
    counter(out, "kvstore_deletes_total", "Pages deleted on request.", s.deletes());
    counter(out, "kvstore_prefetch_requests_total", "Prefetch requests.", s.prefetchRequests());
    counter(out, "kvstore_prefetched_pages_total", "Pages promoted by prefetch.", s.prefetchedPages());
    counter(out, "kvstore_corruptions_total",
        "Pages that failed their checksum when read (served as misses and removed).", s.corruptions());
    perTier(out, s, "kvstore_tier_hits_total", "counter", "Pages found, by the tier they were found in.",
        TierStats::hits);
    perTier(out, s, "kvstore_tier_hit_bytes_total", "counter", "Bytes of the pages found, by tier.",
        TierStats::hitBytes);
    perTier(out, s, "kvstore_tier_used_bytes", "gauge", "Bytes in use in the tier now.",
        TierStats::usedBytes);
    perTier(out, s, "kvstore_tier_capacity_bytes", "gauge", "Configured capacity of the tier.",
        TierStats::capacityBytes);
    perTier(out, s, "kvstore_tier_pages", "gauge", "Pages held in the tier now.", TierStats::pageCount);
    perTier(out, s, "kvstore_tier_evictions_total", "counter",
        "Pages evicted from the tier to make room.", TierStats::evictions);
    perTier(out, s, "kvstore_tier_promotions_total", "counter",
        "Pages copied into the tier from a slower one on a hit or a prefetch.", TierStats::promotions);
    perTier(out, s, "kvstore_tier_demotions_total", "counter",
        "Pages written into the tier when a faster tier evicted them.", TierStats::demotions);
    perTier(out, s, "kvstore_tier_admission_rejects_total", "counter",
        "Demotions into the tier refused by its admission policy.", TierStats::admissionRejects);
  }

  private static void counter(PrometheusTextWriter out, String name, String help, long value) {
    out.family(name, "counter", help);
    out.sample(name, value);
  }

  private static void perTier(PrometheusTextWriter out, StoreStats s, String name, String type,
      String help, ToLongFunction<TierStats> value) {
    out.family(name, type, help);
    for (TierStats t : s.tiers()) {
      out.sample(name, "tier", t.kind().name().toLowerCase(Locale.ROOT), value.applyAsLong(t));
    }
  }
}
