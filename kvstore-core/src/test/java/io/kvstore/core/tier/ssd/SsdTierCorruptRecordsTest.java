package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.store.StoreFixtures;
import io.kvstore.core.tier.Tier;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RocksDB's own files damaged on disk (bit rot, a failing device): after a crash the SSD tier
 * cannot rebuild its directory from its location records, and says so in words an operator can
 * act on, naming what to remove to start anyway; removing it starts the tier empty.
 */
class SsdTierCorruptRecordsTest {

  @TempDir Path dir;

  private SsdTier open(SsdTierConfig.Durability durability) {
    return new SsdTier(
        SsdTierConfig.builder(dir, 64L << 20).maxPages(10_000).durability(durability).build());
  }

  /** {@link SsdTier#open} with {@code ssd.corrupt.records = discard}, or the default. */
  private SsdTier open(SsdTierConfig.Durability durability, boolean discard) {
    return SsdTier.open(
        SsdTierConfig.builder(dir, 64L << 20)
            .maxPages(10_000)
            .durability(durability)
            .discardCorruptRecords(discard)
            .build(),
        null);
  }

  private static long segmentFiles(Path dir) throws IOException {
    try (Stream<Path> segs = Files.list(dir.resolve(SsdTier.SEGMENTS_DIR))) {
      return segs.filter(p -> p.toString().endsWith(".seg")).count();
    }
  }

  /** Puts {@code pages} pages and closes: without a log, the close flushes them into an SST. */
  private void putAndClose(int pages) {
    // Without the log, so that the clean close leaves the records in table files only.
    try (SsdTier tier = open(SsdTierConfig.Durability.NONE)) {
      for (long k = 1; k <= pages; k++) {
        assertTrue(tier.put(Pages.page(k, k, 0, 0, 1000, k)));
      }
    }
    // Then a run with the log, which the crashes below are crashes of (a tier that crashed under
    // none opens only under none).
    open(SsdTierConfig.Durability.WAL).close();
  }

  /**
   * Flips every {@code stride}-th byte in the first {@code share} of each file of RocksDB's
   * directory whose name {@code matches}; fails if there is none.
   */
  private static void damage(Path rocks, Predicate<String> matches, double share, int stride)
      throws IOException {
    List<Path> files;
    try (Stream<Path> all = Files.list(rocks)) {
      files = all.filter(p -> matches.test(p.getFileName().toString())).toList();
    }
    assertFalse(files.isEmpty(), "no file to damage in " + rocks);
    for (Path f : files) {
      byte[] b = Files.readAllBytes(f);
      for (int at = 0; at < b.length * share; at += stride) {
        b[at] ^= (byte) 0xA5;
      }
      Files.write(f, b);
    }
  }

  /** The next open fails with the message that names the records and the way out. */
  private void assertOpenNamesTheCorruption(Path rocks) {
    SsdStorageException e =
        assertThrows(SsdStorageException.class, () -> open(SsdTierConfig.Durability.WAL));
    assertTrue(e.getMessage().contains("location records in " + rocks), e.getMessage());
    assertTrue(e.getMessage().contains("are corrupt (RocksDB: "), e.getMessage());
    assertTrue(e.getMessage().contains("To start anyway, remove " + rocks), e.getMessage());
  }

  @Test
  void shouldNameTheCorruptRecordsAndTheWayOutWhenTheRebuildCannotReadThem() throws Exception {
    putAndClose(2_000);
    Path rocks = dir.resolve(LocationStore.DIR_NAME);
    damage(rocks, name -> name.endsWith(".sst"), 0.5, 997); // data blocks: the first half
    SsdDirectoryRebuildKilledTest.crash(dir); // the next open rebuilds from the records
    assertOpenNamesTheCorruption(rocks);

    // The way out the message gives: the tier starts empty and drops its segment files.
    try (Stream<Path> all = Files.walk(rocks)) {
      for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
    try (SsdTier tier = open(SsdTierConfig.Durability.WAL)) {
      assertEquals(0, tier.pageCount());
      assertEquals(Tier.MISS, tier.length(1, 1));
      assertTrue(tier.put(Pages.page(1, 1, 0, 0, 1000, 1)));
      Pages.assertServes(tier, 1, 1000);
    }
    try (Stream<Path> segs = Files.list(dir.resolve(SsdTier.SEGMENTS_DIR))) {
      assertEquals(
          1, segs.filter(p -> p.toString().endsWith(".seg")).count(), "old segments dropped");
    }
  }

  /** A damaged manifest stops RocksDB's open itself: the same message, from the open. */
  @Test
  void shouldNameTheCorruptRecordsWhenRocksDbCannotOpenThem() throws Exception {
    putAndClose(200);
    Path rocks = dir.resolve(LocationStore.DIR_NAME);
    damage(rocks, name -> name.startsWith("MANIFEST-"), 1.0, 7);
    assertOpenNamesTheCorruption(rocks);
  }

  /**
   * {@code discard} after a crash whose rebuild meets damaged records: the records go (nothing
   * vouches for the index the killed process left), the tier starts empty, drops its segment files
   * and takes new pages; without {@code discard}, {@link SsdTier#open} fails as the constructor does.
   */
  @Test
  void shouldStartEmptyAfterACrashWhenTheDamagedRecordsAreDiscarded() throws Exception {
    putAndClose(2_000);
    Path rocks = dir.resolve(LocationStore.DIR_NAME);
    damage(rocks, name -> name.endsWith(".sst"), 0.5, 997);
    SsdDirectoryRebuildKilledTest.crash(dir);
    SsdStorageException refused =
        assertThrows(SsdStorageException.class, () -> open(SsdTierConfig.Durability.WAL, false));
    assertTrue(refused.corruptRecords(), refused.getMessage());
    assertTrue(refused.getMessage().contains("or set ssd.corrupt.records to discard"),
        refused.getMessage());

    try (SsdTier tier = open(SsdTierConfig.Durability.WAL, true)) {
      assertEquals(0, tier.pageCount());
      assertEquals(ReconcileReport.Source.RECORDS, tier.reconcileReport().source());
      assertEquals(0, tier.reconcileReport().recordsRestored());
      assertEquals(Tier.MISS, tier.length(1, 1));
      assertTrue(tier.put(Pages.page(1, 1, 0, 0, 1000, 1)));
      Pages.assertServes(tier, 1, 1000);
    }
    assertEquals(1, segmentFiles(dir), "old segments dropped");
    try (SsdTier tier = open(SsdTierConfig.Durability.WAL, true)) {
      assertEquals(1, tier.pageCount(), "the new records are whole: nothing discarded again");
      Pages.assertServes(tier, 1, 1000);
    }
  }

  /**
   * {@code discard} after a clean close whose RocksDB cannot open (a damaged manifest): the block
   * index is whole, so every page stays and gets its record again from its index entry; a crash
   * after that rebuilds the same pages from the new records.
   */
  @Test
  void shouldKeepThePagesOfACleanIndexAndWriteTheirRecordsAnew() throws Exception {
    putAndClose(300);
    Path rocks = dir.resolve(LocationStore.DIR_NAME);
    damage(rocks, name -> name.startsWith("MANIFEST-"), 1.0, 7);
    try (SsdTier tier = open(SsdTierConfig.Durability.WAL, true)) {
      assertEquals(300, tier.pageCount());
      assertEquals(ReconcileReport.Source.INDEX, tier.reconcileReport().source());
      assertEquals(300, tier.reconcileReport().recordsRestored());
      for (long k = 1; k <= 300; k++) {
        Pages.assertServes(tier, k, 1000);
      }
      assertTrue(tier.delete(7, 7)); // its new record goes with it
    }
    SsdDirectoryRebuildKilledTest.crash(dir); // the next open rebuilds from the records alone
    try (SsdTier tier = open(SsdTierConfig.Durability.WAL, false)) {
      assertEquals(ReconcileReport.Source.RECORDS, tier.reconcileReport().source());
      assertEquals(299, tier.pageCount());
      assertEquals(299, tier.reconcileReport().orphansIndexed());
      assertEquals(Tier.MISS, tier.length(7, 7));
      for (long k = 1; k <= 300; k++) {
        if (k != 7) {
          Pages.assertServes(tier, k, 1000);
        }
      }
    }
  }

  /**
   * {@code discard} after a process crash whose index is kept (a copy of an open tier is what a
   * kill leaves) and whose RocksDB manifest is damaged: the kept index is the directory, so every
   * page stays and gets its record anew.
   */
  @Test
  void shouldKeepThePagesOfAKeptCrashIndexAndWriteTheirRecordsAnew() throws Exception {
    Path copy = dir.resolve("copy");
    Path live = dir.resolve("live");
    try (SsdTier tier =
        new SsdTier(
            SsdTierConfig.builder(live, 64L << 20)
                .maxPages(10_000)
                .durability(SsdTierConfig.Durability.WAL)
                .build())) {
      for (long k = 1; k <= 100; k++) {
        assertTrue(tier.put(Pages.page(k, k, 0, 0, 1000, k)));
      }
      StoreFixtures.copyTree(live, copy);
    }
    damage(copy.resolve(LocationStore.DIR_NAME), name -> name.startsWith("MANIFEST-"), 1.0, 7);
    SsdTierConfig discard =
        SsdTierConfig.builder(copy, 64L << 20)
            .maxPages(10_000)
            .durability(SsdTierConfig.Durability.WAL)
            .discardCorruptRecords(true)
            .build();
    try (SsdTier tier = SsdTier.open(discard, null)) {
      assertEquals(ReconcileReport.Source.INDEX_AFTER_CRASH, tier.reconcileReport().source());
      assertEquals(100, tier.reconcileReport().recordsRestored());
      for (long k = 1; k <= 100; k++) {
        Pages.assertServes(tier, k, 1000);
      }
    }
    SsdDirectoryRebuildKilledTest.crash(copy);
    try (SsdTier tier = SsdTier.open(discard, null)) {
      assertEquals(ReconcileReport.Source.RECORDS, tier.reconcileReport().source());
      assertEquals(100, tier.pageCount(), "the records written anew know every page");
    }
  }
}
