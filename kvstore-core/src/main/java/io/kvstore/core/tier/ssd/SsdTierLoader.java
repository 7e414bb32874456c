package io.kvstore.core.tier.ssd;

import io.kvstore.common.BlockKey;
import io.kvstore.common.PageFormat;
import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.index.IndexEntry;
import io.kvstore.core.policy.EvictionPolicy;
import io.kvstore.core.tier.TierKind;
import org.rocksdb.RocksDBException;

/**
 * Opens an {@link SsdTier} onto the pages already in its RocksDB: rebuilds the directory, the policy
 * and the byte count from the {@code meta} records (reading no page), removes records it cannot use,
 * evicts down to the configured capacity, and reconciles the block index with RocksDB, which is the
 * authority on what the SSD holds.
 *
 * <p>Memory stays bounded by the directory itself: records are streamed from a RocksDB iterator,
 * unusable ones are deleted as they are met (the iterator reads a consistent snapshot), and dangling
 * index entries are cleared in place.
 */
final class SsdTierLoader {

  private final SsdTier tier;

  SsdTierLoader(SsdTier tier) {
    this.tier = tier;
  }

  ReconcileReport load() {
    RocksPageStore store = tier.store();
    PageDirectory dir = tier.directory();
    EvictionPolicy policy = tier.policy();
    BlockIndex index = tier.index();
    SsdTierConfig cfg = tier.config();
    long[] counts = new long[3]; // bytes, invalid, orphans
    try {
      // Pass 1: ids and lengths, so that pass 2 can resolve parents whatever the key order.
      store.forEachMeta(
          (hi, lo, len, parentHi, parentLo) -> {
            if (len < PageFormat.HEADER_LENGTH || len > cfg.maxPageBytes || dir.isFull()) {
              store.delete(tier.writeSlot(hi, lo), hi, lo);
              counts[1]++;
              return;
            }
            dir.insert(hi, lo, len);
            counts[0] += len;
          });
      IndexEntry entry = new IndexEntry();
      // Pass 2: the policy learns every page with its parent; the index learns orphans.
      store.forEachMeta(
          (hi, lo, len, parentHi, parentLo) -> {
            int id = dir.find(hi, lo);
            if (id < 0) {
              return;
            }
            int parentId =
                BlockKey.isRoot(parentHi, parentLo) ? PageDirectory.NONE : dir.find(parentHi, parentLo);
            policy.onInsert(id, parentId < 0 ? EvictionPolicy.NO_PARENT : parentId);
            if (index != null
                && (!index.get(hi, lo, entry)
                    || !entry.isIn(TierKind.SSD)
                    || entry.pageLength() != len
                    || entry.parentHi() != parentHi
                    || entry.parentLo() != parentLo)) {
              index.markPresent(hi, lo, TierKind.SSD, len, parentHi, parentLo);
              counts[2]++;
            }
          });
      long used = counts[0];
      long evicted = 0;
      while (used > cfg.capacityBytes) {
        int victim = policy.evict(id -> true);
        if (victim < 0) {
          throw new IllegalStateException(
              "eviction policy " + policy.name() + " found no victim while opening");
        }
        long hi = dir.keyHi(victim);
        long lo = dir.keyLo(victim);
        used -= dir.length(victim);
        dir.remove(victim);
        store.delete(tier.writeSlot(hi, lo), hi, lo);
        if (index != null) {
          index.markAbsent(hi, lo, TierKind.SSD);
        }
        evicted++;
      }
      tier.setUsedBytesWhileOpening(used);
      long dangling =
          index == null ? 0 : index.retainPresent(TierKind.SSD, (h, l) -> dir.find(h, l) >= 0);
      return new ReconcileReport(dir.size(), used, counts[1], evicted, counts[2], dangling);
    } catch (RocksDBException e) {
      throw new SsdStorageException("cannot load the SSD tier's pages from " + store.dir(), e);
    }
  }
}
