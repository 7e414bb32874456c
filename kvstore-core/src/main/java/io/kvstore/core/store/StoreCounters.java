package io.kvstore.core.store;

import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.ssd.SsdTier;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/** The store's counters (striped adders, no lock), and the {@link StoreStats} snapshot built from them. */
final class StoreCounters {

  final LongAdder gets = new LongAdder();
  final LongAdder misses = new LongAdder();
  final LongAdder puts = new LongAdder();
  final LongAdder putBytes = new LongAdder();
  final LongAdder putRejects = new LongAdder();
  final LongAdder deletes = new LongAdder();
  final LongAdder prefetchRequests = new LongAdder();
  final LongAdder prefetchedPages = new LongAdder();
  final LongAdder queueHits = new LongAdder();
  final LongAdder ssdReadErrors = new LongAdder();
  /** Puts refused because the block index had no room for another memory page. */
  final LongAdder indexFullRejects = new LongAdder();
  final LongAdder[] hits;
  final LongAdder[] hitBytes;
  final LongAdder[] evictions;
  final LongAdder[] promotions;
  final LongAdder[] demotions;
  final LongAdder[] admissionRejects;

  StoreCounters(int tiers) {
    hits = adders(tiers);
    hitBytes = adders(tiers);
    evictions = adders(tiers);
    promotions = adders(tiers);
    demotions = adders(tiers);
    admissionRejects = adders(tiers);
  }

  void hit(int t, int bytes) {
    gets.increment();
    hits[t].increment();
    hitBytes[t].add(bytes);
  }

  void miss() {
    gets.increment();
    misses.increment();
  }

  StoreStats snapshot(
      Tier[] tiers, long corruptions, WriteBack writeBack, BlockIndex index, StoreHealth health) {
    List<StoreStats.TierStats> ts = new ArrayList<>(tiers.length);
    StoreStats.SsdFileStats files = StoreStats.SsdFileStats.NONE;
    for (int i = 0; i < tiers.length; i++) {
      Tier t = tiers[i];
      if (t instanceof SsdTier ssd) {
        files =
            new StoreStats.SsdFileStats(
                ssd.diskBytes(),
                ssd.segmentFilesReused(),
                ssd.segmentFilesCreated(),
                ssd.diskRoomBytes(),
                ssd.rocksMemoryBytes(),
                ssd.tombstones());
      }
      ts.add(
          new StoreStats.TierStats(
              t.kind(),
              t.capacityBytes(),
              t.usedBytes(),
              t.pageCount(),
              t.memoryBytes(),
              hits[i].sum(),
              hitBytes[i].sum(),
              evictions[i].sum() + (t instanceof SsdTier ssd ? ssd.evictions() : 0),
              promotions[i].sum(),
              demotions[i].sum(),
              admissionRejects[i].sum()));
    }
    StoreStats.WriteBackStats wb = StoreStats.WriteBackStats.NONE;
    if (writeBack != null) {
      WriteBackQueue q = writeBack.queue();
      wb =
          new StoreStats.WriteBackStats(
              writeBack.ssdWrites.sum(),
              writeBack.ssdWriteBytes.sum(),
              writeBack.queued.sum(),
              writeBack.cleanDrops.sum(),
              writeBack.drops.sum(),
              writeBack.failures.sum(),
              writeBack.cancelled.sum(),
              writeBack.putWaits.sum(),
              queueHits.sum(),
              ssdReadErrors.sum(),
              index == null ? 0 : index.dirtyEntries(),
              q.depth(),
              q.usedBytes(),
              q.capacityBytes());
    } else if (ssdReadErrors.sum() > 0) {
      wb = new StoreStats.WriteBackStats(0, 0, 0, 0, 0, 0, 0, 0, 0, ssdReadErrors.sum(), 0, 0, 0, 0);
    }
    return new StoreStats(
        gets.sum(),
        misses.sum(),
        puts.sum(),
        putBytes.sum(),
        putRejects.sum(),
        deletes.sum(),
        corruptions,
        prefetchRequests.sum(),
        prefetchedPages.sum(),
        List.copyOf(ts),
        wb,
        health,
        indexFullRejects.sum(),
        files);
  }

  private static LongAdder[] adders(int n) {
    LongAdder[] a = new LongAdder[n];
    for (int i = 0; i < n; i++) {
      a[i] = new LongAdder();
    }
    return a;
  }
}
