package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.TierKind;
import io.kvstore.core.tier.TierWriteException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.RocksDBException;

/**
 * Failing writes change nothing; deletes work while writes fail; resume after the fault, reopening
 * RocksDB while reads go on.
 */
class SsdTierFaultTest {

  @TempDir Path dir;

  private SsdTier open() {
    return new SsdTier(
        SsdTierConfig.builder(dir, 1 << 20).maxPages(1000).segmentBytes(1).build());
  }

  private static void assertServes(SsdTier tier, ByteBuffer page, long hi, long lo) {
    ByteBuffer dst = ByteBuffer.allocateDirect(page.capacity());
    assertEquals(page.capacity(), tier.get(hi, lo, dst));
    assertTrue(Pages.sameBytes(page, dst, 0, page.capacity()));
  }

  /**
   * A delete while RocksDB refuses writes (after a background error, e.g. a flush on a full disk)
   * leaves the page's location record in the write-ahead log. A crash before the record goes used
   * to bring the page back: the rebuild found a record whose page header was still valid. The
   * delete now invalidates the header in place, and the rebuild drops the record.
   */
  @Test
  void shouldNotBringBackAfterACrashAPageDeletedWhileRocksDbRefusedTheDelete(@TempDir Path crashed)
      throws Exception {
    SsdTierConfig.Builder config =
        SsdTierConfig.builder(dir, 1 << 20)
            .maxPages(1000)
            .segmentBytes(1 << 20) // one segment: the deleted page's bytes stay on disk
            .durability(SsdTierConfig.Durability.WAL);
    ByteBuffer b = Pages.page(2, 2, 0, 0, 5000, 2);
    ByteBuffer c = Pages.page(3, 3, 0, 0, 5000, 3);
    try (SsdTier tier = new SsdTier(config.build())) {
      assertTrue(tier.put(Pages.page(1, 1, 0, 0, 5000, 1)));
      assertTrue(tier.put(b));
      assertTrue(tier.put(c));
      tier.deleteFaultForTest = new RocksDBException("Write stall: no space left on device");
      assertTrue(tier.delete(1, 1), "a delete works while RocksDB refuses writes");
      assertEquals(1, tier.pendingLocationDeletes());
      assertEquals(Tier.MISS, tier.length(1, 1));
      assertServes(tier, b, 2, 2);
      copyTree(dir, crashed); // a kill now: no clean-close marker, the record still in the log
      tier.deleteFaultForTest = null;
    }
    try (SsdTier reopened =
        new SsdTier(
            SsdTierConfig.builder(crashed, 1 << 20)
                .maxPages(1000)
                .segmentBytes(1 << 20)
                .durability(SsdTierConfig.Durability.WAL)
                .build())) {
      assertEquals(Tier.MISS, reopened.length(1, 1), "the deleted page stays deleted");
      assertEquals(1, reopened.reconcileReport().invalidRemoved(), "its record was dropped");
      assertServes(reopened, b, 2, 2);
      assertServes(reopened, c, 3, 3);
      assertEquals(2, reopened.pageCount());
      assertEquals(0, reopened.corruptions());
    }
  }

  /**
   * The same refused delete while page writes fail too (the disk errors): the header cannot be
   * invalidated, which is counted, and the delete still works. Once RocksDB takes writes again the
   * resume deletes the record, and a crash after that does not bring the page back.
   */
  @Test
  void shouldStillDeleteWhenTheHeaderCannotBeInvalidatedAndDropTheRecordOnResume(
      @TempDir Path crashed) throws Exception {
    SsdTierConfig.Builder config =
        SsdTierConfig.builder(dir, 1 << 20)
            .maxPages(1000)
            .segmentBytes(1 << 20)
            .durability(SsdTierConfig.Durability.WAL);
    ByteBuffer b = Pages.page(2, 2, 0, 0, 5000, 2);
    try (SsdTier tier = new SsdTier(config.build())) {
      assertTrue(tier.put(Pages.page(1, 1, 0, 0, 5000, 1)));
      assertTrue(tier.put(b));
      tier.deleteFaultForTest = new RocksDBException("Write stall: no space left on device");
      tier.writeFaultForTest = new IOException("Input/output error");
      long failuresBefore = tier.writeFailures();
      assertTrue(tier.delete(1, 1), "a delete works while RocksDB and the disk refuse writes");
      assertEquals(failuresBefore + 1, tier.writeFailures(), "the failed invalidation is counted");
      assertEquals(1, tier.pendingLocationDeletes());
      assertEquals(Tier.MISS, tier.length(1, 1));

      tier.deleteFaultForTest = null;
      tier.writeFaultForTest = null;
      assertTrue(tier.resumeWrites());
      assertEquals(0, tier.pendingLocationDeletes(), "the resume deleted the record");
      copyTree(dir, crashed); // a kill after the resume
    }
    try (SsdTier reopened =
        new SsdTier(
            SsdTierConfig.builder(crashed, 1 << 20)
                .maxPages(1000)
                .segmentBytes(1 << 20)
                .durability(SsdTierConfig.Durability.WAL)
                .build())) {
      assertEquals(Tier.MISS, reopened.length(1, 1), "the deleted page stays deleted");
      assertServes(reopened, b, 2, 2);
      assertEquals(1, reopened.pageCount());
    }
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (java.util.stream.Stream<Path> all = java.nio.file.Files.walk(from)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        Path t = to.resolve(from.relativize(p).toString());
        if (java.nio.file.Files.isDirectory(p)) {
          java.nio.file.Files.createDirectories(t);
        } else {
          java.nio.file.Files.copy(p, t);
        }
      }
    }
  }

  @Test
  void shouldChangeNothingWhenAPageWriteFailsAndTellTheReason() {
    try (SsdTier tier = open()) {
      ByteBuffer a = Pages.page(1, 1, 0, 0, 5000, 1);
      ByteBuffer b = Pages.page(2, 2, 0, 0, 5000, 2);
      assertTrue(tier.put(a));
      assertTrue(tier.put(b));
      long used = tier.usedBytes();
      long disk = tier.diskBytes();
      long indexed = tier.index().size();

      tier.writeFaultForTest = new IOException("No space left on device");
      SsdStorageException full =
          assertThrows(SsdStorageException.class, () -> tier.put(Pages.page(3, 3, 0, 0, 5000, 3)));
      assertEquals(TierWriteException.Reason.NO_SPACE, full.reason());
      // A replacement that fails keeps the old page.
      assertThrows(SsdStorageException.class, () -> tier.put(Pages.page(1, 1, 0, 0, 7000, 9)));
      tier.writeFaultForTest = new IOException("Input/output error");
      SsdStorageException io =
          assertThrows(SsdStorageException.class, () -> tier.put(Pages.page(4, 4, 0, 0, 5000, 4)));
      assertEquals(TierWriteException.Reason.IO_ERROR, io.reason());

      assertEquals(2, tier.pageCount());
      assertEquals(used, tier.usedBytes());
      assertEquals(disk, tier.diskBytes(), "failed reservations are given back");
      assertEquals(indexed, tier.index().size());
      assertEquals(Tier.MISS, tier.length(3, 3));
      assertEquals(Tier.MISS, tier.length(4, 4));
      assertServes(tier, a, 1, 1);
      assertServes(tier, b, 2, 2);
      assertEquals(3, tier.writeFailures());

      tier.writeFaultForTest = null;
      assertTrue(tier.resumeWrites());
      ByteBuffer c = Pages.page(3, 3, 0, 0, 5000, 3);
      assertTrue(tier.put(c));
      assertServes(tier, c, 3, 3);
      assertEquals(0, tier.corruptions());
    }
  }

  @Test
  void shouldDeleteAndFreeSpaceWhileWritesFail() {
    try (SsdTier tier = open()) {
      for (long k = 1; k <= 4; k++) {
        assertTrue(tier.put(Pages.page(k, k, 10_000)));
      }
      tier.writeFaultForTest = new IOException("No space left on device");
      long disk = tier.diskBytes();
      assertTrue(tier.delete(2, 2));
      assertFalse(tier.delete(2, 2));
      assertEquals(Tier.MISS, tier.get(2, 2, ByteBuffer.allocateDirect(20_000)));
      assertEquals(3, tier.pageCount());
      assertEquals(3 * 10_064, tier.usedBytes());
      assertEquals(0, tier.index().tiers(2, 2));
      // Emptied segments go; at most two of their files are kept for reuse by later segments (on a
      // file system short of space none is: SsdTierFullDiskTest).
      assertTrue(tier.delete(1, 1));
      assertTrue(tier.delete(3, 3));
      assertEquals(disk - 10_064, tier.diskBytes(), "the third emptied segment's file is deleted");
      assertEquals(1, tier.pageCount());
    }
  }

  @Test
  void shouldRefuseAPutThatWouldEatTheFreeSpaceReserve() {
    try (SsdTier tier =
        new SsdTier(
            SsdTierConfig.builder(dir, 1 << 20).freeSpaceReserveBytes(Long.MAX_VALUE / 4).build())) {
      SsdStorageException e =
          assertThrows(SsdStorageException.class, () -> tier.put(Pages.page(1, 1, 100)));
      assertEquals(TierWriteException.Reason.NO_SPACE, e.reason());
      assertTrue(e.getMessage().contains("kept in reserve"), e.getMessage());
      assertEquals(0, tier.pageCount());
      assertEquals(0, tier.diskBytes() - tier.diskBytes(), "no segment was created");
      assertFalse(tier.resumeWrites(), "the reserve is still not free");
    }
  }

  @Test
  void shouldServeOtherPagesAndKeepTheIndexExactAcrossManyFailures() {
    try (SsdTier tier = open()) {
      for (long k = 1; k <= 20; k++) {
        assertTrue(tier.put(Pages.page(k, k, 0, 0, 2000, k)));
      }
      for (long round = 0; round < 50; round++) {
        tier.writeFaultForTest = round % 2 == 0 ? new IOException("No space left on device") : null;
        long k = 1 + round % 20;
        ByteBuffer page = Pages.page(k, k, 0, 0, 2000 + (int) round, 100 + round);
        try {
          tier.put(page);
        } catch (SsdStorageException e) {
          assertEquals(TierWriteException.Reason.NO_SPACE, e.reason());
        }
      }
      tier.writeFaultForTest = null;
      assertEquals(20, tier.pageCount());
      long sum = 0;
      for (long k = 1; k <= 20; k++) {
        int len = tier.length(k, k);
        sum += len;
        ByteBuffer dst = ByteBuffer.allocateDirect(len);
        assertEquals(len, tier.get(k, k, dst));
        assertEquals(TierKind.SSD.bit(), tier.index().tiers(k, k));
      }
      assertEquals(sum, tier.usedBytes());
      assertEquals(0, tier.corruptions());
    }
  }

  @Test
  void shouldReopenAStoppedRocksDbWhileReadsGoOn() throws Exception {
    try (SsdTier tier =
        new SsdTier(
            SsdTierConfig.builder(dir, 1 << 20)
                .maxPages(1000)
                .durability(SsdTierConfig.Durability.WAL)
                .build())) {
      for (long k = 1; k <= 20; k++) {
        assertTrue(tier.put(Pages.page(k, k, 0, 0, 3000, k)));
      }
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong reads = new AtomicLong();
      AtomicReference<Throwable> failure = new AtomicReference<>();
      Thread reader =
          new Thread(
              () -> {
                ByteBuffer dst = ByteBuffer.allocateDirect(4000);
                try {
                  while (!stop.get()) {
                    long k = 1 + reads.get() % 20;
                    dst.clear();
                    assertEquals(3064, tier.get(k, k, dst), "page " + k);
                    assertTrue(Pages.sameBytes(Pages.page(k, k, 0, 0, 3000, k), dst, 0, 3064));
                    reads.incrementAndGet();
                  }
                } catch (Throwable t) {
                  failure.set(t);
                }
              });
      reader.start();
      while (reads.get() < 10 && failure.get() == null) {
        Thread.sleep(1);
      }
      tier.probeFailuresForTest = 2; // RocksDB "stopped": resume must reopen it
      assertTrue(tier.resumeWrites());
      assertEquals(1, tier.locationStoreReopens());
      long seen = reads.get();
      while (reads.get() < seen + 10 && failure.get() == null) {
        Thread.sleep(1);
      }
      stop.set(true);
      reader.join(10_000);
      if (failure.get() != null) {
        throw new AssertionError("a read failed during the reopen", failure.get());
      }
      assertTrue(tier.put(Pages.page(21, 21, 0, 0, 3000, 21)));
      assertTrue(tier.delete(1, 1));
      assertEquals(20, tier.pageCount());
    }
    // The reopened RocksDB kept the location log: a crash recovery finds the same pages.
    java.nio.file.Files.delete(dir.resolve(SsdTier.SEGMENTS_DIR).resolve(SsdTier.CLEAN_MARKER));
    try (SsdTier tier =
        new SsdTier(
            SsdTierConfig.builder(dir, 1 << 20)
                .maxPages(1000)
                .durability(SsdTierConfig.Durability.WAL)
                .build())) {
      assertEquals(20, tier.pageCount());
      assertEquals(Tier.MISS, tier.length(1, 1));
      assertEquals(3064, tier.length(21, 21));
    }
  }

  private SsdTier openWal() {
    return new SsdTier(
        SsdTierConfig.builder(dir, 1 << 20)
            .maxPages(1000)
            .durability(SsdTierConfig.Durability.WAL)
            .build());
  }

  /**
   * Makes the next reopen of RocksDB fail as it does on a file system gone read-only: the store's
   * directory replaced by a file, so that opening it fails (the real open, not a stand-in).
   */
  private Runnable breakTheRocksDbDirectory() {
    return () -> {
      try {
        Path rocks = dir.resolve(LocationStore.DIR_NAME);
        if (!java.nio.file.Files.isRegularFile(rocks)) {
          java.nio.file.Files.move(rocks, dir.resolve("rocks-away"));
          java.nio.file.Files.createFile(rocks);
        }
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    };
  }

  private void repairTheRocksDbDirectory() throws IOException {
    Path rocks = dir.resolve(LocationStore.DIR_NAME);
    java.nio.file.Files.delete(rocks);
    java.nio.file.Files.move(dir.resolve("rocks-away"), rocks);
  }

  /**
   * A stopped RocksDB whose reopen fails (seen on an ext4 file system gone read-only after an
   * error, `emergency_ro`) left the tier holding the closed store, and the next call through it
   * crashed the JVM in native code (SIGSEGV in {@code rocksdb_delete_helper}, at the daemon's
   * SIGTERM: the close deleted the pending location records through it). Now every call on the
   * closed store is refused as RocksDB refuses a write; reads go on; the next resume reopens it.
   */
  @Test
  void shouldKeepServingWhileRocksDbCannotBeReopenedAndReopenItOnceItCan() throws Exception {
    try (SsdTier tier = openWal()) {
      for (long k = 1; k <= 20; k++) {
        assertTrue(tier.put(Pages.page(k, k, 0, 0, 3000, k)));
      }
      tier.deleteFaultForTest = new RocksDBException("Write stall: background error");
      assertTrue(tier.delete(1, 1));
      tier.deleteFaultForTest = null;
      assertEquals(1, tier.pendingLocationDeletes());

      tier.probeFailuresForTest = 2; // RocksDB "stopped": resume closes it and reopens it
      tier.beforeReopenForTest = breakTheRocksDbDirectory();
      assertFalse(tier.resumeWrites(), "the reopen failed");
      assertFalse(tier.resumeWrites(), "and fails again, closing nothing twice");
      assertEquals(0, tier.locationStoreReopens());

      for (long k = 2; k <= 20; k++) {
        assertServes(tier, Pages.page(k, k, 0, 0, 3000, k), k, k);
      }
      assertTrue(tier.delete(2, 2), "a delete works while RocksDB is closed");
      assertEquals(Tier.MISS, tier.length(2, 2));
      assertEquals(2, tier.pendingLocationDeletes());
      assertThrows(SsdStorageException.class, () -> tier.put(Pages.page(21, 21, 0, 0, 3000, 21)));
      assertEquals(Tier.MISS, tier.length(21, 21));

      tier.beforeReopenForTest = null;
      repairTheRocksDbDirectory();
      assertTrue(tier.resumeWrites(), "reopened once the directory is usable again");
      assertEquals(1, tier.locationStoreReopens());
      assertEquals(0, tier.pendingLocationDeletes());
      assertTrue(tier.put(Pages.page(21, 21, 0, 0, 3000, 21)));
      assertEquals(0, tier.corruptions());
    }
    // A crash after that: the log has the two deletes and the new page.
    java.nio.file.Files.delete(dir.resolve(SsdTier.SEGMENTS_DIR).resolve(SsdTier.CLEAN_MARKER));
    try (SsdTier tier = openWal()) {
      assertEquals(Tier.MISS, tier.length(1, 1));
      assertEquals(Tier.MISS, tier.length(2, 2));
      for (long k = 3; k <= 21; k++) {
        assertServes(tier, Pages.page(k, k, 0, 0, 3000, k), k, k);
      }
      assertEquals(19, tier.pageCount());
    }
  }

  /**
   * The daemon's SIGTERM on such a file system: the tier closes while RocksDB is closed and cannot
   * be reopened. The close must not touch the closed store (the crash above); the deletes it could
   * not log stay deleted at the next open, whose pages are those the tier held.
   */
  @Test
  void shouldCloseWhileRocksDbIsClosedAndLoseNoDelete() throws Exception {
    try (SsdTier tier = openWal()) {
      for (long k = 1; k <= 20; k++) {
        assertTrue(tier.put(Pages.page(k, k, 0, 0, 3000, k)));
      }
      tier.probeFailuresForTest = 2;
      tier.beforeReopenForTest = breakTheRocksDbDirectory();
      assertFalse(tier.resumeWrites());
      assertTrue(tier.delete(1, 1));
      assertTrue(tier.delete(2, 2));
      assertEquals(2, tier.pendingLocationDeletes());
    } // closes: the pending deletes cannot be logged, so no clean-close marker
    assertFalse(
        java.nio.file.Files.exists(dir.resolve(SsdTier.SEGMENTS_DIR).resolve(SsdTier.CLEAN_MARKER)));
    repairTheRocksDbDirectory();
    try (SsdTier tier = openWal()) {
      assertEquals(Tier.MISS, tier.length(1, 1), "deleted while RocksDB was closed: stays deleted");
      assertEquals(Tier.MISS, tier.length(2, 2));
      for (long k = 3; k <= 20; k++) {
        assertServes(tier, Pages.page(k, k, 0, 0, 3000, k), k, k);
      }
      assertEquals(18, tier.pageCount());
      assertEquals(0, tier.corruptions());
    }
  }
}
