package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

  /** Puts {@code pages} pages and closes: without a log, the close flushes them into an SST. */
  private void putAndClose(int pages) {
    try (SsdTier tier = open(SsdTierConfig.Durability.NONE)) {
      for (long k = 1; k <= pages; k++) {
        assertTrue(tier.put(Pages.page(k, k, 0, 0, 1000, k)));
      }
    }
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
}
