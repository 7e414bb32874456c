package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.TmpfsMount;
import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.tier.TierWriteException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SSD tier on a real, full file system: a 64 MiB tmpfs mounted for the test (CI runs as root).
 * Skipped, with the reason, where mounting is not allowed.
 */
class SsdTierFullDiskTest {

  private static final int PAGE = 1 << 20;

  @TempDir Path tmp;
  private TmpfsMount fs;
  private Path mnt;

  @BeforeEach
  void mountTmpfs() throws Exception {
    // RocksDB's library is loaded from the first SSD tier's directory of the JVM and stays mapped:
    // load it from outside the file system under test, or that could not be unmounted.
    RocksLibrary.load(tmp.resolve(RocksLibrary.DIR_NAME));
    fs = TmpfsMount.mount(tmp.resolve("fs"), "size=64m");
    mnt = fs.dir();
  }

  @AfterEach
  void unmount() throws Exception {
    if (fs != null) {
      fs.close(); // not lazily: nothing of the tier may be left open in it
    }
  }

  private SsdTier open() {
    return new SsdTier(
        SsdTierConfig.builder(mnt.resolve("ssd"), 1L << 30) // larger than the file system
            .maxPageBytes(PAGE)
            .minPageBytes(256 << 10)
            .segmentBytes(4L << 20)
            .build());
  }

  private static ByteBuffer page(long k) {
    return Pages.page(k, k, 0, 0, PAGE - 64, k);
  }

  private static void assertServes(SsdTier tier, long k) {
    Pages.assertServes(tier, k, PAGE - 64);
  }

  @Test
  void shouldFailWithNoSpaceKeepEveryPageDeleteOnAFullDiskAndResume() throws Exception {
    try (SsdTier tier = open()) {
      SsdStorageException full = null;
      long acked = 0;
      for (long k = 1; k <= 200 && full == null; k++) {
        try {
          assertTrue(tier.put(page(k)));
          acked = k;
        } catch (SsdStorageException e) {
          full = e;
        }
      }
      assertNotNull(full, "a 64 MiB file system must fill up");
      assertEquals(TierWriteException.Reason.NO_SPACE, full.reason(), full.getMessage());
      assertTrue(acked >= 8, "only " + acked + " pages fit");
      long pages = tier.pageCount();
      long used = tier.usedBytes();
      assertEquals(acked, pages);
      SsdStorageException again =
          assertThrows(SsdStorageException.class, () -> tier.put(page(1000)));
      assertEquals(TierWriteException.Reason.NO_SPACE, again.reason());
      assertEquals(pages, tier.pageCount(), "a failed put changes nothing");
      assertEquals(used, tier.usedBytes());
      for (long k = 1; k <= acked; k++) {
        assertServes(tier, k);
      }

      // Someone else takes the rest: the file system is now completely full.
      Path filler = mnt.resolve("filler");
      fill(filler);
      assertEquals(0, Files.getFileStore(mnt).getUsableSpace());
      long freeBefore = Files.getFileStore(mnt).getUsableSpace();
      for (long k = 1; k <= 8; k++) {
        assertTrue(tier.delete(k, k), "delete on a full disk, page " + k);
      }
      assertTrue(
          Files.getFileStore(mnt).getUsableSpace() >= freeBefore + 8L * PAGE,
          "deleting two whole segments frees their space");
      assertEquals(acked - 8, tier.pageCount());
      Files.delete(filler);

      assertTrue(tier.resumeWrites(), "space is back");
      for (long k = 1001; k <= 1004; k++) {
        assertTrue(tier.put(page(k)));
        assertServes(tier, k);
      }
      for (long k = 9; k <= acked; k++) {
        assertServes(tier, k);
      }
    }
    // The tier reopens on the (nearly) full file system and serves what it held.
    fill(mnt.resolve("filler2"));
    try (SsdTier tier = open()) {
      assertServes(tier, 9);
      assertServes(tier, 1004);
      assertEquals(0, tier.corruptions());
    }
  }

  @Test
  void shouldWarnAtOpenAndReportTheRoomWhenTheDiskIsSmallerThanTheTier() throws Exception {
    java.util.logging.Logger jul = java.util.logging.Logger.getLogger(SsdTier.class.getName());
    List<String> warnings = new CopyOnWriteArrayList<>();
    Handler capture =
        new Handler() {
          @Override
          public void publish(LogRecord r) {
            if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
              warnings.add(r.getMessage());
            }
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    jul.addHandler(capture);
    try {
      // A tier the empty 64 MiB disk can hold: no warning.
      try (SsdTier tier =
          new SsdTier(
              SsdTierConfig.builder(mnt.resolve("small"), 8L << 20)
                  .maxPageBytes(PAGE)
                  .minPageBytes(256 << 10)
                  .segmentBytes(4L << 20)
                  .build())) {
        assertTrue(tier.diskRoomBytes() > 8L << 20, "room " + tier.diskRoomBytes());
        assertEquals(List.of(), warnings);
      }
      deleteTree(mnt.resolve("small"));

      // A tier of 1 GiB on it: one WARN naming the room there is.
      try (SsdTier tier = open()) {
        long fs = Files.getFileStore(mnt).getTotalSpace();
        long room = tier.diskRoomBytes();
        assertTrue(room > 0 && room < fs, "room " + room + " on a file system of " + fs);
        assertEquals(1, warnings.size(), "one WARN at open: " + warnings);
        String w = warnings.get(0);
        assertTrue(w.contains("is sized for 1,073,741,824 bytes"), w);
        assertTrue(w.contains(String.format(java.util.Locale.ROOT, "has room for about %,d ", room)), w);
        assertTrue(w.contains("NO_SPACE"), w);

        // Filled up: the room is what the tier holds, plus less than a page.
        SsdStorageException full = null;
        for (long k = 1; k <= 200 && full == null; k++) {
          try {
            tier.put(page(k));
          } catch (SsdStorageException e) {
            full = e;
          }
        }
        assertNotNull(full, "a 64 MiB file system must fill up");
        assertTrue(
            full.getMessage().startsWith("no space for a page (1,048,576 bytes) in "),
            full.getMessage());
        long held = tier.diskBytes();
        long after = tier.diskRoomBytes();
        assertTrue(
            after >= held && after < held + PAGE,
            "room " + after + " with " + held + " held and less than a page free");
        assertEquals(1, warnings.size(), "no more WARN lines from the tier: " + warnings);
      }
    } finally {
      jul.removeHandler(capture);
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (var all = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) all.sorted(java.util.Comparator.reverseOrder())::iterator) {
        Files.delete(p);
      }
    }
  }

  @Test
  void shouldRefuseAtStartupADirectoryThatCannotFit() {
    UncheckedIOException e =
        assertThrows(UncheckedIOException.class, () -> BlockIndex.open(mnt.resolve("idx"), 2_000_000));
    String msg = e.getMessage();
    assertTrue(msg.contains("cannot open the block index: needs "), msg);
    assertTrue(msg.contains(" free in " + mnt.resolve("idx")), msg);
    assertTrue(Files.notExists(mnt.resolve("idx").resolve(BlockIndex.FILE_NAME)), "nothing left");
  }

  /** Writes zeros into {@code file} until the file system refuses. */
  private static void fill(Path file) throws IOException {
    ByteBuffer zeros = ByteBuffer.allocateDirect(64 << 10);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      while (true) {
        zeros.clear();
        try {
          ch.write(zeros);
        } catch (IOException e) {
          break;
        }
      }
      // Pages smaller than 64 KiB may still fit: fill the last bytes too.
      ByteBuffer one = ByteBuffer.allocate(4096);
      while (true) {
        one.clear();
        try {
          ch.write(one);
        } catch (IOException e) {
          break;
        }
      }
    }
  }
}
