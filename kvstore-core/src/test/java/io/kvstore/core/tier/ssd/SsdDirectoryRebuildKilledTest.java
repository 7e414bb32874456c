package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.PageFormat;
import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.index.ForkedJvm;
import io.kvstore.core.tier.Tier;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * A double fault: the process is killed (SIGKILL) while it opens the SSD tier after a crash, with
 * part of the directory rewritten in the index (rebuilt from RocksDB, or with {@code none} checked
 * in place). The next open rebuilds again and
 * serves every page with the bytes of its last put, no deleted page and no older version.
 */
class SsdDirectoryRebuildKilledTest {

  private static final int PAYLOAD = 1000;
  private static final int LEN = PageFormat.pageLength(PAYLOAD);
  /** Pages; the child hands the rebuild's records to its index writer 1,000 at a time. */
  private static final int KEYS = 10_000;

  @TempDir Path dir;

  static SsdTierConfig config(Path dir, SsdTierConfig.Durability durability) {
    return SsdTierConfig.builder(dir, 256L << 20)
        .maxPageBytes(LEN)
        .minPageBytes(LEN)
        .segmentBytes(1L << 20)
        .durability(durability)
        .build();
  }

  /** Every 7th key deleted, every 5th put again as version 2; the rest at version 1. */
  static boolean deleted(long k) {
    return k % 7 == 0;
  }

  static long version(long k) {
    return k % 5 == 0 ? 2 : 1;
  }

  /**
   * With {@code wal} (the default) and {@code sync} the open after a crash rebuilds the directory
   * from RocksDB's records; with {@code none} it checks the entries of the index Chronicle
   * recovered against the page headers (rewriting those whose segment got another slot, the slot
   * table being gone), and the kill lands among those checks.
   */
  @ParameterizedTest
  @EnumSource(SsdTierConfig.Durability.class)
  void shouldServeExactlyThePagesItHeldAfterAKillDuringTheOpen(SsdTierConfig.Durability durability)
      throws Exception {
    try (SsdTier tier = new SsdTier(config(dir, durability))) {
      writePages(tier, KEYS);
    }
    long live = live(KEYS);
    crash(dir);

    // A fresh JVM rebuilds the directory and is killed half way through the scan, its writer
    // thread having indexed what the scan handed over so far.
    Process p =
        ForkedJvm.builder(
                List.of(),
                RebuildKillTarget.class,
                dir.toString(),
                Long.toString(live / 2),
                durability.name().toLowerCase(java.util.Locale.ROOT))
            .start();
    try (BufferedReader out =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      do {
        line = out.readLine(); // its logging goes to stderr; skip anything else on stdout
      } while (line != null && !line.equals("PAUSED") && !line.startsWith("OPENED"));
      assertEquals("PAUSED", line, "the child stopped inside the rebuild");
      Path index = dir.resolve(SsdTier.INDEX_DIR);
      assertTrue(Files.exists(index.resolve(BlockIndex.FILE_NAME)), "the child's index exists");
      assertTrue(
          !Files.exists(index.resolve(BlockIndex.CLEAN_MARKER_NAME)),
          "and is marked unclean while it rebuilds");
      p.destroyForcibly(); // SIGKILL
      assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    } finally {
      p.destroyForcibly();
    }

    // The next open finds an unclean index and a tier without its clean-close marker: it rebuilds
    // from the location records again.
    for (int round = 0; round < 2; round++) { // after the rebuild, then after a clean reopen
      try (SsdTier tier = new SsdTier(config(dir, durability))) {
        assertEquals(live, tier.pageCount(), "round " + round);
        assertServesLastPuts(tier, KEYS, "round " + round);
      }
    }
  }

  /** Keys 1 to {@code keys} at version 1, then as {@link #version} and {@link #deleted} say. */
  static void writePages(SsdTier tier, long keys) {
    for (long k = 1; k <= keys; k++) {
      assertTrue(tier.put(Pages.page(k, k, 0, 0, PAYLOAD, 1)));
    }
    for (long k = 1; k <= keys; k++) {
      if (version(k) == 2) {
        assertTrue(tier.put(Pages.page(k, k, 0, 0, PAYLOAD, 2)));
      }
      if (deleted(k)) {
        assertTrue(tier.delete(k, k));
      }
    }
  }

  /** Pages of keys 1 to {@code keys} that {@link #writePages} leaves. */
  static long live(long keys) {
    long n = 0;
    for (long k = 1; k <= keys; k++) {
      n += deleted(k) ? 0 : 1;
    }
    return n;
  }

  /**
   * Keys 1 to {@code keys} of {@link #PAYLOAD}-byte pages written as {@link #deleted} and {@link
   * #version} say: each is a miss or the exact bytes of its last put, and no page is corrupt.
   */
  static void assertServesLastPuts(SsdTier tier, long keys, String when) {
    ByteBuffer dst = ByteBuffer.allocateDirect(LEN);
    for (long k = 1; k <= keys; k++) {
      dst.clear();
      int n = tier.get(k, k, dst);
      if (deleted(k)) {
        assertEquals(Tier.MISS, n, "deleted page " + k + " stays deleted (" + when + ")");
        continue;
      }
      assertEquals(LEN, n, "page " + k + " (" + when + ")");
      assertTrue(
          Pages.sameBytes(Pages.page(k, k, 0, 0, PAYLOAD, version(k)), dst, 0, LEN),
          "page " + k + " has the bytes of its last put (" + when + ")");
    }
    assertEquals(0, tier.corruptions(), when);
  }

  /** As a SIGKILL after the writes leaves the tier: no clean-close markers, no slot table. */
  static void crash(Path dir) throws Exception {
    Path segDir = dir.resolve(SsdTier.SEGMENTS_DIR);
    Files.deleteIfExists(segDir.resolve(SsdTier.CLEAN_MARKER));
    Files.deleteIfExists(segDir.resolve(SsdTier.SLOTS_FILE));
    Files.deleteIfExists(dir.resolve(SsdTier.INDEX_DIR).resolve(BlockIndex.CLEAN_MARKER_NAME));
  }
}
