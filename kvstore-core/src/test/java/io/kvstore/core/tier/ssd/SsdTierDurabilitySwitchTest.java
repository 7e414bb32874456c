package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.store.StoreFixtures;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tier that did not close cleanly recovers under the rules of the durability it crashed under
 * (spec/6-ssd-segments.md 6.6): an open under a mode of the other kind ({@code none} against
 * {@code wal} or {@code sync}) is refused with what to do, and changes nothing; a clean close lets
 * the next run choose any mode.
 */
class SsdTierDurabilitySwitchTest {

  private static final int KEYS = 2_000;

  @TempDir Path dir;
  @TempDir Path copies;

  private static SsdTier open(Path d, SsdTierConfig.Durability durability) {
    return new SsdTier(SsdDirectoryRebuildKilledTest.config(d, durability));
  }

  private static String recorded(Path d) throws Exception {
    return Files.readString(
            d.resolve(SsdTier.SEGMENTS_DIR).resolve(SsdTier.DURABILITY_FILE),
            StandardCharsets.US_ASCII)
        .trim();
  }

  /** The files of {@code d} as a SIGKILL after the writes leaves them, in a new directory. */
  private Path killed(Path d, String name) throws Exception {
    Path copy = copies.resolve(name);
    StoreFixtures.copyTree(d, copy);
    SsdDirectoryRebuildKilledTest.crash(copy);
    return copy;
  }

  private static void assertRefused(Path d, SsdTierConfig.Durability now, String was) {
    SsdStorageException e = assertThrows(SsdStorageException.class, () -> open(d, now));
    assertTrue(
        e.getMessage().contains("did not close cleanly under ssd.durability = " + was + " ")
            && e.getMessage().contains("start it once with ssd.durability = " + was)
            && e.getMessage().endsWith("Nothing was changed."),
        e.getMessage());
  }

  @Test
  void shouldRefuseToRecoverAKilledWalTierWithoutALogAndRecoverItWithOne() throws Exception {
    try (SsdTier tier = open(dir, SsdTierConfig.Durability.WAL)) {
      SsdDirectoryRebuildKilledTest.writePages(tier, KEYS);
      assertEquals("wal", recorded(dir));
    }
    Path d = killed(dir, "wal-killed");
    assertRefused(d, SsdTierConfig.Durability.NONE, "wal");
    assertEquals("wal", recorded(d), "nothing changed");
    try (SsdTier tier = open(d, SsdTierConfig.Durability.WAL)) {
      SsdDirectoryRebuildKilledTest.assertServesLastPuts(tier, KEYS, "recovered with its log");
    }
    // Closed cleanly: any mode may follow.
    try (SsdTier tier = open(d, SsdTierConfig.Durability.NONE)) {
      assertEquals("none", recorded(d));
      SsdDirectoryRebuildKilledTest.assertServesLastPuts(tier, KEYS, "then without a log");
    }
  }

  @Test
  void shouldRefuseToRecoverAKilledTierWithoutALogUnderALog() throws Exception {
    try (SsdTier tier = open(dir, SsdTierConfig.Durability.NONE)) {
      SsdDirectoryRebuildKilledTest.writePages(tier, KEYS);
      assertEquals("none", recorded(dir));
    }
    Path d = killed(dir, "none-killed");
    assertRefused(d, SsdTierConfig.Durability.WAL, "none");
    assertRefused(d, SsdTierConfig.Durability.SYNC, "none");
    try (SsdTier tier = open(d, SsdTierConfig.Durability.NONE)) {
      SsdDirectoryRebuildKilledTest.assertServesLastPuts(tier, KEYS, "recovered without a log");
    }
    try (SsdTier tier = open(d, SsdTierConfig.Durability.SYNC)) {
      assertEquals("sync", recorded(d));
      SsdDirectoryRebuildKilledTest.assertServesLastPuts(tier, KEYS, "then synced");
    }
  }

  @Test
  void shouldLetWalAndSyncRecoverEachOther() throws Exception {
    try (SsdTier tier = open(dir, SsdTierConfig.Durability.SYNC)) {
      SsdDirectoryRebuildKilledTest.writePages(tier, KEYS);
    }
    Path d = killed(dir, "sync-killed");
    try (SsdTier tier = open(d, SsdTierConfig.Durability.WAL)) {
      assertEquals("wal", recorded(d));
      SsdDirectoryRebuildKilledTest.assertServesLastPuts(tier, KEYS, "sync recovered by wal");
    }
  }

  @Test
  void shouldNotCheckADataDirectoryWithoutARecordOfItsModeAndRefuseAnUnreadableOne()
      throws Exception {
    try (SsdTier tier = open(dir, SsdTierConfig.Durability.WAL)) {
      SsdDirectoryRebuildKilledTest.writePages(tier, KEYS);
    }
    Path d = killed(dir, "earlier-version");
    Path file = d.resolve(SsdTier.SEGMENTS_DIR).resolve(SsdTier.DURABILITY_FILE);
    Files.writeString(file, "fast\n", StandardCharsets.US_ASCII);
    SsdStorageException e =
        assertThrows(SsdStorageException.class, () -> open(d, SsdTierConfig.Durability.WAL));
    assertTrue(e.getMessage().endsWith("holds 'fast', not none, wal or sync"), e.getMessage());
    Files.delete(file);
    Files.createDirectories(file.resolve("x")); // a record that cannot be read at all
    e = assertThrows(SsdStorageException.class, () -> open(d, SsdTierConfig.Durability.WAL));
    assertTrue(
        e.getMessage().startsWith("cannot check the durability the SSD tier in "), e.getMessage());
    Files.delete(file.resolve("x"));
    Files.delete(file); // as an earlier version left it: not checked, recorded from now on
    try (SsdTier tier = open(d, SsdTierConfig.Durability.WAL)) {
      assertEquals("wal", recorded(d));
      SsdDirectoryRebuildKilledTest.assertServesLastPuts(tier, KEYS, "an earlier version's");
    }
  }
}
