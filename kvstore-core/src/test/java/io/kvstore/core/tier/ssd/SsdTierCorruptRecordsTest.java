package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.tier.Tier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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

  @Test
  void shouldNameTheCorruptRecordsAndTheWayOutWhenTheRebuildCannotReadThem() throws Exception {
    // Without a log, a close flushes the records into an SST file.
    try (SsdTier tier = open(SsdTierConfig.Durability.NONE)) {
      for (long k = 1; k <= 2_000; k++) {
        assertTrue(tier.put(Pages.page(k, k, 0, 0, 1000, k)));
      }
    }
    Path rocks = dir.resolve(LocationStore.DIR_NAME);
    List<Path> ssts;
    try (Stream<Path> files = Files.list(rocks)) {
      ssts = files.filter(p -> p.toString().endsWith(".sst")).toList();
    }
    assertFalse(ssts.isEmpty(), "the close flushed an SST file");
    for (Path sst : ssts) {
      byte[] b = Files.readAllBytes(sst);
      for (int at = 0; at < b.length / 2; at += 997) { // data blocks: the file's first half
        b[at] ^= (byte) 0xA5;
      }
      Files.write(sst, b);
    }
    SsdDirectoryRebuildKilledTest.crash(dir); // the next open rebuilds from the records

    SsdStorageException e =
        assertThrows(SsdStorageException.class, () -> open(SsdTierConfig.Durability.WAL));
    assertTrue(e.getMessage().contains("location records in " + rocks), e.getMessage());
    assertTrue(e.getMessage().contains("are corrupt (RocksDB: "), e.getMessage());
    assertTrue(e.getMessage().contains("To start anyway, remove " + rocks), e.getMessage());

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
    try (SsdTier tier = open(SsdTierConfig.Durability.NONE)) {
      for (long k = 1; k <= 200; k++) {
        assertTrue(tier.put(Pages.page(k, k, 0, 0, 1000, k)));
      }
    }
    Path rocks = dir.resolve(LocationStore.DIR_NAME);
    List<Path> manifests;
    try (Stream<Path> files = Files.list(rocks)) {
      manifests = files.filter(p -> p.getFileName().toString().startsWith("MANIFEST-")).toList();
    }
    assertFalse(manifests.isEmpty(), "RocksDB keeps a manifest");
    for (Path m : manifests) {
      byte[] b = Files.readAllBytes(m);
      for (int at = 0; at < b.length; at += 7) {
        b[at] ^= (byte) 0x5A;
      }
      Files.write(m, b);
    }
    SsdStorageException e =
        assertThrows(SsdStorageException.class, () -> open(SsdTierConfig.Durability.WAL));
    assertTrue(e.getMessage().contains("are corrupt (RocksDB: "), e.getMessage());
    assertTrue(e.getMessage().contains("To start anyway, remove " + rocks), e.getMessage());
  }
}
