package io.kvstore.server.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kvstore.core.store.StoreStats;
import io.kvstore.core.store.StoreStats.TierStats;
import io.kvstore.core.tier.TierKind;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class StoreMetricsTest {

  @Test
  void shouldWriteEveryStoreNumberFromOneSnapshotPerScrape() {
    AtomicInteger reads = new AtomicInteger();
    StoreStats stats = new StoreStats(100, 7, 50, 5000, 1, 2, 3, 4, 9, List.of(
        new TierStats(TierKind.DRAM, 1024, 512, 5, 60, 6000, 11, 12, 13, 14),
        new TierStats(TierKind.SSD, 4096, 2048, 20, 33, 3300, 21, 22, 23, 24)));
    MetricsRegistry registry = new MetricsRegistry();
    StoreMetrics.register(registry, () -> {
      reads.incrementAndGet();
      return stats;
    });
    String expected = ""
        + "# HELP kvstore_gets_total Pages asked for (hits in any tier plus misses).\n"
        + "# TYPE kvstore_gets_total counter\nkvstore_gets_total 100\n"
        + "# HELP kvstore_misses_total Pages asked for and found in no tier.\n"
        + "# TYPE kvstore_misses_total counter\nkvstore_misses_total 7\n"
        + "# HELP kvstore_puts_total Pages stored.\n"
        + "# TYPE kvstore_puts_total counter\nkvstore_puts_total 50\n"
        + "# HELP kvstore_put_bytes_total Bytes of the pages stored, headers included.\n"
        + "# TYPE kvstore_put_bytes_total counter\nkvstore_put_bytes_total 5000\n"
        + "# HELP kvstore_put_rejects_total Pages no tier could take.\n"
        + "# TYPE kvstore_put_rejects_total counter\nkvstore_put_rejects_total 1\n"
        + "# HELP kvstore_deletes_total Pages deleted on request.\n"
        + "# TYPE kvstore_deletes_total counter\nkvstore_deletes_total 2\n"
        + "# HELP kvstore_prefetch_requests_total Prefetch requests.\n"
        + "# TYPE kvstore_prefetch_requests_total counter\nkvstore_prefetch_requests_total 4\n"
        + "# HELP kvstore_prefetched_pages_total Pages promoted by prefetch.\n"
        + "# TYPE kvstore_prefetched_pages_total counter\nkvstore_prefetched_pages_total 9\n"
        + "# HELP kvstore_corruptions_total Pages that failed their checksum when read (served as"
        + " misses and removed).\n"
        + "# TYPE kvstore_corruptions_total counter\nkvstore_corruptions_total 3\n"
        + tier("kvstore_tier_hits_total", "counter", "Pages found, by the tier they were found in.", 60, 33)
        + tier("kvstore_tier_hit_bytes_total", "counter", "Bytes of the pages found, by tier.", 6000, 3300)
        + tier("kvstore_tier_used_bytes", "gauge", "Bytes in use in the tier now.", 512, 2048)
        + tier("kvstore_tier_capacity_bytes", "gauge", "Configured capacity of the tier.", 1024, 4096)
        + tier("kvstore_tier_pages", "gauge", "Pages held in the tier now.", 5, 20)
        + tier("kvstore_tier_evictions_total", "counter", "Pages evicted from the tier to make room.", 11, 21)
        + tier("kvstore_tier_promotions_total", "counter",
            "Pages copied into the tier from a slower one on a hit or a prefetch.", 12, 22)
        + tier("kvstore_tier_demotions_total", "counter",
            "Pages written into the tier when a faster tier evicted them.", 13, 23)
        + tier("kvstore_tier_admission_rejects_total", "counter",
            "Demotions into the tier refused by its admission policy.", 14, 24);
    assertEquals(expected, registry.scrape());
    assertEquals(1, reads.get());
  }

  private static String tier(String name, String type, String help, long dram, long ssd) {
    return "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n"
        + name + "{tier=\"dram\"} " + dram + "\n" + name + "{tier=\"ssd\"} " + ssd + "\n";
  }

  @Test
  void shouldReserveItsFamilyNames() {
    MetricsRegistry registry = new MetricsRegistry();
    StoreMetrics.register(registry, () -> null);
    assertThrows(IllegalArgumentException.class, () -> registry.counter("kvstore_misses_total", "x"));
  }
}
