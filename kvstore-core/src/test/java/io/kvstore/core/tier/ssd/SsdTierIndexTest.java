package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.index.IndexEntry;
import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.TierKind;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The block index is the SSD tier's directory: the tier keeps its SSD entries, and after a crash
 * checks them against the segments and repairs them from RocksDB's location log.
 */
class SsdTierIndexTest {

  @TempDir Path dir;

  private BlockIndex openIndex() {
    return BlockIndex.open(dir.resolve("index"), 10_000);
  }

  private SsdTier openTier(BlockIndex index, long capacity) {
    return new SsdTier(SsdTierConfig.builder(dir.resolve("rocks"), capacity).maxPages(1000).build(), index);
  }

  @Test
  void shouldKeepSsdBitsOnPutDeleteEvictAndCorruption() throws Exception {
    try (BlockIndex index = openIndex();
        SsdTier tier = openTier(index, 30_000)) {
      tier.put(Pages.page(1, 1, 5, 6, 10_000 - 64, 0));
      IndexEntry e = new IndexEntry();
      assertTrue(index.get(1, 1, e));
      assertTrue(e.isIn(TierKind.SSD));
      assertEquals(10_000, e.pageLength());
      assertEquals(5, e.parentHi());
      assertEquals(6, e.parentLo());
      tier.put(Pages.page(2, 2, 10_000 - 64));
      tier.put(Pages.page(3, 3, 10_000 - 64));
      tier.put(Pages.page(4, 4, 10_000 - 64)); // evicts (1, 1)
      assertEquals(0, index.tiers(1, 1));
      assertTrue(tier.delete(2, 2));
      assertEquals(0, index.tiers(2, 2));
      ByteBuffer wrong = Pages.page(9, 9, 10_000 - 64);
      byte[] raw = new byte[wrong.capacity()];
      wrong.get(0, raw);
      tier.writeRawPageForTest(3, 3, raw);
      assertEquals(Tier.MISS, tier.get(3, 3, ByteBuffer.allocateDirect(10_000)));
      assertEquals(0, index.tiers(3, 3));
      assertEquals(1, index.size());
      assertEquals(TierKind.SSD.bit(), index.tiers(4, 4));
    }
  }

  @Test
  void shouldRepairADanglingEntryAndNeverServeIt() {
    try (BlockIndex index = openIndex()) {
      // What a crash after the index write but before (or after the loss of) the page leaves.
      index.markPresent(7, 7, TierKind.SSD, 4096, 0, 0);
      index.markPresent(8, 8, TierKind.SSD, 4096, 0, 0);
      index.markPresent(8, 8, TierKind.DRAM, 4096, 0, 0);
      try (SsdTier tier = openTier(index, 1 << 20)) {
        assertEquals(2, tier.reconcileReport().danglingRepaired());
        assertEquals(0, tier.reconcileReport().orphansIndexed());
        assertEquals(Tier.MISS, tier.get(7, 7, ByteBuffer.allocateDirect(4096)));
        assertFalse(tier.contains(7, 7));
        assertEquals(0, index.tiers(7, 7));
        assertEquals(TierKind.DRAM.bit(), index.tiers(8, 8), "only the SSD bit is the tier's");
        assertEquals(0, tier.corruptions());
      }
    }
  }

  private SsdTier openTierWithLog(BlockIndex index) {
    return new SsdTier(
        SsdTierConfig.builder(dir.resolve("rocks"), 1 << 20)
            .maxPages(1000)
            .durability(SsdTierConfig.Durability.WAL)
            .build(),
        index);
  }

  @Test
  void shouldIndexAnOrphanPageFromTheLocationLogAfterACrash() throws Exception {
    ByteBuffer page = Pages.page(3, 4, 1, 2, 8000, 0);
    try (BlockIndex index = openIndex();
        SsdTier tier = openTierWithLog(index)) {
      tier.put(page);
      tier.put(Pages.page(5, 5, 100));
    }
    try (BlockIndex index = openIndex()) {
      // What a crash between the RocksDB write and the index write leaves.
      assertTrue(index.remove(3, 4));
      // And an entry with a stale length.
      index.markPresent(5, 5, TierKind.SSD, 1, 0, 0);
    }
    // Without the clean-close marker the tier treats the last run as a crash.
    Files.delete(dir.resolve("rocks").resolve(SsdTier.SEGMENTS_DIR).resolve(SsdTier.CLEAN_MARKER));
    try (BlockIndex index = openIndex();
        SsdTier tier = openTierWithLog(index)) {
      // With the log, a crash rebuilds the directory from RocksDB's records alone: both pages are
      // re-indexed from them, and the stale entry of (5, 5) is not even looked at.
      assertEquals(2, tier.reconcileReport().orphansIndexed());
      assertEquals(0, tier.reconcileReport().danglingRepaired());
      assertEquals(2, tier.reconcileReport().indexRepairs());
      IndexEntry e = new IndexEntry();
      assertTrue(index.get(3, 4, e));
      assertTrue(e.isIn(TierKind.SSD));
      assertEquals(page.capacity(), e.pageLength());
      assertEquals(1, e.parentHi());
      assertEquals(2, e.parentLo());
      assertTrue(index.get(5, 5, e));
      assertEquals(164, e.pageLength());
      ByteBuffer dst = ByteBuffer.allocateDirect(page.capacity());
      assertEquals(page.capacity(), tier.get(3, 4, dst));
      assertTrue(Pages.sameBytes(page, dst, 0, page.capacity()));
      assertEquals(2, tier.pageCount());
    }
    try (BlockIndex index = openIndex();
        SsdTier tier = openTierWithLog(index)) {
      assertEquals(0, tier.reconcileReport().indexRepairs(), "a consistent pair needs no repair");
      assertEquals(2, tier.pageCount());
    }
  }

  @Test
  void shouldNotServeAnIndexEntryWhosePageHeaderDisagreesAfterACrash() throws Exception {
    try (BlockIndex index = openIndex();
        SsdTier tier = openTier(index, 1 << 20)) {
      tier.put(Pages.page(6, 6, 3000));
      tier.put(Pages.page(7, 7, 3000));
    }
    try (BlockIndex index = openIndex()) {
      // The entry of (6, 6) now names (7, 7)'s place, as a torn index update could.
      IndexEntry e6 = new IndexEntry();
      IndexEntry e7 = new IndexEntry();
      assertTrue(index.get(6, 6, e6));
      assertTrue(index.get(7, 7, e7));
      index.putSsd(6, 6, e6.pageLength(), 0, 0, 0, e7.segmentId(), e7.segmentOffset(), 0, new IndexEntry());
    }
    Files.delete(dir.resolve("rocks").resolve(SsdTier.SEGMENTS_DIR).resolve(SsdTier.CLEAN_MARKER));
    try (BlockIndex index = openIndex();
        SsdTier tier = openTier(index, 1 << 20)) {
      assertEquals(1, tier.reconcileReport().danglingRepaired());
      assertEquals(Tier.MISS, tier.get(6, 6, ByteBuffer.allocateDirect(4000)));
      assertEquals(3064, tier.get(7, 7, ByteBuffer.allocateDirect(4000)));
      assertEquals(0, index.tiers(6, 6));
    }
  }
}
