package io.kvstore.server.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.store.StoreStats;
import io.kvstore.core.store.StoreHealth;
import io.kvstore.core.store.StoreStats.TierStats;
import io.kvstore.core.store.StoreStats.WriteBackStats;
import io.kvstore.core.tier.TierKind;
import io.prometheus.metrics.core.metrics.Counter;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class StoreMetricsTest {

  private static final StoreStats STATS = new StoreStats(100, 7, 50, 5000, 1, 2, 3, 4, 9, List.of(
      new TierStats(TierKind.DRAM, 1024, 512, 5, 768, 60, 6000, 11, 12, 13, 14),
      new TierStats(TierKind.SSD, 4096, 2048, 20, 0, 33, 3300, 21, 22, 23, 24)));

  @Test
  void shouldServeEveryStoreNumberWithItsTypeAndHelp() {
    MetricsRegistry registry = new MetricsRegistry();
    StoreMetrics.register(registry, () -> STATS);
    String text = registry.scrape();
    family(text, "kvstore_gets_total", "counter",
        "Pages asked for (hits in a tier or the write-back queue, plus misses).", "100");
    family(text, "kvstore_misses_total", "counter",
        "Pages asked for and found in no tier nor the write-back queue.", "7");
    family(text, "kvstore_puts_total", "counter", "Pages stored.", "50");
    family(text, "kvstore_put_bytes_total", "counter", "Bytes of the pages stored, headers included.", "5000");
    family(text, "kvstore_put_rejects_total", "counter", "Pages no tier could take.", "1");
    family(text, "kvstore_put_index_full_total", "counter",
        "Puts refused because the page directory had no room for another memory page"
            + " (pages smaller than ssd.min.page.bytes).", "0");
    family(text, "kvstore_deletes_total", "counter", "Pages deleted on request.", "2");
    family(text, "kvstore_prefetch_requests_total", "counter", "Prefetch requests.", "4");
    family(text, "kvstore_prefetched_pages_total", "counter", "Pages promoted by prefetch.", "9");
    family(text, "kvstore_corruptions_total", "counter",
        "Pages that failed their checksum when read (served as misses and removed).", "3");
    tier(text, "kvstore_tier_hits_total", "counter", "Pages found, by the tier they were found in.", 60, 33);
    tier(text, "kvstore_tier_hit_bytes_total", "counter", "Bytes of the pages found, by tier.", 6000, 3300);
    tier(text, "kvstore_tier_used_bytes", "gauge", "Bytes in use in the tier now.", 512, 2048);
    tier(text, "kvstore_tier_capacity_bytes", "gauge",
        "Capacity of the tier: as configured, or the SSD tier's fitted to a smaller disk at start.",
        1024, 4096);
    tier(text, "kvstore_tier_pages", "gauge", "Pages held in the tier now.", 5, 20);
    tier(text, "kvstore_tier_memory_bytes", "gauge",
        "Memory the tier holds now: a memory tier's slabs (the one allocated ahead of puts"
            + " included) and staging buffers, kept until shutdown; 0 for the SSD tier.", 768, 0);
    tier(text, "kvstore_tier_evictions_total", "counter", "Pages evicted from the tier to make room.", 11, 21);
    tier(text, "kvstore_tier_promotions_total", "counter",
        "Pages copied into the tier from a slower one on a hit or a prefetch.", 12, 22);
    tier(text, "kvstore_tier_demotions_total", "counter",
        "Pages written into the tier when a faster tier evicted them.", 13, 23);
    tier(text, "kvstore_tier_admission_rejects_total", "counter",
        "Demotions into the tier refused by its admission policy.", 14, 24);
    assertEquals(40, text.lines().filter(l -> l.startsWith("# TYPE ")).count(), text);
  }

  @Test
  void shouldServeTheIndexMemoryThatRunsOffTheDataDirectory() {
    MetricsRegistry registry = new MetricsRegistry();
    StoreMetrics.register(registry, () -> STATS, () -> 228_003_840L);
    family(registry.scrape(), "kvstore_index_memory_bytes", "gauge",
        "Bytes of the block index file when it runs from a memory file system (index.dir:"
            + " /dev/shm with auto); memory the daemon holds outside its JVM. 0 when it runs from"
            + " the data directory.", "228003840");
  }

  @Test
  void shouldServeEveryWriteBackNumberUnderItsOwnName() {
    StoreStats stats = new StoreStats(0, 0, 0, 0, 0, 0, 0, 0, 0, List.of(),
        new WriteBackStats(101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114),
        StoreHealth.OK, 0, StoreStats.SsdFileStats.NONE);
    MetricsRegistry registry = new MetricsRegistry();
    StoreMetrics.register(registry, () -> stats);
    String text = registry.scrape();
    String[] names = {
      "kvstore_writeback_ssd_writes_total", "kvstore_writeback_ssd_write_bytes_total",
      "kvstore_writeback_queued_total", "kvstore_writeback_clean_drops_total",
      "kvstore_writeback_drops_total", "kvstore_writeback_failures_total",
      "kvstore_writeback_cancelled_total", "kvstore_writeback_put_waits_total",
      "kvstore_writeback_queue_hits_total", "kvstore_writeback_ssd_read_errors_total",
      "kvstore_writeback_dirty_pages", "kvstore_writeback_queue_pages",
      "kvstore_writeback_queue_bytes", "kvstore_writeback_queue_capacity_bytes"};
    for (int i = 0; i < names.length; i++) {
      // each name reads its own field: the values 101..114 follow the record's order
      String type = names[i].endsWith("_total") ? "counter" : "gauge";
      assertTrue(text.contains("# TYPE " + names[i] + " " + type + "\n" + names[i] + " " + (101 + i) + "\n"),
          names[i] + " in\n" + text);
    }
  }

  @Test
  void shouldServeTheSsdTiersFileNumbers() {
    StoreStats stats = new StoreStats(0, 0, 0, 0, 0, 0, 0, 0, 0, List.of(), WriteBackStats.NONE,
        StoreHealth.OK, 0, new StoreStats.SsdFileStats(123_456_789, 41, 3, 987_654_321, 55_555, 17));
    MetricsRegistry registry = new MetricsRegistry();
    StoreMetrics.register(registry, () -> stats);
    String text = registry.scrape();
    assertTrue(text.contains("# TYPE kvstore_ssd_disk_bytes gauge\nkvstore_ssd_disk_bytes 1.23456789E8\n")
        || text.contains("# TYPE kvstore_ssd_disk_bytes gauge\nkvstore_ssd_disk_bytes 123456789\n"), text);
    assertTrue(text.contains("kvstore_ssd_rocksdb_memory_bytes 55555.0\n")
        || text.contains("kvstore_ssd_rocksdb_memory_bytes 55555\n"), text);
    assertTrue(text.contains("kvstore_ssd_disk_room_bytes 9.87654321E8\n")
        || text.contains("kvstore_ssd_disk_room_bytes 987654321\n"), text);
    assertTrue(text.contains("kvstore_ssd_deletes_pending 17.0\n")
        || text.contains("kvstore_ssd_deletes_pending 17\n"), text);
    assertTrue(text.contains("kvstore_ssd_segment_files_total{file=\"reused\"} 41\n"), text);
    assertTrue(text.contains("kvstore_ssd_segment_files_total{file=\"created\"} 3\n"), text);
  }

  private static void family(String text, String name, String type, String help, String value) {
    assertTrue(text.contains("# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n"
        + name + " " + value + "\n"), name + " in\n" + text);
  }

  private static void tier(String text, String name, String type, String help, long dram, long ssd) {
    assertTrue(text.contains("# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n"
        + name + "{tier=\"dram\"} " + dram + "\n" + name + "{tier=\"ssd\"} " + ssd + "\n"),
        name + " in\n" + text);
  }

  @Test
  void shouldReadTheStoreAtEachScrape() {
    MetricsRegistry registry = new MetricsRegistry();
    AtomicReference<StoreStats> now = new AtomicReference<>(STATS);
    StoreMetrics.register(registry, now::get);
    assertTrue(registry.scrape().contains("\nkvstore_puts_total 50\n"));
    now.set(new StoreStats(0, 0, 51, 0, 0, 0, 0, 0, 0, List.of()));
    String text = registry.scrape();
    assertTrue(text.contains("\nkvstore_puts_total 51\n"), text);
    // A store with no tiers: no per-tier samples (the library leaves out a family without any).
    assertTrue(!text.contains("kvstore_tier_pages"), text);
  }

  @Test
  void shouldReserveItsFamilyNames() {
    MetricsRegistry registry = new MetricsRegistry();
    StoreMetrics.register(registry, () -> STATS);
    assertThrows(IllegalArgumentException.class,
        () -> Counter.builder().name("kvstore_misses_total").help("x").register(registry.prometheus()));
    assertThrows(IllegalArgumentException.class, () -> StoreMetrics.register(registry, () -> STATS));
  }
}
