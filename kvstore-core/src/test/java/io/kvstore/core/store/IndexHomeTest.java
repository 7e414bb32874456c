package io.kvstore.core.store;

import static io.kvstore.core.store.StoreFixtures.dst;
import static io.kvstore.core.store.StoreFixtures.small;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.TmpfsMount;
import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.tier.TestPages;
import io.kvstore.core.tier.ssd.SsdTier;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The block index run from a runtime directory (a tmpfs in production, a temporary directory
 * here): a clean close leaves the data directory a copy and empties the runtime directory; a start
 * after a reboot (a new, empty runtime directory) takes the copy back and serves every page without
 * a rebuild; a process crash keeps the index the runtime directory holds; a machine crash finds no
 * index in the data directory and rebuilds from the location records; a copy that cannot be made
 * at close leaves the index in the runtime directory for the next start on the same boot.
 */
class IndexHomeTest {

  private static final int PAYLOAD = 16 * 1024;
  private static final long HI = 61;
  private static final int PAGES = 120;

  @TempDir Path data;
  @TempDir Path runtime;
  @TempDir Path afterReboot;
  @TempDir Path copies;

  @AfterEach
  void clearFault() {
    IndexHome.persistFaultForTest = null;
    IndexHome.copyInFaultForTest = null;
    IndexHome.beforeCopyInForTest = null;
    IndexHome.shmForTest = null;
  }

  private TieredStoreBuilder store(Path dataDir, Path runtimeDir) {
    return small(dataDir).ssdDurability("wal").indexDir(runtimeDir);
  }

  private static void putAll(TieredStore store) throws InterruptedException {
    for (long k = 0; k < PAGES; k++) {
      store.put(TestPages.page(HI, k, 1, PAYLOAD));
    }
    assertTrue(store.awaitWriteBack(30_000));
  }

  /** Pages served exactly (every other get is a miss: never other bytes). */
  private static int served(TieredStore store) {
    ByteBuffer d = dst();
    int n = 0;
    for (long k = 0; k < PAGES; k++) {
      if (store.get(HI, k, d.clear()) >= 0) {
        assertEquals(1, TestPages.check(d.flip(), HI, k), "page " + k);
        n++;
      }
    }
    return n;
  }

  private static Path indexIn(Path dir) {
    return dir.resolve(BlockIndex.FILE_NAME);
  }

  private static String joined(LogCapture log) {
    return String.join("\n", log.lines());
  }

  @Test
  void shouldCopyTheIndexToTheDataDirectoryAtCloseAndBackAfterAReboot() throws Exception {
    int before;
    try (TieredStore store = store(data, runtime).build()) {
      assertTrue(Files.exists(indexIn(runtime)), "the index runs from the runtime directory");
      assertEquals(Files.size(indexIn(runtime)), store.indexMemoryBytes());
      assertTrue(store.indexMemoryBytes() > 0);
      assertFalse(Files.exists(indexIn(data.resolve("index"))), "no copy in the data directory while open");
      assertTrue(Files.exists(runtime.resolve(SsdTier.CRASH_JOURNAL_FILE)), "and the crash journal");
      putAll(store);
      before = served(store);
    }
    assertTrue(before > 0);
    assertTrue(Files.exists(indexIn(data.resolve("index"))), "a clean close leaves the data directory a copy");
    assertTrue(Files.exists(data.resolve("index").resolve(BlockIndex.CLEAN_MARKER_NAME)));
    assertFalse(Files.exists(indexIn(runtime)), "and frees the runtime directory");
    assertFalse(Files.exists(runtime.resolve(SsdTier.CRASH_JOURNAL_FILE)), "journal included");

    try (LogCapture ssd = new LogCapture(SsdTier.class);
        TieredStore store = store(data, afterReboot).build()) {
      assertTrue(Files.exists(indexIn(afterReboot)));
      assertFalse(Files.exists(indexIn(data.resolve("index"))), "taken back: a machine crash must not find it");
      assertFalse(joined(ssd).contains("rebuilt"), joined(ssd));
      assertEquals(before, served(store), "every page after the reboot, from the copied index");
      assertEquals(0, store.stats().corruptions());
    }
  }

  @Test
  void shouldKeepTheRuntimeIndexAfterAProcessCrashAndRebuildAfterAMachineCrash() throws Exception {
    Path killedData = copies.resolve("killed-data");
    Path killedRuntime = copies.resolve("killed-runtime");
    Path powerLossData = copies.resolve("power-loss-data");
    // A SIGKILL leaves both directories as they are; a power loss leaves only the data directory
    // (its record names a runtime directory that a reboot emptied; here one another data
    // directory owns, which it must not take either).
    int before = killedWithRuntimeIndex(killedData, killedRuntime);
    StoreFixtures.copyTree(killedData, powerLossData);

    try (LogCapture ssd = new LogCapture(SsdTier.class);
        TieredStore store = store(killedData, killedRuntime).build()) {
      assertTrue(joined(ssd).contains("kept the index the killed process left"), joined(ssd));
      assertEquals(before, served(store));
    }
    try (LogCapture ssd = new LogCapture(SsdTier.class);
        TieredStore store = store(powerLossData, afterReboot).build()) {
      assertTrue(joined(ssd).contains("rebuilt from its location records"), joined(ssd));
      assertEquals(before, served(store), "the write-ahead-logged records know every SSD page");
    }
  }

  /**
   * A store with a log and its index in the runtime directory, killed: copies of both directories
   * as the kill leaves them, the runtime copy owned by the data copy and named by its record of
   * where the index lives. The write-back is settled first: the reads promote pages and push the
   * last dirty ones to the write-back queue, and those a copy finds still queued are lost (a
   * flake, 103 of 120).
   *
   * @return the pages the store served before the kill
   */
  private int killedWithRuntimeIndex(Path killedData, Path killedRuntime) throws Exception {
    int before;
    try (TieredStore store = store(data, runtime).build()) {
      putAll(store);
      before = served(store);
      assertTrue(store.awaitWriteBack(30_000));
      StoreFixtures.copyTree(data, killedData);
      StoreFixtures.copyTree(runtime, killedRuntime);
    }
    Files.writeString(
        killedRuntime.resolve(IndexHome.OWNER_FILE),
        killedData.toAbsolutePath().normalize() + "\n",
        StandardCharsets.UTF_8);
    Files.writeString(
        killedData.resolve("index").resolve(IndexHome.LIVE_DIR_FILE),
        killedRuntime.toAbsolutePath().normalize() + "\n",
        StandardCharsets.UTF_8);
    return before;
  }

  /**
   * A store with its index in the data directory and {@code durability}, killed: a copy of the data
   * directory as the kill leaves it (write-back settled first, as above).
   *
   * @return the pages the store served before the kill
   */
  private int killedWithDataDirIndex(Path killedData, String durability) throws Exception {
    try (TieredStore store = small(data).ssdDurability(durability).build()) {
      putAll(store);
      int before = served(store);
      assertTrue(store.awaitWriteBack(30_000));
      StoreFixtures.copyTree(data, killedData);
      return before;
    }
  }

  /**
   * A killed run with a log (its index and crash journal in the runtime directory) started again
   * with {@code none}, whose index lives in the data directory: that open found none of the 120
   * pages (an empty index, nothing rebuilt). It is refused, changing nothing; the start with the
   * mode it crashed under recovers every page, and after its clean stop {@code none} may follow.
   */
  @Test
  void shouldRefuseToRecoverAKilledRunWithALogWithoutOne() throws Exception {
    Path killedData = copies.resolve("killed-data");
    Path killedRuntime = copies.resolve("killed-runtime");
    int before = killedWithRuntimeIndex(killedData, killedRuntime);
    io.kvstore.core.tier.ssd.SsdStorageException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            io.kvstore.core.tier.ssd.SsdStorageException.class,
            () -> small(killedData).ssdDurability("none").build());
    assertTrue(e.getMessage().contains("did not close cleanly under ssd.durability = wal"), e.getMessage());
    assertTrue(Files.exists(indexIn(killedRuntime)), "the killed run's index is where it was");
    assertTrue(Files.exists(killedRuntime.resolve(SsdTier.CRASH_JOURNAL_FILE)));
    try (TieredStore store = store(killedData, killedRuntime).build()) {
      assertEquals(before, served(store), "recovered under the mode it crashed under");
    }
    try (TieredStore store = small(killedData).ssdDurability("none").build()) {
      assertEquals(before, served(store), "after the clean stop, none takes the copy");
    }
  }

  /**
   * A killed run without a log (its index in the data directory, its location records not logged)
   * started again with {@code wal} and a runtime directory: the index home would delete the data
   * directory's index, and the rebuild from those records would serve what they say. Refused; the
   * start with {@code none} recovers every page.
   */
  @Test
  void shouldRefuseToRecoverAKilledRunWithoutALogWithOne() throws Exception {
    Path killedData = copies.resolve("killed-data");
    int before = killedWithDataDirIndex(killedData, "none");
    io.kvstore.core.tier.ssd.SsdStorageException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            io.kvstore.core.tier.ssd.SsdStorageException.class,
            () -> store(killedData, runtime).build());
    assertTrue(e.getMessage().contains("did not close cleanly under ssd.durability = none"), e.getMessage());
    assertTrue(Files.exists(indexIn(killedData.resolve("index"))), "the data directory's index stays");
    try (TieredStore store = small(killedData).ssdDurability("none").build()) {
      assertEquals(before, served(store), "recovered under the mode it crashed under");
    }
  }

  /**
   * A killed run with its index in a runtime directory, started again with the index in the data
   * directory (index.dir changed in between): the start recovers the index and journal where the
   * killed run left them (kept as they were, not rebuilt), and the clean stop takes them to the
   * data directory, freeing the runtime directory; the next start uses the new place. Before, the
   * start rebuilt from the records, left the killed run's index in the runtime directory for good
   * and ignored its journal's tombstones.
   */
  @Test
  void shouldRecoverAKilledRunWhereItKeptItsIndexWhenIndexDirChanged() throws Exception {
    Path killedData = copies.resolve("killed-data");
    Path killedRuntime = copies.resolve("killed-runtime");
    int before = killedWithRuntimeIndex(killedData, killedRuntime);

    try (LogCapture ssd = new LogCapture(SsdTier.class);
        LogCapture factory = new LogCapture(StoreFactory.class);
        TieredStore store = small(killedData).ssdDurability("wal").build()) {
      assertTrue(
          joined(factory).contains("this start recovers them there"), joined(factory));
      assertTrue(joined(ssd).contains("kept the index the killed process left"), joined(ssd));
      assertEquals(before, served(store));
    }
    assertFalse(Files.exists(indexIn(killedRuntime)), "the clean stop freed the runtime directory");
    assertTrue(Files.exists(indexIn(killedData.resolve("index"))));
    try (LogCapture factory = new LogCapture(StoreFactory.class);
        TieredStore store = small(killedData).ssdDurability("wal").build()) {
      assertFalse(joined(factory).contains("recovers them there"), joined(factory));
      assertEquals(before, served(store), "the new place from the clean stop on");
    }
    assertEquals(
        killedData.resolve("index").toAbsolutePath().normalize(),
        IndexHome.lastLiveDir(killedData));
  }

  /** The other way: a killed run with its index in the data directory, started with a runtime one. */
  @Test
  void shouldRecoverAKilledRunWithItsIndexInTheDataDirectoryWhereItWas() throws Exception {
    Path killedData = copies.resolve("killed-data");
    int before = killedWithDataDirIndex(killedData, "wal");
    Files.writeString(
        killedData.resolve("index").resolve(IndexHome.LIVE_DIR_FILE),
        killedData.resolve("index").toAbsolutePath().normalize() + "\n",
        StandardCharsets.UTF_8);
    try (LogCapture ssd = new LogCapture(SsdTier.class);
        TieredStore store = store(killedData, runtime).build()) {
      assertTrue(joined(ssd).contains("kept the index the killed process left"), joined(ssd));
      assertEquals(before, served(store));
      assertFalse(Files.exists(indexIn(runtime)), "not the runtime directory, this time");
    }
    try (TieredStore store = store(killedData, runtime).build()) {
      assertTrue(Files.exists(indexIn(runtime)), "the runtime directory from the clean stop on");
      assertEquals(before, served(store));
    }
  }

  /**
   * The record of where the index lives cannot be written (here its temporary file's name is taken
   * by a directory that holds a file): the store opens all the same, with one WARN, and the stale
   * record goes, so that a crash of this run does not send the next start to the last run's place.
   */
  @Test
  void shouldOpenAndDropTheStaleRecordWhenWhereTheIndexLivesCannotBeRecorded() throws Exception {
    try (TieredStore store = small(data).ssdDurability("wal").build()) {
      putAll(store);
    }
    Path record = data.resolve("index").resolve(IndexHome.LIVE_DIR_FILE);
    assertEquals(data.resolve("index").toAbsolutePath().normalize(), IndexHome.lastLiveDir(data));
    Files.createDirectories(record.resolveSibling(IndexHome.LIVE_DIR_FILE + ".tmp").resolve("x"));
    try (LogCapture home = new LogCapture(IndexHome.class);
        TieredStore store = store(data, runtime).build()) {
      assertTrue(
          joined(home).contains("cannot record where the block index runs in " + record),
          joined(home));
      assertFalse(Files.exists(record), "the stale record is gone");
      assertEquals(PAGES, served(store), "the store serves as before");
    }
  }

  @Test
  void shouldLeaveTheIndexInTheRuntimeDirectoryWhenTheCopyFails() throws Exception {
    int before;
    IndexHome.persistFaultForTest = new IOException("No space left on device (injected)");
    try (LogCapture home = new LogCapture(IndexHome.class)) {
      try (TieredStore store = store(data, runtime).build()) {
        putAll(store);
        before = served(store);
      }
      assertTrue(joined(home).contains("cannot copy the block index"), joined(home));
    }
    IndexHome.persistFaultForTest = null;
    assertTrue(Files.exists(indexIn(runtime)), "kept where it ran");
    assertTrue(Files.exists(runtime.resolve(BlockIndex.CLEAN_MARKER_NAME)));
    assertFalse(Files.exists(indexIn(data.resolve("index"))));
    assertFalse(Files.exists(data.resolve("index").resolve(BlockIndex.FILE_NAME + ".tmp")));

    // The same boot: the runtime directory's clean index, no rebuild.
    try (LogCapture ssd = new LogCapture(SsdTier.class);
        TieredStore store = store(data, runtime).build()) {
      assertFalse(joined(ssd).contains("rebuilt"), joined(ssd));
      assertEquals(before, served(store));
    }
    // That close copied it; a reboot now takes it back. Had it not, the rebuild would find
    // every page too (next test), only slower.
    try (TieredStore store = store(data, afterReboot).build()) {
      assertEquals(before, served(store));
    }
  }

  @Test
  void shouldRebuildAfterARebootWhenTheCopyAtCloseFailed() throws Exception {
    int before;
    IndexHome.persistFaultForTest = new IOException("Input/output error (injected)");
    try (TieredStore store = store(data, runtime).build()) {
      putAll(store);
      before = served(store);
    }
    IndexHome.persistFaultForTest = null;
    try (LogCapture ssd = new LogCapture(SsdTier.class);
        TieredStore store = store(data, afterReboot).build()) {
      assertTrue(joined(ssd).contains("rebuilt from its location records"), joined(ssd));
      assertEquals(before, served(store));
    }
  }

  /**
   * An index left in the runtime directory (its copy at close failed), then a run with the index in
   * the data directory that deletes pages, then the runtime directory again: the data directory's
   * clean copy is the newer one and wins; the left index would bring the deleted pages back.
   */
  @Test
  void shouldPreferTheDataDirectorysCleanCopyToAnIndexLeftInTheRuntimeDirectory() throws Exception {
    IndexHome.persistFaultForTest = new IOException("injected: leave it in the runtime directory");
    try (TieredStore store = store(data, runtime).build()) {
      putAll(store);
    }
    IndexHome.persistFaultForTest = null;
    assertTrue(Files.exists(indexIn(runtime)), "left in the runtime directory");
    try (TieredStore store = small(data).ssdDurability("wal").build()) { // index.dir = data
      assertEquals(PAGES, served(store));
      for (long k = 0; k < PAGES; k += 2) {
        assertTrue(store.delete(HI, k));
      }
    }
    try (TieredStore store = store(data, runtime).build()) {
      ByteBuffer d = dst();
      for (long k = 0; k < PAGES; k++) {
        int n = store.get(HI, k, d.clear());
        if (k % 2 == 0) {
          assertEquals(-1, n, "deleted page " + k + " stays deleted");
        } else {
          assertTrue(n > 0, "page " + k);
          assertEquals(1, TestPages.check(d.flip(), HI, k));
        }
      }
    }
  }

  @Test
  void shouldRebuildWhenTheDataDirectorysCopyCannotBeRead() throws Exception {
    int before;
    try (TieredStore store = store(data, runtime).build()) {
      putAll(store);
      before = served(store);
    }
    IndexHome.copyInFaultForTest = new IOException("Input/output error (injected)");
    try (LogCapture home = new LogCapture(IndexHome.class);
        LogCapture ssd = new LogCapture(SsdTier.class);
        TieredStore store = store(data, afterReboot).build()) {
      assertTrue(joined(home).contains("cannot copy the block index from"), joined(home));
      assertTrue(joined(ssd).contains("rebuilt from its location records"), joined(ssd));
      assertFalse(Files.exists(indexIn(data.resolve("index"))), "the unreadable copy is gone");
      assertEquals(before, served(store), "every page, from the records");
    }
  }

  /** Fills {@code fs}'s file system with one file until {@code leave} bytes or fewer are free. */
  private static Path fill(Path fs, long leave) throws IOException {
    Path filler = fs.resolve("filler");
    long size = Files.getFileStore(fs).getUsableSpace() - leave;
    try (java.nio.channels.FileChannel ch =
        java.nio.channels.FileChannel.open(
            filler,
            java.nio.file.StandardOpenOption.CREATE,
            java.nio.file.StandardOpenOption.WRITE)) {
      ByteBuffer zeros = ByteBuffer.allocate(1 << 20);
      for (long at = 0; at < size; ) {
        zeros.clear().limit((int) Math.min(zeros.capacity(), size - at));
        at += ch.write(zeros, at); // tmpfs counts written pages, not a file's length
      }
    }
    return filler;
  }

  /**
   * index.dir on a real tmpfs that other files filled while the store was stopped: the start is
   * refused, saying what is missing, before anything changed; the data directory keeps its clean
   * copy, and the start once there is room serves every page from it (no rebuild). Before the
   * check, the failed copy in deleted the data directory's copy and the open then failed with
   * "lower the SSD capacity or raise the smallest page size": the next start had to rebuild.
   */
  @Test
  void shouldRefuseAFullIndexDirectoryAndKeepTheDataDirectorysCopy() throws Exception {
    try (TmpfsMount shm = TmpfsMount.mount(copies.resolve("shm"), "size=16m").lazyUnmount()) {
      Path dir = shm.dir().resolve("index");
      int before;
      long indexBytes;
      try (TieredStore store = store(data, dir).build()) {
        putAll(store);
        before = served(store);
        indexBytes = store.indexMemoryBytes();
      }
      assertTrue(before > 0);
      Path filler = fill(shm.dir(), indexBytes / 2);

      IndexDirFullException e =
          org.junit.jupiter.api.Assertions.assertThrows(
              IndexDirFullException.class, () -> store(data, dir).build());
      assertTrue(e.getMessage().contains("has no room for the block index"), e.getMessage());
      assertTrue(e.getMessage().contains("other files fill it"), e.getMessage());
      assertTrue(e.getMessage().contains("copy of the index is kept"), e.getMessage());
      assertTrue(Files.exists(indexIn(data.resolve("index"))), "the data directory keeps its copy");
      assertTrue(Files.exists(data.resolve("index").resolve(BlockIndex.CLEAN_MARKER_NAME)));

      Files.delete(filler);
      try (LogCapture ssd = new LogCapture(SsdTier.class);
          TieredStore store = store(data, dir).build()) {
        assertFalse(joined(ssd).contains("rebuilt"), joined(ssd));
        assertEquals(before, served(store), "every page, from the kept copy");
      }
    }
  }

  /**
   * A start killed while it copied the index in leaves the cut-short copy on the tmpfs (here 20 of
   * its 32 MiB): the next start deletes it and has room again; auto counts it as room too. Without
   * that the start was refused for want of room the store itself held.
   */
  @Test
  void shouldCountAndDeleteACopyInAKilledStartLeft() throws Exception {
    try (TmpfsMount shm = TmpfsMount.mount(copies.resolve("shm"), "size=32m").lazyUnmount()) {
      Path dir = IndexHome.autoDirUnder(shm.dir(), data);
      int before;
      try (TieredStore store = store(data, dir).build()) {
        putAll(store);
        before = served(store);
      }
      Path cut = dir.resolve(BlockIndex.FILE_NAME + ".tmp");
      try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(cut.toFile(), "rw")) {
        f.write(new byte[20 << 20]); // tmpfs counts written pages
      }
      long index = Files.size(indexIn(data.resolve("index")));
      assertTrue(Files.getFileStore(shm.dir()).getUsableSpace() < index, "no room without it");
      assertEquals(dir, IndexHome.autoRuntimeDir(shm.dir(), data, index / 2).orElse(null),
          "auto counts it as room");
      try (LogCapture ssd = new LogCapture(SsdTier.class);
          TieredStore store = store(data, dir).build()) {
        assertFalse(Files.exists(cut), "deleted");
        assertFalse(joined(ssd).contains("rebuilt"), joined(ssd));
        assertEquals(before, served(store));
      }
    }
  }

  /**
   * The tmpfs fills while the data directory's copy is being copied in (real ENOSPC): as above,
   * the copy is kept and the start refused; with {@code auto}, the store runs its index from the
   * data directory instead (one WARN) and serves every page.
   */
  @Test
  void shouldKeepTheCopyWhenTheIndexDirectoryFillsDuringTheCopyAndFallBackOnAuto() throws Exception {
    try (TmpfsMount shm = TmpfsMount.mount(copies.resolve("shm"), "size=32m").lazyUnmount()) {
      IndexHome.shmForTest = shm.dir();
      int before;
      Path auto;
      try (TieredStore store = small(data).ssdDurability("wal").indexDirAuto().build()) {
        auto = IndexHome.autoDirUnder(shm.dir(), data);
        assertTrue(Files.exists(indexIn(auto)), "auto runs it from the tmpfs");
        putAll(store);
        before = served(store);
      }
      Path[] filler = new Path[1];
      IndexHome.beforeCopyInForTest =
          () -> {
            try {
              filler[0] = fill(shm.dir(), 0);
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            }
          };
      org.junit.jupiter.api.Assertions.assertThrows(
          IndexDirFullException.class, () -> store(data, auto).build(), "index.dir given: refused");
      assertTrue(Files.exists(indexIn(data.resolve("index"))), "the data directory keeps its copy");
      Files.delete(filler[0]);

      try (LogCapture home = new LogCapture(StoreFactory.class);
          LogCapture ssd = new LogCapture(SsdTier.class);
          TieredStore store = small(data).ssdDurability("wal").indexDirAuto().build()) {
        assertTrue(
            joined(home).contains("the block index runs from the data directory"), joined(home));
        assertTrue(joined(home).contains("has no room for the block index"), joined(home));
        assertFalse(joined(ssd).contains("rebuilt"), joined(ssd));
        assertTrue(Files.exists(indexIn(data.resolve("index"))), "it runs there");
        assertFalse(Files.exists(indexIn(auto)));
        assertEquals(before, served(store), "every page");
      }
      Files.deleteIfExists(filler[0]);
    }
  }

  /**
   * A stop killed while it copied the index to the data directory leaves the temporary copy (as
   * large as the index): the next open removes it, wherever the index runs then.
   */
  @Test
  void shouldRemoveTheCopyAStopKilledMidwayLeft() throws Exception {
    for (Path where : new Path[] {runtime, data.resolve("index")}) {
      Path tmp = data.resolve("index").resolve(BlockIndex.FILE_NAME + ".tmp");
      Files.createDirectories(tmp.getParent());
      Files.write(tmp, new byte[1 << 20]);
      try (LogCapture home = new LogCapture(IndexHome.class);
          TieredStore store = store(data, where).build()) {
        assertFalse(Files.exists(tmp), "removed at open, index in " + where);
        assertEquals(0, store.stats().corruptions());
        assertTrue(joined(home).contains("a copy of the block index that a stop killed midway"),
            joined(home));
      }
    }
  }

  @Test
  void shouldRefuseARuntimeDirectoryAnotherRunningStoreUses() throws Exception {
    Path other = copies.resolve("other-data");
    try (TieredStore first = store(data, runtime).build()) {
      first.put(TestPages.page(HI, 1, 1, PAYLOAD));
      IndexDirInUseException refused =
          org.junit.jupiter.api.Assertions.assertThrows(
              IndexDirInUseException.class, () -> store(other, runtime).build());
      assertTrue(refused.getMessage().contains(data.toAbsolutePath().normalize().toString()),
          refused.getMessage());
      assertEquals(1, served(first) > 0 ? 1 : 0, "the running store is untouched");
      assertTrue(Files.exists(indexIn(runtime)));
    }
    try (TieredStore second = store(other, runtime).build()) { // free once the first closed
      assertEquals(0, served(second));
    }
  }

  @Test
  void shouldEmptyARuntimeDirectoryThatHeldAnotherDataDirectorysIndex() throws Exception {
    Path other = copies.resolve("other-data");
    IndexHome.persistFaultForTest = new IOException("injected: leave it in the runtime directory");
    try (TieredStore store = store(other, runtime).build()) {
      store.put(TestPages.page(HI, 1, 1, PAYLOAD));
    }
    IndexHome.persistFaultForTest = null;
    assertTrue(Files.exists(indexIn(runtime)));
    try (LogCapture home = new LogCapture(IndexHome.class);
        TieredStore store = store(data, runtime).build()) {
      assertTrue(joined(home).contains("held the index of another data directory"), joined(home));
      assertEquals(0, served(store), "nothing of the other store");
    }
    assertEquals(
        data.toAbsolutePath().normalize().toString(),
        Files.readString(runtime.resolve(IndexHome.OWNER_FILE), StandardCharsets.UTF_8).strip());
  }

  @Test
  void shouldRemoveRuntimeDirectoriesWhoseDataDirectoryIsGone() throws Exception {
    Path base = copies.resolve("base");
    Path gone = base.resolve("a");
    Path kept = base.resolve("b");
    Files.createDirectories(gone);
    Files.createDirectories(kept);
    Files.writeString(gone.resolve(IndexHome.OWNER_FILE), copies.resolve("deleted-data") + "\n");
    Files.writeString(gone.resolve(BlockIndex.FILE_NAME), "x");
    Files.writeString(kept.resolve(IndexHome.OWNER_FILE), data + "\n");
    Files.writeString(kept.resolve(BlockIndex.FILE_NAME), "x");
    Path held = base.resolve("c"); // its data directory is gone, but a store still runs from it
    Files.createDirectories(held);
    Files.writeString(held.resolve(IndexHome.OWNER_FILE), copies.resolve("deleted-too") + "\n");
    Files.writeString(held.resolve(BlockIndex.FILE_NAME), "x");
    try (java.nio.channels.FileChannel lock = java.nio.channels.FileChannel.open(
            held.resolve(IndexHome.LOCK_FILE), java.nio.file.StandardOpenOption.CREATE,
            java.nio.file.StandardOpenOption.WRITE)) {
      java.nio.channels.FileLock l = lock.lock();
      IndexHome.removeOrphans(base);
      l.release();
    }
    assertFalse(Files.exists(gone));
    assertTrue(Files.exists(kept.resolve(BlockIndex.FILE_NAME)));
    assertTrue(Files.exists(held.resolve(BlockIndex.FILE_NAME)), "a locked directory stays");
  }

  @Test
  void shouldRunFromDevShmOnAutoWithAWriteAheadLogAndFromTheDataDirectoryWithNone() throws Exception {
    Path auto =
        IndexHome.autoRuntimeDir(data, BlockIndex.bytesFor(100_000)).orElse(null);
    org.junit.jupiter.api.Assumptions.assumeTrue(
        auto != null, "/dev/shm is not a tmpfs with room here: auto picks the data directory");
    try (TieredStore store = small(data).ssdDurability("wal").indexDirAuto().build()) {
      putAll(store);
      assertTrue(Files.exists(indexIn(auto)), "auto: " + auto);
      assertEquals(
          data.toAbsolutePath().normalize().toString(),
          Files.readString(auto.resolve(IndexHome.OWNER_FILE), StandardCharsets.UTF_8).strip());
    }
    assertFalse(Files.exists(indexIn(auto)), "freed at close");
    try (TieredStore store = small(data).ssdDurability("none").indexDirAuto().build()) {
      assertEquals(PAGES, served(store));
      assertTrue(Files.exists(indexIn(data.resolve("index"))), "none: the data directory");
      assertFalse(Files.exists(indexIn(auto)));
    }
  }

  /**
   * On a real 8 MiB tmpfs: auto asks for twice the index's size, and counts the index this data
   * directory's runtime directory already holds (left by a process crash): without that, the
   * store's own index would push it off the memory file system at the restart that should keep it.
   */
  @Test
  void shouldAskForRoomOnTheMemoryFileSystemCountingTheIndexItHolds() throws Exception {
    try (TmpfsMount shm = TmpfsMount.mount(copies.resolve("shm"), "size=8m")) {
      long mib = 1 << 20;
      assertTrue(IndexHome.autoRuntimeDir(shm.dir(), data, 5 * mib).isEmpty(), "8 MiB < 2 x 5");
      Path dir = IndexHome.autoRuntimeDir(shm.dir(), data, 3 * mib).orElseThrow();
      assertEquals(IndexHome.autoDirUnder(shm.dir(), data), dir);
      // The index a killed store left there: 3 MiB of the 8 are taken now.
      Files.createDirectories(dir);
      try (java.io.RandomAccessFile f =
          new java.io.RandomAccessFile(dir.resolve(BlockIndex.FILE_NAME).toFile(), "rw")) {
        f.setLength(3 * mib);
        f.write(new byte[(int) (3 * mib)]); // tmpfs counts written pages
      }
      assertEquals(dir, IndexHome.autoRuntimeDir(shm.dir(), data, 3 * mib).orElse(null),
          "its own index counts as room");
      assertTrue(IndexHome.autoRuntimeDir(shm.dir(), copies.resolve("other"), 3 * mib).isEmpty(),
          "another data directory's does not");
      try (var all = Files.walk(shm.dir())) {
        for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
          if (!p.equals(shm.dir())) {
            Files.delete(p);
          }
        }
      }
    }
  }

  @Test
  void shouldRefuseABaseDirectoryThatIsNotThisUsersPrivateOne() throws Exception {
    Path made = copies.resolve("made");
    assertEquals(null, IndexHome.privateBase(made), "made rwx------");
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(made)));
    Path open = Files.createDirectory(copies.resolve("open"));
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
    assertTrue(IndexHome.privateBase(open).contains("must be rwx------"), IndexHome.privateBase(open));
    Path link = Files.createSymbolicLink(copies.resolve("link"), made);
    assertTrue(IndexHome.privateBase(link).contains("not a directory"), IndexHome.privateBase(link));
  }

  @Test
  void shouldTreatTheDataDirectorysOwnIndexPlaceAsTheDataDirectory() throws Exception {
    try (TieredStore store = store(data, data.resolve("index")).build()) {
      putAll(store);
      assertEquals(0, store.indexMemoryBytes());
    }
    try (LogCapture ssd = new LogCapture(SsdTier.class);
        TieredStore store = store(data, data.resolve("index")).build()) {
      assertFalse(joined(ssd).contains("rebuilt"), joined(ssd));
      assertEquals(PAGES, served(store));
    }
  }

  @Test
  void shouldKeepTheIndexInTheDataDirectoryByDefault() throws Exception {
    try (TieredStore store = small(data).ssdDurability("wal").build()) {
      putAll(store);
      assertEquals(0, store.indexMemoryBytes(), "no index memory outside the data directory");
      assertTrue(Files.exists(indexIn(data.resolve("index"))));
    }
    assertTrue(Files.exists(data.resolve("index").resolve(BlockIndex.CLEAN_MARKER_NAME)));
  }
}
