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
  void shouldReadAnEntryAndCountItsAccessInOneLookupOnlyForTheTierNamed() {
    try (BlockIndex index = open()) {
      IndexEntry prev = new IndexEntry();
      index.putSsd(5, 6, 4096, 9, 1, 2, 3, 8192, 4, prev); // last access = insert time = 1,000
      now.set(2_000);
      IndexEntry e = new IndexEntry();
      assertTrue(index.getRecordingAccess(5, 6, TierKind.SSD, e));
      // e is the entry as the read found it, before this access.
      assertEquals(0, e.accessCount());
      assertEquals(1_000, e.lastAccessMs());
      assertEquals(3, e.segmentId());
      assertEquals(8192, e.segmentOffset());
      assertEquals(4096, e.pageLength());
      assertTrue(index.get(5, 6, e));
      assertEquals(1, e.accessCount());
      assertEquals(2_000, e.lastAccessMs());

      // An entry that does not name the tier is read, not counted.
      index.markPresent(7, 8, TierKind.DRAM, 100, 0, 0);
      now.set(3_000);
      assertTrue(index.getRecordingAccess(7, 8, TierKind.SSD, e));
      assertEquals(100, e.pageLength());
      assertFalse(e.isIn(TierKind.SSD));
      assertTrue(index.get(7, 8, e));
      assertEquals(0, e.accessCount());
      assertEquals(2_000, e.lastAccessMs(), "its last access is still its insert time");

      // An absent key leaves out untouched.
      assertFalse(index.getRecordingAccess(9, 9, TierKind.SSD, e));
      assertEquals(7, e.keyHi());
      assertEquals(8, e.keyLo());
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

  @Test
  void shouldKeepTheDirtyFlagAndNamespaceOfMemoryPagesAndCountThem() {
    try (BlockIndex index = open()) {
      assertTrue(index.markPresent(1, 1, TierKind.HOT, 100, 0, 0, 42, true));
      IndexEntry e = new IndexEntry();
      assertTrue(index.get(1, 1, e));
      assertTrue(e.dirty());
      assertEquals(TierKind.HOT.bit(), e.tiers(), "the dirty flag is not a tier");
      assertEquals(TierKind.HOT.bit(), index.tiers(1, 1));
      assertEquals(42, e.namespaceId());
      assertEquals(BlockIndex.MEMORY_OWN, index.memoryOwnership(1, 1, 42));
      assertEquals(BlockIndex.MEMORY_FOREIGN, index.memoryOwnership(1, 1, 43));
      assertEquals(BlockIndex.NOT_INDEXED, index.memoryOwnership(2, 2, 42));
      assertEquals(1, index.memoryEntries());
      assertEquals(1, index.dirtyEntries());

      // Demotion: the lower tier's bit first, then the upper one's cleared; still dirty.
      assertTrue(index.markPresent(1, 1, TierKind.DRAM, 100, 0, 0, 42, false));
      assertTrue(index.markAbsent(1, 1, TierKind.HOT));
      assertTrue(index.isDirty(1, 1), "a clean mark leaves the flag");
      // Leaving memory takes the flag; the entry goes with the last tier.
      assertTrue(index.leaveMemory(1, 1, TierKind.DRAM));
      assertEquals(0, index.size());
      assertEquals(0, index.memoryEntries());
      assertEquals(0, index.dirtyEntries());

      // A dirty entry outlives its last tier bit until the flag is cleared.
      assertTrue(index.reserveDirty(3, 3, 10, 0, 0, 7));
      assertTrue(index.get(3, 3, e));
      assertEquals(0, e.tiers());
      assertTrue(e.dirty());
      assertEquals(BlockIndex.NOT_IN_MEMORY, index.memoryOwnership(3, 3, 7), "no memory bit yet");
      assertTrue(index.markPresent(3, 3, TierKind.DRAM, 10, 0, 0, 7, true));
      assertTrue(index.markAbsent(3, 3, TierKind.DRAM));
      assertTrue(index.get(3, 3, e), "kept: still dirty");
      assertTrue(index.clearDirty(3, 3));
      assertFalse(index.get(3, 3, e));
      assertFalse(index.clearDirty(3, 3));
    }
  }

  @Test
  void shouldListDirtyKeysAndClearDirtyFlagsOnRestart() {
    try (BlockIndex index = open()) {
      for (long k = 0; k < 100; k++) {
        assertTrue(index.markPresent(k, ~k, TierKind.DRAM, 10, 0, 0, 1, k % 3 == 0));
      }
      index.putSsd(0, ~0L, 10, 1, 0, 0, 5, 0, 0, new IndexEntry());
      long[] dirty = index.dirtyKeys();
      assertEquals(2 * 34, dirty.length);
      for (int i = 0; i < dirty.length; i += 2) {
        assertEquals(0, dirty[i] % 3, "only dirty keys");
        assertEquals(~dirty[i], dirty[i + 1]);
      }
      assertEquals(34, index.dirtyEntries());
      assertEquals(100, index.memoryEntries());
      index.clearVolatileTiers();
      assertEquals(0, index.dirtyEntries());
      assertEquals(0, index.memoryEntries());
      assertEquals(0, index.dirtyKeys().length);
      assertEquals(1, index.size(), "the SSD entry stays");
      IndexEntry e = new IndexEntry();
      assertTrue(index.get(0, ~0L, e));
      assertEquals(TierKind.SSD.bit(), e.tiers());
      assertFalse(e.dirty());
    }
  }

  @Test
  void shouldRefuseNewMemoryEntriesBeyondTheMemoryBoundWithoutThrowing() {
    try (BlockIndex index = open()) {
      index.limitMemoryEntries(3);
      for (long k = 0; k < 3; k++) {
        assertTrue(index.markPresent(k, k, TierKind.HOT, 10, 0, 0, 1, true));
      }
      assertFalse(index.markPresent(9, 9, TierKind.HOT, 10, 0, 0, 1, true));
      assertFalse(index.reserveDirty(9, 9, 10, 0, 0, 1));
      IndexEntry e = new IndexEntry();
      assertFalse(index.get(9, 9, e), "a refused key has no entry");
      // An entry held for memory already is updated (a demotion, a replacing put).
      assertTrue(index.markPresent(0, 0, TierKind.DRAM, 10, 0, 0, 1, false));
      assertTrue(index.reserveDirty(1, 1, 20, 5, 6, 1));
      assertTrue(index.get(1, 1, e));
      assertEquals(10, e.pageLength(), "a reservation keeps the stored page's fields");
      assertEquals(0, e.parentHi());
      // An SSD-only entry promoted into memory is a new memory entry: refused.
      index.putSsd(8, 8, 10, 1, 0, 0, 5, 0, 0, new IndexEntry());
      assertFalse(index.markPresent(8, 8, TierKind.DRAM, 10, 0, 0, 1, false));
      assertTrue(index.get(8, 8, e));
      assertEquals(TierKind.SSD.bit(), e.tiers(), "unchanged");
      // SSD entries are not bounded by it.
      index.putSsd(7, 7, 10, 1, 0, 0, 5, 0, 0, new IndexEntry());
      // An entry leaving memory gives its room back.
      assertTrue(index.leaveMemory(2, 2, TierKind.HOT));
      assertTrue(index.markPresent(9, 9, TierKind.HOT, 10, 0, 0, 1, true));
      assertEquals(3, index.memoryEntries());
      assertThrows(IllegalArgumentException.class, () -> index.limitMemoryEntries(0));
    }
  }

  @Test
  void shouldRefuseRatherThanThrowWhenTheMapItselfIsFull() {
    // A map sized for 16 entries with no memory bound: Chronicle runs out of room first.
    try (BlockIndex index = BlockIndex.open(dir, 16, now::get)) {
      index.limitMemoryEntries(Long.MAX_VALUE);
      long stored = 0;
      for (long k = 0; k < 1_000_000; k++) {
        if (!index.markPresent(k, k * 31, TierKind.HOT, 10, 0, 0, 1, true)) {
          break;
        }
        stored++;
      }
      assertTrue(stored > 16 && stored < 1_000_000, "the map itself filled up: " + stored);
      assertEquals(stored, index.memoryEntries(), "a refused insert is not counted");
      assertEquals(stored, index.size());
    }
  }

  @Test
  void shouldSayBeforeMakingALargeIndexWhatSizesIt() {
    Path file = Path.of("/data/index/block-index.cm3");
    // 220,000,000 entries: an 1800 GB tier with 16 KiB pages, twice over.
    String line = BlockIndex.largeIndexLine(file, 220_000_000L, BlockIndex.LARGE_INDEX_BYTES);
    assertEquals(
        "making a new block index of about 23,764,194,304 bytes for 220,000,000 entries in"
            + " /data/index/block-index.cm3 (sized from ssd.bytes and ssd.min.page.bytes): laying"
            + " out a large index takes time (about a minute for 24 GB on a 2-vCPU host), here and"
            + " after every crash with ssd.durability wal or sync; a smallest page size closer to"
            + " the pages stored makes it smaller",
        line);
    assertEquals(BlockIndex.bytesFor(220_000_000L), 23_764_194_304L);
    // Below the threshold (the default 16 GiB tier's index is about 0.2 GB): nothing said.
    assertEquals(null, BlockIndex.largeIndexLine(file, 2_000_000L, BlockIndex.LARGE_INDEX_BYTES));
  }
}
