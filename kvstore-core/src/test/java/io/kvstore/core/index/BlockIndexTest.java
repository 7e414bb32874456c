package io.kvstore.core.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.tier.TierKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlockIndexTest {

  @TempDir Path dir;

  private final AtomicLong now = new AtomicLong(1_000);

  private BlockIndex open() {
    return BlockIndex.open(dir, 10_000, now::get);
  }

  @Test
  void shouldStoreEveryFieldOfAnEntry() {
    try (BlockIndex index = open()) {
      index.markPresent(1, 2, TierKind.SSD, 4096, 7, 8);
      IndexEntry e = new IndexEntry();
      assertTrue(index.get(1, 2, e));
      assertEquals(1, e.keyHi());
      assertEquals(2, e.keyLo());
      assertEquals(TierKind.SSD.bit(), e.tiers());
      assertTrue(e.isIn(TierKind.SSD));
      assertFalse(e.isIn(TierKind.DRAM));
      assertEquals(4096, e.pageLength());
      assertEquals(7, e.parentHi());
      assertEquals(8, e.parentLo());
      assertEquals(0, e.accessCount());
      assertEquals(1_000, e.insertTimeMs());
      assertEquals(1_000, e.lastAccessMs());
      assertFalse(index.get(2, 1, e));
      assertEquals(1, index.size());
    }
  }

  @Test
  void shouldCombineTiersAndRemoveTheEntryWhenNoTierRemains() {
    try (BlockIndex index = open()) {
      index.markPresent(1, 2, TierKind.DRAM, 100, 0, 0);
      index.markPresent(1, 2, TierKind.SSD, 100, 0, 0);
      assertEquals(TierKind.DRAM.bit() | TierKind.SSD.bit(), index.tiers(1, 2));
      assertTrue(index.markAbsent(1, 2, TierKind.DRAM));
      assertFalse(index.markAbsent(1, 2, TierKind.DRAM));
      assertEquals(TierKind.SSD.bit(), index.tiers(1, 2));
      assertTrue(index.markAbsent(1, 2, TierKind.SSD));
      assertEquals(0, index.size());
      assertEquals(0, index.tiers(1, 2));
      assertFalse(index.markAbsent(1, 2, TierKind.SSD));
    }
  }

  @Test
  void shouldCountAccessesAndKeepTheInsertTime() {
    try (BlockIndex index = open()) {
      index.markPresent(5, 6, TierKind.HOT, 10, 0, 0);
      now.set(2_000);
      assertTrue(index.recordAccess(5, 6));
      now.set(3_000);
      assertTrue(index.recordAccess(5, 6));
      assertFalse(index.recordAccess(6, 5));
      index.markPresent(5, 6, TierKind.DRAM, 20, 0, 0);
      IndexEntry e = new IndexEntry();
      assertTrue(index.get(5, 6, e));
      assertEquals(2, e.accessCount());
      assertEquals(3_000, e.lastAccessMs());
      assertEquals(1_000, e.insertTimeMs());
      assertEquals(20, e.pageLength());
    }
  }

  @Test
  void shouldKeepEntriesAcrossReopenAndMarkACleanClose() {
    try (BlockIndex index = open()) {
      for (long i = 0; i < 1000; i++) {
        index.markPresent(i, ~i, TierKind.SSD, (int) i, i + 1, i + 2);
      }
    }
    assertTrue(Files.exists(dir.resolve(BlockIndex.CLEAN_MARKER_NAME)));
    try (BlockIndex index = open()) {
      assertFalse(index.recovered());
      assertFalse(Files.exists(dir.resolve(BlockIndex.CLEAN_MARKER_NAME)));
      assertEquals(1000, index.size());
      IndexEntry e = new IndexEntry();
      for (long i = 0; i < 1000; i++) {
        assertTrue(index.get(i, ~i, e));
        assertEquals((int) i, e.pageLength());
        assertEquals(i + 1, e.parentHi());
        assertEquals(i + 2, e.parentLo());
      }
    }
  }

  @Test
  void shouldRecoverAMapThatWasNotClosedCleanly() {
    try (BlockIndex index = open()) {
      index.markPresent(1, 1, TierKind.SSD, 64, 0, 0);
    }
    // What a killed process leaves behind: the map file without the clean marker.
    assertTrue(dir.resolve(BlockIndex.CLEAN_MARKER_NAME).toFile().delete());
    try (BlockIndex index = open()) {
      assertTrue(index.recovered());
      assertEquals(TierKind.SSD.bit(), index.tiers(1, 1));
    }
  }

  @Test
  void shouldClearVolatileTiersOnly() {
    try (BlockIndex index = open()) {
      index.markPresent(1, 1, TierKind.HOT, 10, 0, 0);
      index.markPresent(2, 2, TierKind.DRAM, 10, 0, 0);
      index.markPresent(2, 2, TierKind.SSD, 10, 0, 0);
      index.markPresent(3, 3, TierKind.SSD, 10, 0, 0);
      assertEquals(2, index.clearVolatileTiers());
      assertEquals(2, index.size());
      assertEquals(0, index.tiers(1, 1));
      assertEquals(TierKind.SSD.bit(), index.tiers(2, 2));
      assertEquals(TierKind.SSD.bit(), index.tiers(3, 3));
      assertEquals(0, index.clearVolatileTiers());
    }
  }

  @Test
  void shouldVisitEveryEntry() {
    Map<Long, Integer> expected = new HashMap<>();
    try (BlockIndex index = open()) {
      for (long i = 1; i <= 500; i++) {
        index.markPresent(i, i * 31, TierKind.SSD, (int) (i * 3), 0, 0);
        expected.put(i, (int) (i * 3));
      }
      assertTrue(index.remove(500, 500 * 31));
      expected.remove(500L);
      Map<Long, Integer> seen = new HashMap<>();
      index.forEach(
          e -> {
            assertEquals(e.keyHi() * 31, e.keyLo());
            assertEquals(null, seen.put(e.keyHi(), e.pageLength()));
          });
      assertEquals(expected, seen);
    }
  }

  @Test
  void shouldRejectABadSize() {
    assertThrows(IllegalArgumentException.class, () -> BlockIndex.open(dir, 0));
  }
}
