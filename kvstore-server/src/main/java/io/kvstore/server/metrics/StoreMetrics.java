package io.kvstore.server.metrics;

import io.kvstore.core.store.StoreStats;
import io.kvstore.core.store.StoreStats.TierStats;
import io.kvstore.core.store.StoreStats.WriteBackStats;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.Locale;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

/**
 * The store's numbers as Prometheus metrics: callback counters and gauges ({@link
 * CounterWithCallback}, {@link GaugeWithCallback}) that read {@link StoreStats} at scrape time, so
 * the store keeps its own {@code LongAdder}s and the metrics cost nothing between scrapes. Each
 * family reads its own snapshot (a few adder sums), so two families of one scrape may differ by
 * the requests that ran in between, as with any Prometheus client. Per-tier families carry a
 * {@code tier} label ({@code hot}, {@code dram}, {@code ssd}) with one sample per tier the store
 * has.
 */
public final class StoreMetrics {

  private StoreMetrics() {}

  /**
   * Registers the store's metrics.
   *
   * @param registry where to register
   * @param stats reads the store's statistics, e.g. {@code store::stats}; called at each scrape
   * @throws IllegalArgumentException if one of the names is already registered
   */
  public static void register(MetricsRegistry registry, Supplier<StoreStats> stats) {
    register(registry, stats, () -> 0);
  }

  /**
   * As {@link #register(MetricsRegistry, Supplier)}, with the memory the block index takes on a
   * memory file system ({@code index.dir}), e.g. {@code store::indexMemoryBytes}.
   */
  public static void register(
      MetricsRegistry registry, Supplier<StoreStats> stats, LongSupplier indexMemoryBytes) {
    PrometheusRegistry r = registry.prometheus();
    GaugeWithCallback.builder().name("kvstore_index_memory_bytes")
        .help("Bytes of the block index file when it runs from a memory file system (index.dir:"
            + " /dev/shm with auto); memory the daemon holds outside its JVM. 0 when it runs from"
            + " the data directory.")
        .callback(cb -> cb.call(indexMemoryBytes.getAsLong()))
        .register(r);
    counter(r, stats, "kvstore_gets_total",
        "Pages asked for (hits in a tier or the write-back queue, plus misses).",
        StoreStats::gets);
    counter(r, stats, "kvstore_misses_total",
        "Pages asked for and found in no tier nor the write-back queue.",
        StoreStats::misses);
    counter(r, stats, "kvstore_puts_total", "Pages stored.", StoreStats::puts);
    counter(r, stats, "kvstore_put_bytes_total", "Bytes of the pages stored, headers included.",
        StoreStats::putBytes);
    counter(r, stats, "kvstore_put_rejects_total", "Pages no tier could take.",
        StoreStats::putRejects);
    counter(r, stats, "kvstore_put_index_full_total",
        "Puts refused because the page directory had no room for another memory page"
            + " (pages smaller than ssd.min.page.bytes).",
        StoreStats::indexFullRejects);
    counter(r, stats, "kvstore_deletes_total", "Pages deleted on request.", StoreStats::deletes);
    counter(r, stats, "kvstore_prefetch_requests_total", "Prefetch requests.",
        StoreStats::prefetchRequests);
    counter(r, stats, "kvstore_prefetched_pages_total", "Pages promoted by prefetch.",
        StoreStats::prefetchedPages);
    counter(r, stats, "kvstore_corruptions_total",
        "Pages that failed their checksum when read (served as misses and removed).",
        StoreStats::corruptions);
    perTierCounter(r, stats, "kvstore_tier_hits_total",
        "Pages found, by the tier they were found in.", TierStats::hits);
    perTierCounter(r, stats, "kvstore_tier_hit_bytes_total", "Bytes of the pages found, by tier.",
        TierStats::hitBytes);
    perTierGauge(r, stats, "kvstore_tier_used_bytes", "Bytes in use in the tier now.",
        TierStats::usedBytes);
    perTierGauge(r, stats, "kvstore_tier_capacity_bytes",
        "Capacity of the tier: as configured, or the SSD tier's fitted to a smaller disk at start.",
        TierStats::capacityBytes);
    perTierGauge(r, stats, "kvstore_tier_pages", "Pages held in the tier now.",
        TierStats::pageCount);
    perTierGauge(r, stats, "kvstore_tier_memory_bytes",
        "Memory the tier holds now: a memory tier's slabs (the one allocated ahead of puts"
            + " included) and staging buffers, kept until shutdown; 0 for the SSD tier.",
        TierStats::memoryBytes);
    perTierCounter(r, stats, "kvstore_tier_evictions_total",
        "Pages evicted from the tier to make room.", TierStats::evictions);
    perTierCounter(r, stats, "kvstore_tier_promotions_total",
        "Pages copied into the tier from a slower one on a hit or a prefetch.",
        TierStats::promotions);
    perTierCounter(r, stats, "kvstore_tier_demotions_total",
        "Pages written into the tier when a faster tier evicted them.", TierStats::demotions);
    perTierCounter(r, stats, "kvstore_tier_admission_rejects_total",
        "Demotions into the tier refused by its admission policy.", TierStats::admissionRejects);
    registerWriteBack(r, stats);
  }

  /** The write-back of dirty pages to the SSD tier ({@link WriteBackStats}); all 0 without an SSD tier. */
  private static void registerWriteBack(PrometheusRegistry r, Supplier<StoreStats> stats) {
    writeBackCounter(r, stats, "kvstore_writeback_ssd_writes_total",
        "Pages written to the SSD tier (write-back, pages too large for memory, the flush on close).",
        WriteBackStats::ssdWrites);
    writeBackCounter(r, stats, "kvstore_writeback_ssd_write_bytes_total",
        "Bytes of the pages written to the SSD tier.", WriteBackStats::ssdWriteBytes);
    writeBackCounter(r, stats, "kvstore_writeback_queued_total",
        "Dirty pages copied into the write-back queue when memory evicted them.",
        WriteBackStats::queued);
    writeBackCounter(r, stats, "kvstore_writeback_clean_drops_total",
        "Pages dropped from memory without a write because the SSD tier holds them.",
        WriteBackStats::cleanDrops);
    writeBackCounter(r, stats, "kvstore_writeback_drops_total",
        "Dirty pages dropped unwritten (queue full, SSD tier degraded or refusing, still queued at"
            + " close).", WriteBackStats::drops);
    writeBackCounter(r, stats, "kvstore_writeback_failures_total",
        "SSD writes that failed (each page dropped; the SSD tier goes degraded).",
        WriteBackStats::failures);
    writeBackCounter(r, stats, "kvstore_writeback_cancelled_total",
        "Queued writes cancelled by a newer put or a delete of their key.",
        WriteBackStats::cancelled);
    writeBackCounter(r, stats, "kvstore_writeback_put_waits_total",
        "Puts that waited for room in the full write-back queue.", WriteBackStats::putWaits);
    writeBackCounter(r, stats, "kvstore_writeback_queue_hits_total",
        "Gets served from a page waiting in the write-back queue.", WriteBackStats::queueHits);
    writeBackCounter(r, stats, "kvstore_writeback_ssd_read_errors_total",
        "SSD reads that failed on a get or a promotion (served as misses).",
        WriteBackStats::ssdReadErrors);
    writeBackGauge(r, stats, "kvstore_writeback_dirty_pages",
        "Pages in memory not yet written to the SSD tier nor queued.", WriteBackStats::dirtyPages);
    writeBackGauge(r, stats, "kvstore_writeback_queue_pages",
        "Pages in the write-back queue now (waiting or being written).", WriteBackStats::queueDepth);
    writeBackGauge(r, stats, "kvstore_writeback_queue_bytes",
        "Bytes of the write-back queue in use now.", WriteBackStats::queueBytes);
    writeBackGauge(r, stats, "kvstore_writeback_queue_capacity_bytes",
        "Bound of the write-back queue (writeback.queue.bytes, at least one largest page).",
        WriteBackStats::queueCapacityBytes);
    ssdFileMetrics(r, stats);
  }

  private static void ssdFileMetrics(PrometheusRegistry r, Supplier<StoreStats> stats) {
    GaugeWithCallback.builder().name("kvstore_ssd_disk_bytes")
        .help("Bytes on disk counted against ssd.bytes: segment files (garbage and files kept for"
            + " reuse included) and RocksDB's SST and log files.")
        .callback(cb -> cb.call(stats.get().ssdFiles().diskBytes()))
        .register(r);
    GaugeWithCallback.builder().name("kvstore_ssd_disk_room_bytes")
        .help("Bytes the SSD tier could hold on its file system: what it holds plus the free space,"
            + " less the free-space reserve, as of the last put (or the start). Below ssd.bytes the"
            + " disk fills before the tier does, and a full disk pauses its writes (NO_SPACE).")
        .callback(cb -> cb.call(stats.get().ssdFiles().diskRoomBytes()))
        .register(r);
    GaugeWithCallback.builder().name("kvstore_ssd_rocksdb_memory_bytes")
        .help("Memory RocksDB holds for the SSD tier's location records: memtables, block cache,"
            + " index and filter readers (sampled by puts at most every 100 ms, and at start).")
        .callback(cb -> cb.call(stats.get().ssdFiles().rocksMemoryBytes()))
        .register(r);
    GaugeWithCallback.builder().name("kvstore_ssd_deletes_pending")
        .help("Deleted pages whose location record's delete waits for the disk (a frozen or stalled"
            + " one): each is gone for reads and a tombstone in the crash journal; 0 when the disk"
            + " answers.")
        .callback(cb -> cb.call(stats.get().ssdFiles().deletesPending()))
        .register(r);
    CounterWithCallback.builder().name("kvstore_ssd_segment_files_total")
        .help("SSD segments started, by file: reused (overwriting a dropped segment's file, as every"
            + " segment should at capacity) or created (a new file).")
        .labelNames("file")
        .callback(cb -> {
          StoreStats.SsdFileStats f = stats.get().ssdFiles();
          cb.call(f.segmentFilesReused(), "reused");
          cb.call(f.segmentFilesCreated(), "created");
        })
        .register(r);
  }

  private static void writeBackCounter(PrometheusRegistry r, Supplier<StoreStats> stats,
      String name, String help, ToLongFunction<WriteBackStats> value) {
    CounterWithCallback.builder().name(name).help(help)
        .callback(cb -> cb.call(value.applyAsLong(stats.get().writeBack())))
        .register(r);
  }

  private static void writeBackGauge(PrometheusRegistry r, Supplier<StoreStats> stats,
      String name, String help, ToLongFunction<WriteBackStats> value) {
    GaugeWithCallback.builder().name(name).help(help)
        .callback(cb -> cb.call(value.applyAsLong(stats.get().writeBack())))
        .register(r);
  }

  private static void counter(PrometheusRegistry r, Supplier<StoreStats> stats, String name,
      String help, ToLongFunction<StoreStats> value) {
    CounterWithCallback.builder().name(name).help(help)
        .callback(cb -> cb.call(value.applyAsLong(stats.get())))
        .register(r);
  }

  private static void perTierCounter(PrometheusRegistry r, Supplier<StoreStats> stats, String name,
      String help, ToLongFunction<TierStats> value) {
    CounterWithCallback.builder().name(name).help(help).labelNames("tier")
        .callback(cb -> {
          for (TierStats t : stats.get().tiers()) {
            cb.call(value.applyAsLong(t), tierLabel(t));
          }
        })
        .register(r);
  }

  private static void perTierGauge(PrometheusRegistry r, Supplier<StoreStats> stats, String name,
      String help, ToLongFunction<TierStats> value) {
    GaugeWithCallback.builder().name(name).help(help).labelNames("tier")
        .callback(cb -> {
          for (TierStats t : stats.get().tiers()) {
            cb.call(value.applyAsLong(t), tierLabel(t));
          }
        })
        .register(r);
  }

  private static String tierLabel(TierStats t) {
    return t.kind().name().toLowerCase(Locale.ROOT);
  }
}
