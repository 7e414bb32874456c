package io.kvstore.core.store;

import io.kvstore.core.tier.TierKind;
import java.util.List;

/**
 * A snapshot of the store's counters (monotonic since open) and gauges (now).
 *
 * @param gets get and getPinned calls: the tiers' hits, plus {@link WriteBackStats#queueHits}, plus
 *     the misses
 * @param misses gets that found the key in no tier nor the write-back queue
 * @param puts pages stored by put
 * @param putBytes bytes of those pages
 * @param putRejects puts refused (no tier could take the page, an older SSD copy could not be
 *     removed, or no room in the page directory: see {@code indexFullRejects})
 * @param deletes keys removed by delete
 * @param corruptions pages that failed their checksum when read from the SSD tier (each removed)
 * @param prefetchRequests prefetch calls
 * @param prefetchedPages pages promoted by prefetch
 * @param tiers one entry per configured tier, fastest first
 * @param writeBack the write-back of dirty pages to the SSD tier ({@link WriteBackStats#NONE} for a
 *     store without an SSD tier)
 * @param health whether the SSD tier takes writes ({@link StoreHealth#OK} when it has none)
 * @param indexFullRejects puts refused because the block index (the page directory) had no room
 *     for another memory page (pages smaller than {@code ssd.min.page.bytes} declares); also in
 *     {@code putRejects}
 */
public record StoreStats(
    long gets,
    long misses,
    long puts,
    long putBytes,
    long putRejects,
    long deletes,
    long corruptions,
    long prefetchRequests,
    long prefetchedPages,
    List<TierStats> tiers,
    WriteBackStats writeBack,
    StoreHealth health,
    long indexFullRejects,
    SsdFileStats ssdFiles) {

  /** Stats of a store without write-back figures (no SSD tier): the fields before v2. */
  public StoreStats(
      long gets,
      long misses,
      long puts,
      long putBytes,
      long putRejects,
      long deletes,
      long corruptions,
      long prefetchRequests,
      long prefetchedPages,
      List<TierStats> tiers) {
    this(
        gets,
        misses,
        puts,
        putBytes,
        putRejects,
        deletes,
        corruptions,
        prefetchRequests,
        prefetchedPages,
        tiers,
        WriteBackStats.NONE,
        StoreHealth.OK,
        0,
        SsdFileStats.NONE);
  }

  /**
   * How dirty pages (put, not yet on SSD) move to the SSD tier. Counters are monotonic; {@code
   * dirtyPages}, {@code queueDepth} and {@code queueBytes} are gauges.
   *
   * @param ssdWrites pages the store wrote to the SSD tier (write-back, puts too large for memory,
   *     the flush on close); a read-only workload leaves it unchanged
   * @param ssdWriteBytes bytes of those pages
   * @param queued dirty pages queued for write-back when memory evicted them (waiting in their memory
   *     slot, or copied into the queue's buffer)
   * @param cleanDrops pages dropped from memory without a write because the SSD tier holds them
   * @param drops dirty pages dropped unwritten: queue full, SSD tier degraded or refusing the page,
   *     or still queued at close
   * @param failures SSD writes that failed (each page dropped; the tier goes degraded)
   * @param cancelled queued writes cancelled by a newer put or a delete of their key
   * @param putWaits puts that waited for room in the full queue
   * @param queueHits gets served from a page waiting in the queue
   * @param ssdReadErrors SSD reads that failed on a get or promotion (served as a miss)
   * @param dirtyPages pages in memory not yet handed to write-back (entries of the block index with
   *     the dirty flag)
   * @param queueDepth pages queued or being written now
   * @param queueBytes bytes of the queue's buffer in use now (copies; a page waiting in its memory
   *     slot takes none, it counts in its memory tier's used bytes)
   * @param queueCapacityBytes the queue's bound in bytes
   */
  public record WriteBackStats(
      long ssdWrites,
      long ssdWriteBytes,
      long queued,
      long cleanDrops,
      long drops,
      long failures,
      long cancelled,
      long putWaits,
      long queueHits,
      long ssdReadErrors,
      long dirtyPages,
      long queueDepth,
      long queueBytes,
      long queueCapacityBytes) {

    /** All zero: a store without an SSD tier. */
    public static final WriteBackStats NONE =
        new WriteBackStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  }

  /**
   * The SSD tier's files.
   *
   * @param diskBytes bytes on disk counted against the tier's capacity now: segment files (garbage
   *     and files kept for reuse included) and RocksDB's live SST and log files
   * @param segmentFilesReused segments started by overwriting the file of a dropped one (at
   *     capacity, every segment should be)
   * @param segmentFilesCreated segments started in a new file
   * @param diskRoomBytes bytes the tier could hold on its file system (what it holds plus the free
   *     space, less its free-space reserve) as of the last free-space reading; below the tier's
   *     capacity the disk fills first and the tier then pauses its writes (NO_SPACE) until space is
   *     freed; -1 if the free space could not be read
   * @param rocksMemoryBytes memory RocksDB holds for the location records (memtables, block cache,
   *     index and filter readers), as last sampled
   * @param deletesPending deleted pages whose location record's delete is not done yet (it waits
   *     for the disk: a frozen or stalled one), each a tombstone in the crash journal
   */
  public record SsdFileStats(
      long diskBytes,
      long segmentFilesReused,
      long segmentFilesCreated,
      long diskRoomBytes,
      long rocksMemoryBytes,
      long deletesPending) {

    /** All zero: a store without an SSD tier. */
    public static final SsdFileStats NONE = new SsdFileStats(0, 0, 0, 0, 0, 0);
  }

  /**
   * Counters and gauges of one tier.
   *
   * @param kind which tier
   * @param capacityBytes bound on usedBytes
   * @param usedBytes bytes taken now
   * @param pageCount pages held now
   * @param memoryBytes memory the tier holds for its pages now ({@link
   *     io.kvstore.core.tier.Tier#memoryBytes()}): its slabs, allocated ones ahead included; 0 for SSD
   * @param hits gets served from this tier
   * @param hitBytes bytes of those pages
   * @param evictions pages this tier evicted to make room
   * @param promotions pages copied into this tier from a lower one on a hit or prefetch
   * @param demotions pages written into this tier when the tier above evicted them
   * @param admissionRejects demotions into this tier refused by its admission policy
   */
  public record TierStats(
      TierKind kind,
      long capacityBytes,
      long usedBytes,
      long pageCount,
      long memoryBytes,
      long hits,
      long hitBytes,
      long evictions,
      long promotions,
      long demotions,
      long admissionRejects) {}

  /** The stats of one tier, or {@code null} if the store has no such tier. */
  public TierStats tier(TierKind kind) {
    for (TierStats t : tiers) {
      if (t.kind() == kind) {
        return t;
      }
    }
    return null;
  }

  /** Hits of all tiers divided by gets (0 when there were no gets). */
  public double hitRatio() {
    return gets == 0 ? 0.0 : (double) (gets - misses) / gets;
  }
}
