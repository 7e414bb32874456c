package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.index.IndexEntry;
import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.TierKind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The directory rebuild after a crash with the write-ahead log ({@link DirectoryRebuild}): records
 * are checked segment by segment, several headers per read, and a record is indexed only if the
 * page header at its location is its own; a segment that cannot be read loses its records and
 * nothing else.
 */
class SsdDirectoryRebuildTest {

  private static final int PAGES = 600;
  private static final int PAYLOAD = 192; // 256-byte pages: many headers per read

  @TempDir Path dir;

  @AfterEach
  void clearHooks() {
    DirectoryRebuild.readFaultForTest = null;
    DirectoryRebuild.recordsPerRoundForTest = 0;
    DirectoryRebuild.batchRecordsForTest = 0;
    DirectoryRebuild.failScanAfterForTest = 0;
  }

  private SsdTierConfig config() {
    return SsdTierConfig.builder(dir.resolve("rocks"), 4 << 20)
        .minPageBytes(256)
        .segmentBytes(32 << 10) // about 128 pages a segment: 5 segments
        .durability(SsdTierConfig.Durability.WAL)
        .build();
  }

  private BlockIndex openIndex() {
    return BlockIndex.open(dir.resolve("index"), 100_000);
  }

  private Path segDir() {
    return dir.resolve("rocks").resolve(SsdTier.SEGMENTS_DIR).toAbsolutePath();
  }

  /** What a kill leaves: no clean-close marker, so the next open rebuilds from the records. */
  private void crash() throws IOException {
    Files.delete(segDir().resolve(SsdTier.CLEAN_MARKER));
  }

  private static long key(int i) {
    // Hashed, so that RocksDB's key order is not the order the pages were written in.
    return (i + 1L) * 0x9E3779B97F4A7C15L;
  }

  private void fill() {
    try (BlockIndex index = openIndex();
        SsdTier tier = new SsdTier(config(), index)) {
      for (int i = 0; i < PAGES; i++) {
        assertTrue(tier.put(Pages.page(key(i), i, PAYLOAD)));
      }
    }
  }

  private long segmentOf(BlockIndex index, int i) {
    IndexEntry e = new IndexEntry();
    assertTrue(index.get(key(i), i, e), "no entry for page " + i);
    return e.segmentId();
  }

  /** Asserts that exactly the pages not in {@code lost} are served, with their exact bytes. */
  private static void assertServes(SsdTier tier, Set<Integer> lost) {
    ByteBuffer dst = ByteBuffer.allocateDirect(PAYLOAD + 64);
    for (int i = 0; i < PAGES; i++) {
      dst.clear();
      int n = tier.get(key(i), i, dst);
      if (lost.contains(i)) {
        assertEquals(Tier.MISS, n, "page " + i + " should be gone");
      } else {
        assertEquals(PAYLOAD + 64, n, "page " + i + " lost");
        assertTrue(Pages.sameBytes(Pages.page(key(i), i, PAYLOAD), dst, 0, n), "page " + i);
      }
    }
    assertEquals(PAGES - lost.size(), tier.pageCount());
    assertEquals(0, tier.corruptions());
  }

  @Test
  void shouldDropOnlyTheRecordsOfASegmentThatCannotBeReadDuringTheRebuild() throws Exception {
    fill();
    long victim;
    Set<Integer> lost = new HashSet<>();
    try (BlockIndex index = openIndex()) {
      victim = segmentOf(index, PAGES / 2);
      for (int i = 0; i < PAGES; i++) {
        if (segmentOf(index, i) == victim) {
          lost.add(i);
        }
      }
    }
    assertTrue(lost.size() > 10 && lost.size() < PAGES / 2, "pages in the segment: " + lost.size());
    crash();
    Path mine = segDir();
    DirectoryRebuild.readFaultForTest =
        (segDir, id) ->
            segDir.equals(mine) && id == victim ? new IOException("Input/output error") : null;
    try (BlockIndex index = openIndex();
        SsdTier tier = new SsdTier(config(), index)) {
      assertEquals(PAGES - lost.size(), tier.reconcileReport().orphansIndexed());
      assertEquals(lost.size(), tier.reconcileReport().invalidRemoved());
      assertServes(tier, lost);
      assertEquals(PAGES - lost.size(), index.size());
    }
    DirectoryRebuild.readFaultForTest = null;
    // The records of the unreadable pages were deleted with them: a later rebuild neither finds
    // them nor loses anything else.
    crash();
    try (BlockIndex index = openIndex();
        SsdTier tier = new SsdTier(config(), index)) {
      assertEquals(PAGES - lost.size(), tier.reconcileReport().orphansIndexed());
      assertEquals(0, tier.reconcileReport().invalidRemoved());
      assertServes(tier, lost);
    }
  }

  @ParameterizedTest(name = "records per round: {0}")
  @ValueSource(ints = {0, 7})
  void shouldIndexARecordOnlyIfThePageHeaderAtItsLocationIsItsOwn(int recordsPerRound)
      throws Exception {
    fill();
    Set<Integer> lost = new HashSet<>();
    try (BlockIndex index = openIndex();
        LocationStore store = LocationStore.open(dir.resolve("rocks").resolve(LocationStore.DIR_NAME), config())) {
      LocationStore.WriteSlot slot = new LocationStore.WriteSlot();
      IndexEntry a = new IndexEntry();
      IndexEntry b = new IndexEntry();
      // A record that names another page's location (same offset as that page's record).
      assertTrue(index.get(key(10), 10, a));
      assertTrue(index.get(key(11), 11, b));
      store.put(slot, key(10), 10, b.segmentId(), b.segmentOffset(), a.pageLength(), 0, 0, 0);
      lost.add(10);
      // One whose offset is off by a few bytes.
      assertTrue(index.get(key(20), 20, a));
      store.put(slot, key(20), 20, a.segmentId(), a.segmentOffset() + 8, a.pageLength(), 0, 0, 0);
      lost.add(20);
      // One whose length is not the page's.
      assertTrue(index.get(key(30), 30, a));
      store.put(slot, key(30), 30, a.segmentId(), a.segmentOffset(), a.pageLength() + 256, 0, 0, 0);
      lost.add(30);
      // One naming a segment that does not exist, and one past its segment's end.
      store.put(slot, key(40), 40, 999_999, 0, a.pageLength(), 0, 0, 0);
      lost.add(40);
      assertTrue(index.get(key(50), 50, a));
      store.put(slot, key(50), 50, a.segmentId(), 1L << 30, a.pageLength(), 0, 0, 0);
      lost.add(50);
    }
    crash();
    DirectoryRebuild.recordsPerRoundForTest = recordsPerRound;
    try (BlockIndex index = openIndex();
        SsdTier tier = new SsdTier(config(), index)) {
      assertEquals(PAGES - lost.size(), tier.reconcileReport().orphansIndexed());
      assertEquals(lost.size(), tier.reconcileReport().invalidRemoved());
      assertServes(tier, lost);
      IndexEntry e = new IndexEntry();
      assertTrue(index.get(key(11), 11, e));
      assertEquals(PAYLOAD + 64, e.pageLength());
    }
  }

  @Test
  void shouldFailTheOpenWhenTheIndexFillsUpDuringTheRebuildAndStopItsWriter() throws Exception {
    fill();
    crash();
    DirectoryRebuild.batchRecordsForTest = 8; // many batches: the scan waits for free ones
    // A new index (the fill's entries would leave room for the same keys once dropped).
    Files.delete(dir.resolve("index").resolve(BlockIndex.FILE_NAME));
    try (BlockIndex index = openIndex()) {
      // Memory pages take every entry the map has room for: the rebuild's inserts cannot fit.
      index.limitMemoryEntries(Long.MAX_VALUE);
      int n = 0;
      while (index.markPresent(-1L - n, n, TierKind.HOT, 64, 0, 0, 0, false)) {
        n++;
        assertTrue(n < 10_000_000, "the index never filled up");
      }
      IllegalStateException e =
          assertThrows(IllegalStateException.class, () -> new SsdTier(config(), index));
      assertTrue(e.getMessage().contains("full"), e.getMessage());
      assertFalse(writerAlive(), "the rebuild's index writer still runs");
    }
  }

  @Test
  void shouldStopTheIndexWriterWhenTheScanFails() throws Exception {
    fill();
    crash();
    DirectoryRebuild.batchRecordsForTest = 8;
    DirectoryRebuild.failScanAfterForTest = PAGES / 2;
    try (BlockIndex index = openIndex()) {
      SsdStorageException e =
          assertThrows(SsdStorageException.class, () -> new SsdTier(config(), index));
      assertTrue(e.getMessage().contains("injected"), e.getMessage());
      assertFalse(writerAlive(), "the rebuild's index writer still runs");
    }
    // Nothing was lost: the next open rebuilds every page.
    DirectoryRebuild.failScanAfterForTest = 0;
    try (BlockIndex index = openIndex();
        SsdTier tier = new SsdTier(config(), index)) {
      assertEquals(PAGES, tier.reconcileReport().orphansIndexed());
      assertServes(tier, Set.of());
    }
  }

  private static boolean writerAlive() {
    return Thread.getAllStackTraces().keySet().stream()
        .anyMatch(t -> t.isAlive() && t.getName().equals("kvstore-ssd-directory-rebuild"));
  }

  @Test
  void shouldSortASegmentsRecordsByOffsetKeepingEachRecordWhole() {
    SplittableRandom rnd = new SplittableRandom(42);
    for (int n : new int[] {0, 1, 2, 17, 1000, 20_000}) {
      for (int shape = 0; shape < 4; shape++) {
        DirectoryRebuild.Records r = new DirectoryRebuild.Records(null);
        long[] expected = new long[n];
        for (int i = 0; i < n; i++) {
          long off =
              switch (shape) {
                case 0 -> rnd.nextLong(1L << 40); // at random
                case 1 -> i * 256L; // in order
                case 2 -> (n - i) * 256L; // reversed
                default -> rnd.nextInt(8) * 256L; // many equal offsets
              };
          expected[i] = off;
          r.add(off * 3, off * 5, off, (int) off);
        }
        r.sortByOffset();
        Arrays.sort(expected);
        for (int i = 0; i < n; i++) {
          long off = r.offs[i];
          assertEquals(expected[i], off, "shape " + shape + " n " + n + " at " + i);
          assertEquals(off * 3, r.keys[2 * i]);
          assertEquals(off * 5, r.keys[2 * i + 1]);
          assertEquals((int) off, r.lens[i]);
        }
      }
    }
  }

  @Test
  void shouldLeaveRecordsInScanOrderWhenAnOffsetIsTooLargeToPackBesideItsIndex() {
    // 3 records need 2 index bits; an offset of 2^61 needs 62 bits: 64 > 63, so no sort (the
    // header check is correct in any order). 2^60 needs 61: sorted.
    for (long big : new long[] {1L << 61, 1L << 60}) {
      DirectoryRebuild.Records r = new DirectoryRebuild.Records(null);
      long[] offs = {big, 512, 256};
      for (long off : offs) {
        r.add(off + 1, off + 2, off, 64);
      }
      r.sortByOffset();
      long[] expected = big == 1L << 61 ? offs : new long[] {256, 512, big};
      for (int i = 0; i < 3; i++) {
        assertEquals(expected[i], r.offs[i], "big " + big + " at " + i);
        assertEquals(expected[i] + 1, r.keys[2 * i]);
        assertEquals(expected[i] + 2, r.keys[2 * i + 1]);
      }
    }
  }
}
