package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.TmpfsMount;
import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.store.LogCapture;
import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.TierWriteException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
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

  /** A tier of 1 GiB, larger than the file system, kept at that size (not fitted to the disk). */
  private SsdTier open() {
    return open(false);
  }

  /**
   * The same tier, fitted to the disk or not; fitted with RocksDB's smallest write buffer (1 MiB),
   * so that its reserve and margin (two write buffers each, about) leave room on 64 MiB.
   */
  private SsdTier open(boolean fitToDisk) {
    SsdTierConfig.Builder b =
        SsdTierConfig.builder(mnt.resolve("ssd"), 1L << 30) // larger than the file system
            .maxPageBytes(PAGE)
            .minPageBytes(256 << 10)
            .segmentBytes(4L << 20)
            .fitToDisk(fitToDisk);
    if (fitToDisk) {
      b.writeBufferBytes(1L << 20);
    }
    return new SsdTier(b.build());
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
    LogCapture log = new LogCapture(SsdTier.class);
    List<String> warnings = log.warnings();
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
      log.close();
    }
  }

  /**
   * The default: a 1 GiB tier on the 64 MiB file system takes the room there is as its capacity
   * and evicts its oldest pages there, so 200 MiB of pages go through it without one NO_SPACE and
   * the reserve stays free. Another program filling the disk afterwards still stops its writes
   * (nothing is evicted for that), and freeing it lets them go on.
   */
  @Test
  void shouldFitItselfToASmallerDiskAndEvictItsOldestInsteadOfFillingIt() throws Exception {
    LogCapture log = new LogCapture(SsdTier.class);
    List<String> warnings = log.warnings();
    long capacity;
    try (SsdTier tier = open(true)) {
      long fs = Files.getFileStore(mnt).getTotalSpace();
      capacity = tier.capacityBytes();
      long margin = tier.diskRoomBytes() - capacity;
      assertTrue(
          margin >= SsdTier.FIT_MARGIN_BYTES + 2 * (1L << 20)
              && margin < SsdTier.FIT_MARGIN_BYTES + (8L << 20),
          "the capacity is the room at open less a margin: " + margin);
      assertTrue(capacity > 8L * PAGE && capacity < fs, "capacity " + capacity + " of " + fs);
      assertEquals(1, warnings.size(), "one WARN at open: " + warnings);
      String w = warnings.get(0);
      assertTrue(w.contains("is sized for 1,073,741,824 bytes"), w);
      assertTrue(
          w.contains(String.format(java.util.Locale.ROOT, "holds at most %,d (%,d less", capacity, margin)),
          w);
      assertTrue(w.contains("ssd.fit.disk = false"), w);

      long reserve = 2L << 20; // two write buffers of 1 MiB
      for (long k = 1; k <= 200; k++) {
        assertTrue(tier.put(page(k)), "put " + k + " of 1 MiB into a tier of " + capacity);
        assertTrue(tier.diskBytes() <= capacity, "on disk " + tier.diskBytes() + " > " + capacity);
        long free = Files.getFileStore(mnt).getUsableSpace();
        assertTrue(free >= reserve, "free " + free + " below the reserve " + reserve + " at " + k);
      }
      assertEquals(capacity, tier.capacityBytes(), "decided once, at open");
      // A batch (as the write-back writes them) larger than the free space above the reserve: the
      // tier at its capacity evicts for it rather than fail for the space it is about to free.
      ByteBuffer[] batch = new ByteBuffer[16];
      for (int i = 0; i < batch.length; i++) {
        batch[i] = page(300 + i);
      }
      boolean[] stored = new boolean[batch.length];
      assertTrue(
          Files.getFileStore(mnt).getUsableSpace() < reserve + 16L * PAGE,
          "the batch is larger than the free space above the reserve");
      tier.putAll(batch, batch.length, stored);
      for (int i = 0; i < batch.length; i++) {
        assertTrue(stored[i], "page " + (300 + i) + " of the batch");
      }
      assertServes(tier, 315);
      assertTrue(tier.diskBytes() <= capacity);
      assertTrue(tier.pageCount() >= 8 && tier.pageCount() < 64, "held " + tier.pageCount());
      ByteBuffer probe = ByteBuffer.allocateDirect(PAGE); // one for every probe: no direct garbage
      assertEquals(-1, tier.get(1, 1, probe), "the oldest was evicted");
      for (long k = 312; k <= 315; k++) {
        assertServes(tier, k);
      }
      assertEquals(0, tier.corruptions());
      assertEquals(1, warnings.size(), "no more WARN lines: " + warnings);

      // Someone else takes the rest: the tier stops taking pages and evicts none for it.
      long held = tier.pageCount();
      Path filler = mnt.resolve("filler");
      fill(filler);
      SsdStorageException full =
          assertThrows(SsdStorageException.class, () -> tier.put(page(1000)));
      assertEquals(TierWriteException.Reason.NO_SPACE, full.reason(), full.getMessage());
      assertEquals(held, tier.pageCount(), "no page evicted because the disk was filled by others");
      int served = 0;
      for (long k = 1; k <= 315; k++) {
        if (tier.get(k, k, probe.clear()) >= 0) {
          assertServes(tier, k);
          served++;
        }
      }
      assertEquals(held, served);
      Files.delete(filler);
      assertTrue(tier.resumeWrites(), "space is back");
      assertTrue(tier.put(page(1001)));
      assertServes(tier, 1001);
    } finally {
      log.close();
    }
    // Reopened, it holds what it held: the capacity is fitted again, never below that.
    try (SsdTier tier = open(true)) {
      assertServes(tier, 1001);
      assertServes(tier, 315);
      assertTrue(tier.capacityBytes() >= tier.diskBytes());
      assertTrue(
          Math.abs(tier.capacityBytes() - capacity) <= 2L * PAGE,
          "room at reopen " + tier.capacityBytes() + ", at the first open " + capacity);
    }
  }

  /**
   * A room far below the largest page the tier accepts (16 MiB by default) still fits the tier
   * when it holds 64 pages of the smallest declared size: with the bar at one page of the largest
   * size, a 96 MiB disk with 16 KiB pages stayed unfitted and degraded (a crash run showed it).
   */
  @Test
  void shouldFitARoomOfFarLessThanTheLargestPage() throws Exception {
    long free = Files.getFileStore(mnt).getUsableSpace();
    // Leave the tier about 10 MiB: the free space less the reserve (2 MiB), the margin (under
    // 8 MiB with a 1 MiB write buffer) and 16 MiB more, of which the open's own files (ballast,
    // RocksDB's manifest) take about 6.
    long aside = free - (2L << 20) - (8L << 20) - (16L << 20);
    try (SsdTier tier =
        new SsdTier(
            SsdTierConfig.builder(mnt.resolve("ssd"), 1L << 30)
                .minPageBytes(64 << 10)
                .writeBufferBytes(1L << 20)
                .diskBytesAside(aside)
                .build())) {
      long capacity = tier.capacityBytes();
      assertTrue(
          capacity > 4L << 20 && capacity < SsdTierConfig.DEFAULT_MAX_PAGE_BYTES,
          "fitted to about 10 MiB: " + capacity);
      assertTrue(tier.put(Pages.page(1, 1, 0, 0, (64 << 10) - 64, 1)));
      Pages.assertServes(tier, 1, (64 << 10) - 64);
    }
  }

  /**
   * A fitted tier whose segment size is derived (not set) takes it from the fitted capacity, a
   * 64th of it: from the configured 1 GiB it would be 16 MiB, three segments on this disk, and
   * each eviction would drop a third of what the tier holds.
   */
  @Test
  void shouldDeriveTheSegmentSizeFromTheFittedCapacity() throws Exception {
    int payload = (64 << 10) - 64;
    try (SsdTier tier =
        new SsdTier(
            SsdTierConfig.builder(mnt.resolve("ssd"), 1L << 30)
                .maxPageBytes(PAGE)
                .minPageBytes(64 << 10)
                .writeBufferBytes(1L << 20)
                .build())) {
      long capacity = tier.capacityBytes();
      assertTrue(capacity < 64L << 20, "fitted: " + capacity);
      for (long k = 1; k <= 1000; k++) {
        assertTrue(tier.put(Pages.page(k, k, 0, 0, payload, k)));
      }
      long segment = capacity / 64;
      long files;
      long largest;
      try (var list = Files.list(mnt.resolve("ssd").resolve(SsdTier.SEGMENTS_DIR))) {
        List<Long> sizes =
            list.filter(f -> f.getFileName().toString().endsWith(".seg"))
                .map(f -> f.toFile().length())
                .toList();
        files = sizes.size();
        largest = sizes.stream().mapToLong(Long::longValue).max().orElse(0);
      }
      assertTrue(files >= 32, files + " segment files for a capacity of " + capacity);
      assertTrue(largest < segment + (64 << 10), "largest segment " + largest + " > " + segment);
      Pages.assertServes(tier, 1000, payload);
    }
  }

  /**
   * A tier that filled its disk (not fitted), whose last free space another program took while it
   * was down, keeps every page when reopened fitted: the fitted capacity is never below what it
   * holds.
   */
  @Test
  void shouldEvictNothingAtOpenWhenFittingToADiskItAlreadyFilled() throws Exception {
    long held;
    try (SsdTier tier = open(false)) {
      for (long k = 1; k <= 200; k++) {
        try {
          tier.put(page(k));
        } catch (SsdStorageException e) {
          break;
        }
      }
      held = tier.pageCount();
      assertTrue(held >= 8, "held " + held);
    }
    // While it was down, another program took what was left: the room is now less than it holds.
    fill(mnt.resolve("filler"));
    try (SsdTier tier = open(true)) {
      assertEquals(held, tier.pageCount(), "no page evicted at open");
      assertTrue(
          tier.diskRoomBytes() < tier.diskBytes() + SsdTier.FIT_MARGIN_BYTES,
          "room " + tier.diskRoomBytes() + " is less than it holds and the margin");
      assertEquals(tier.diskBytes(), tier.capacityBytes(), "the capacity is what it holds");
      for (long k = 1; k <= held; k++) {
        assertServes(tier, k);
      }
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (var all = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) all.sorted(java.util.Comparator.reverseOrder())::iterator) {
        Files.delete(p);
      }
    }
  }

  /**
   * The free space cannot be read at open (a file system that fails statvfs): the tier opens at
   * its configured capacity with one WARN that says so, takes no page while the reading fails
   * (counted, with that error), and takes pages once it reads again.
   */
  @Test
  void shouldOpenUnfittedAndRefusePagesWhileTheFreeSpaceCannotBeRead() throws Exception {
    LogCapture log = new LogCapture(SsdTier.class);
    List<String> warnings = log.warnings();
    SsdTier.freeSpaceFaultForTest = new IOException("injected: statfs failed");
    try (SsdTier tier = open(true)) {
      assertEquals(1L << 30, tier.capacityBytes(), "not fitted: nothing to fit to");
      assertEquals(-1, tier.diskRoomBytes(), "the room is unknown");
      assertEquals(1, warnings.size(), "one WARN at open: " + warnings);
      assertTrue(
          warnings.get(0).startsWith("cannot read the free space of ")
              && warnings
                  .get(0)
                  .endsWith(
                      "(java.io.IOException: injected: statfs failed): the SSD tier keeps its"
                          + " configured capacity of 1,073,741,824 bytes, not fitted to its disk"
                          + " (ssd.fit.disk), and takes no page while the free space cannot be"
                          + " read"),
          warnings.get(0));
      SsdStorageException e = assertThrows(SsdStorageException.class, () -> tier.put(page(1)));
      assertTrue(e.getMessage().startsWith("cannot read the free space of "), e.getMessage());
      assertEquals(1, tier.writeFailures());
      assertEquals(Tier.MISS, tier.length(1, 1));
      SsdTier.freeSpaceFaultForTest = null;
      assertTrue(tier.put(page(1)), "taken once the free space reads again");
      ByteBuffer dst = ByteBuffer.allocateDirect(PAGE);
      assertEquals(PAGE, tier.get(1, 1, dst));
      assertTrue(Pages.sameBytes(page(1), dst, 0, PAGE));
    } finally {
      SsdTier.freeSpaceFaultForTest = null;
      log.close();
    }
  }

  /**
   * A start with another durability on a disk others filled while the tier was down records it in
   * the room of the ballast the last run left, and opens. Where the record cannot be written (here
   * its temporary file's name is taken by a directory), the tier opens all the same, with one WARN,
   * and the old record goes (it would refuse the right mode after a crash of this run); the next
   * start that can write records its mode again.
   */
  @Test
  void shouldRecordAnotherDurabilityOnAFullDiskAndStartWhenItCannot() throws Exception {
    Path ssd = mnt.resolve("ssd");
    java.util.function.Function<SsdTierConfig.Durability, SsdTier> open =
        d -> new SsdTier(
            SsdTierConfig.builder(ssd, 16L << 20)
                .maxPageBytes(PAGE)
                .minPageBytes(256 << 10)
                .segmentBytes(4L << 20)
                .writeBufferBytes(1L << 20)
                .fitToDisk(false)
                .durability(d)
                .build());
    Path record = ssd.resolve(SsdTier.SEGMENTS_DIR).resolve(SsdTier.DURABILITY_FILE);
    try (SsdTier tier = open.apply(SsdTierConfig.Durability.NONE)) {
      assertTrue(tier.put(page(1)));
    }
    assertEquals("none", Files.readString(record).trim());
    assertTrue(Files.exists(ssd.resolve(SsdTier.BALLAST)), "the last run left its ballast");
    fill(mnt.resolve("filler"));
    try (SsdTier tier = open.apply(SsdTierConfig.Durability.WAL)) {
      assertServes(tier, 1);
    }
    assertEquals("wal", Files.readString(record).trim(), "recorded on the full disk");

    Files.createDirectory(record.resolveSibling(SsdTier.DURABILITY_FILE + ".tmp"));
    LogCapture log = new LogCapture(SsdTier.class);
    List<String> warnings = log.warnings();
    try (SsdTier tier = open.apply(SsdTierConfig.Durability.NONE)) {
      assertServes(tier, 1);
      assertTrue(
          warnings.stream().anyMatch(w -> w.startsWith("cannot record the durability of the SSD")),
          warnings.toString());
      assertTrue(Files.notExists(record), "the old record is gone");
    } finally {
      log.close();
    }
    Files.deleteIfExists(record.resolveSibling(SsdTier.DURABILITY_FILE + ".tmp"));
    try (SsdTier tier = open.apply(SsdTierConfig.Durability.NONE)) {
      assertServes(tier, 1);
    }
    assertEquals("none", Files.readString(record).trim());
  }

  @Test
  void shouldRefuseAtStartupADirectoryThatCannotFit() {
    UncheckedIOException e =
        assertThrows(BlockIndex.NoRoomException.class, () -> BlockIndex.open(mnt.resolve("idx"), 2_000_000));
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
