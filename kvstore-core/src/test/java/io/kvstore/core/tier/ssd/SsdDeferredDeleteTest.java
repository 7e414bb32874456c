package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.store.StoreFixtures;
import io.kvstore.core.tier.Tier;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A delete whose location-record delete cannot finish (RocksDB's log write waits for a frozen
 * disk; here the deleter's thread is held) is answered anyway, with a tombstone in the crash
 * journal (spec/6-ssd-segments.md 6.5 rule 8): the page is gone at once, stays gone after a crash
 * whether the open keeps the index or rebuilds it from the records, and a later put of the same key
 * is not undone by the late delete.
 */
class SsdDeferredDeleteTest {

  private static final int PAYLOAD = SsdCrashReopenTest.PAYLOAD;
  private static final long KEY = SsdCrashReopenTest.NEW_KEY;
  /** The held deleter must not hold a delete's answer; liveness, not speed. */
  private static final Duration ANSWERED_WITHIN = Duration.ofSeconds(30);

  @TempDir Path dir;
  @TempDir Path copy;

  private final CountDownLatch release = new CountDownLatch(1);

  @AfterEach
  void releaseTheDeleter() {
    release.countDown();
    CrashJournal.markFaultForTest = null;
  }

  private SsdTier open(Path d) {
    return new SsdTier(SsdCrashReopenTest.config(d));
  }

  /**
   * The tier, closed after the held deleter is released (a close waits for it: a failed assertion
   * must end the test, not hang it).
   */
  private final class Opened implements AutoCloseable {
    final SsdTier tier;

    Opened(Path d) {
      tier = open(d);
    }

    @Override
    public void close() {
      release.countDown();
      tier.close();
    }
  }

  /** Holds the deleter's thread before each record delete until {@link #release}. */
  private void holdTheDeleter(SsdTier tier) {
    tier.beforeDeferredDeleteForTest =
        () -> {
          try {
            release.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        };
  }

  /** The usual pages and {@link #KEY}, then KEY deleted while the deleter is held: answered. */
  private void deleteWithTheDeleterHeld(SsdTier tier) {
    SsdCrashReopenTest.writePages(tier);
    assertTrue(tier.put(Pages.page(KEY, KEY, 0, 0, PAYLOAD, 1)));
    holdTheDeleter(tier);
    assertTrue(assertTimeoutPreemptively(ANSWERED_WITHIN, () -> tier.delete(KEY, KEY)));
  }

  /** Rebuilt from the records, the held delete finished first: KEY gone, every other page kept. */
  private static void assertRebuiltWithTheDeleteFinished(SsdTier tier, String when)
      throws Exception {
    assertEquals(ReconcileReport.Source.RECORDS, tier.reconcileReport().source(), when);
    assertEquals(1, tier.reconcileReport().deletesFinished(), when);
    assertEquals(Tier.MISS, tier.length(KEY, KEY), "the deleted page is not rebuilt: " + when);
    assertFalse(hasRecord(tier, KEY), when);
    SsdDirectoryRebuildKilledTest.assertServesLastPuts(tier, SsdCrashReopenTest.KEYS, when);
  }

  private static boolean hasRecord(SsdTier tier, long key) throws Exception {
    return tier.locations().get(key, key, new long[2]);
  }

  private static void awaitNoTombstone(SsdTier tier) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (tier.tombstones() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertEquals(0, tier.tombstones(), "the released deleter deleted the record");
  }

  @Test
  void shouldAnswerADeleteWhoseRecordDeleteIsHeldAndKeepThePageDeletedAfterACrash()
      throws Exception {
    try (Opened o = new Opened(dir)) {
      SsdTier tier = o.tier;
      deleteWithTheDeleterHeld(tier);
      assertEquals(Tier.MISS, tier.length(KEY, KEY), "gone at once");
      assertEquals(Tier.MISS, tier.get(KEY, KEY, ByteBuffer.allocateDirect(SsdCrashReopenTest.LEN)));
      assertEquals(1, tier.tombstones());
      assertTrue(hasRecord(tier, KEY), "the record's delete is still held");
      CrashJournal.Previous j = CrashJournal.read(tier.journalDir());
      assertEquals(CrashJournal.OPEN, j.state(), "the journal still vouches for the index");
      assertArrayEquals(new long[] {KEY, KEY}, j.tombstones());
      StoreFixtures.copyTree(dir, copy); // what a kill now leaves

      release.countDown();
      awaitNoTombstone(tier);
      assertFalse(hasRecord(tier, KEY));
      assertEquals(0, CrashJournal.read(tier.journalDir()).tombstones().length);
    }

    // The kill's files: the index is kept, and the tombstone's record is deleted by the open.
    try (SsdTier tier = open(copy)) {
      assertEquals(ReconcileReport.Source.INDEX_AFTER_CRASH, tier.reconcileReport().source());
      assertEquals(1, tier.reconcileReport().deletesFinished());
      assertTrue(SsdTier.openLine(tier.reconcileReport()).endsWith(
          "; 1 deletes answered before the crash finished (their location records deleted)"));
      assertFalse(hasRecord(tier, KEY), "the open deleted the record of the answered delete");
      assertEquals(Tier.MISS, tier.length(KEY, KEY));
      SsdDirectoryRebuildKilledTest.assertServesLastPuts(
          tier, SsdCrashReopenTest.KEYS, "kept after the kill");
    }
    // A later crash whose open rebuilds from the records: the page stays deleted.
    SsdDirectoryRebuildKilledTest.crash(copy);
    try (SsdTier tier = open(copy)) {
      assertEquals(ReconcileReport.Source.RECORDS, tier.reconcileReport().source());
      assertEquals(Tier.MISS, tier.length(KEY, KEY), "the deleted page stays deleted");
      SsdDirectoryRebuildKilledTest.assertServesLastPuts(
          tier, SsdCrashReopenTest.KEYS, "rebuilt");
    }
  }

  /**
   * Opens {@code d} with {@code none} as a data directory of an earlier version would be: one that
   * crashed under {@code wal} is refused otherwise ({@link SsdTierDurabilitySwitchTest}), and an
   * earlier version did not record the mode.
   */
  private SsdTier openWithoutLog(Path d) throws java.io.IOException {
    java.nio.file.Files.delete(d.resolve(SsdTier.SEGMENTS_DIR).resolve(SsdTier.DURABILITY_FILE));
    return new SsdTier(SsdDirectoryRebuildKilledTest.config(d, SsdTierConfig.Durability.NONE));
  }

  /**
   * The kill's files opened with {@code none} (a data directory of an earlier version, which did
   * not record the mode it ran with, whose operator turned the log off after a crash):
   * the journal's tombstones are applied all the same, so the record goes and a later rebuild
   * from the records (the log turned back on, then a crash) does not bring the page back.
   */
  @Test
  void shouldApplyTheTombstonesWhenTheOpenAfterTheCrashHasNoLog() throws Exception {
    try (Opened o = new Opened(dir)) {
      deleteWithTheDeleterHeld(o.tier);
      StoreFixtures.copyTree(dir, copy); // what a kill now leaves
    }
    try (SsdTier tier = openWithoutLog(copy)) {
      assertEquals(1, tier.reconcileReport().deletesFinished());
      assertFalse(hasRecord(tier, KEY), "the open deleted the record of the answered delete");
      assertEquals(Tier.MISS, tier.length(KEY, KEY));
      SsdDirectoryRebuildKilledTest.assertServesLastPuts(
          tier, SsdCrashReopenTest.KEYS, "opened without a log after the kill");
    }
    open(copy).close(); // the log back on
    SsdDirectoryRebuildKilledTest.crash(copy);
    try (SsdTier tier = open(copy)) {
      assertEquals(ReconcileReport.Source.RECORDS, tier.reconcileReport().source());
      assertEquals(Tier.MISS, tier.length(KEY, KEY), "the deleted page stays deleted");
      SsdDirectoryRebuildKilledTest.assertServesLastPuts(
          tier, SsdCrashReopenTest.KEYS, "rebuilt with the log back on");
    }
  }

  /**
   * As above, with an index that still names the deleted page (Chronicle's recovery can bring back
   * a removed entry of a killed process: here the index is the one from before the delete): the
   * tombstone drops that entry too, so the {@code none} open, which keeps the index, serves a miss.
   */
  @Test
  void shouldDropAnEntryTheTombstoneDeletedWhenTheOpenWithoutALogKeepsTheIndex() throws Exception {
    try (Opened o = new Opened(dir)) {
      SsdTier tier = o.tier;
      SsdCrashReopenTest.writePages(tier);
      assertTrue(tier.put(Pages.page(KEY, KEY, 0, 0, PAYLOAD, 1)));
      StoreFixtures.copyTree(dir, copy); // the index and records naming KEY
      holdTheDeleter(tier);
      assertTrue(assertTimeoutPreemptively(ANSWERED_WITHIN, () -> tier.delete(KEY, KEY)));
      java.nio.file.Files.copy(
          tier.journalDir().resolve(CrashJournal.FILE_NAME),
          copy.resolve(dir.relativize(tier.journalDir())).resolve(CrashJournal.FILE_NAME),
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    try (SsdTier tier = openWithoutLog(copy)) {
      assertEquals(1, tier.reconcileReport().deletesFinished());
      assertFalse(hasRecord(tier, KEY));
      assertEquals(Tier.MISS, tier.length(KEY, KEY), "the tombstone dropped the entry");
      assertEquals(
          Tier.MISS, tier.get(KEY, KEY, ByteBuffer.allocateDirect(SsdCrashReopenTest.LEN)));
      SsdDirectoryRebuildKilledTest.assertServesLastPuts(
          tier, SsdCrashReopenTest.KEYS, "opened without a log");
    }
  }

  /**
   * An open that cannot delete a tombstone's record (RocksDB refuses) fails with a clear error and
   * changes nothing a later start needs: once RocksDB takes writes, that start finishes the delete.
   */
  @Test
  void shouldFailAnOpenThatCannotFinishTheDeletesAndFinishThemAtTheNext() throws Exception {
    try (Opened o = new Opened(dir)) {
      deleteWithTheDeleterHeld(o.tier);
      StoreFixtures.copyTree(dir, copy);
    }
    SsdTier.deleteFaultOfEveryTierForTest = new org.rocksdb.RocksDBException("injected: refused");
    try {
      SsdStorageException e = assertThrows(SsdStorageException.class, () -> open(copy));
      assertTrue(
          e.getMessage().startsWith("cannot delete the location records of pages deleted before"
              + " the crash (the crash journal keeps them for the next start)"),
          e.getMessage());
    } finally {
      SsdTier.deleteFaultOfEveryTierForTest = null;
    }
    try (SsdTier tier = open(copy)) {
      // The failed open closed the index it had reopened, so this one rebuilds (always right).
      assertRebuiltWithTheDeleteFinished(tier, "the start after the failed one");
    }
  }

  /**
   * The journal stops vouching for the index (a record write failed) while the delete's record is
   * held; the open after a kill then rebuilds the directory from the records, which still name the
   * deleted page: the journal's tombstone must be applied first, or the page comes back.
   */
  @Test
  void shouldApplyTheTombstonesBeforeARebuild() throws Exception {
    try (Opened o = new Opened(dir)) {
      SsdTier tier = o.tier;
      deleteWithTheDeleterHeld(tier);
      tier.recordFaultForTest = new org.rocksdb.RocksDBException("injected: the record write fails");
      try {
        tier.put(Pages.page(KEY + 1, KEY + 1, 0, 0, PAYLOAD, 1));
        throw new AssertionError("the put must fail");
      } catch (SsdStorageException expected) {
        // the journal is untrusted from now on
      } finally {
        tier.recordFaultForTest = null;
      }
      assertEquals(CrashJournal.UNTRUSTED, CrashJournal.read(tier.journalDir()).state());
      assertTrue(hasRecord(tier, KEY));
      StoreFixtures.copyTree(dir, copy);
      release.countDown();
    }
    try (SsdTier tier = open(copy)) {
      assertRebuiltWithTheDeleteFinished(tier, "rebuilt after the kill");
    }
  }

  /**
   * The rebuild's journal cannot be marked untrusted (the write fails): the open fails with a clear
   * error and keeps the journal, whose tombstone the next open applies. Deleting it instead, as
   * the open once did, lost the answered delete: the rebuild served the page again.
   */
  @Test
  void shouldKeepAJournalWithTombstonesThatCannotBeMarkedAndFailTheOpen() throws Exception {
    try (Opened o = new Opened(dir)) {
      SsdTier tier = o.tier;
      deleteWithTheDeleterHeld(tier);
      tier.recordFaultForTest = new org.rocksdb.RocksDBException("injected: the record write fails");
      assertThrows(
          SsdStorageException.class, () -> tier.put(Pages.page(KEY + 1, KEY + 1, 0, 0, PAYLOAD, 1)));
      tier.recordFaultForTest = null;
      StoreFixtures.copyTree(dir, copy);
      release.countDown();
    }
    CrashJournal.markFaultForTest = new java.io.IOException("injected: Input/output error");
    SsdStorageException e = assertThrows(SsdStorageException.class, () -> open(copy));
    assertTrue(
        e.getMessage().contains("for the rebuild: cannot mark the crash journal ")
            && e.getMessage().endsWith(
                "it is kept: it holds 1 deletes answered before the crash that the rebuild must"
                    + " apply"),
        e.getMessage());
    CrashJournal.markFaultForTest = null;
    try (SsdTier tier = open(copy)) {
      assertRebuiltWithTheDeleteFinished(tier, "the start after the failed one");
    }
  }

  /**
   * A put of the key while its record delete is held waits for it (else the late delete would
   * remove the new page's record, and a rebuild would lose the page); then the new page is served,
   * and a rebuild serves it too.
   */
  @Test
  void shouldWriteANewPageOfTheKeyOnlyAfterTheHeldDelete() throws Exception {
    try (Opened o = new Opened(dir)) {
      SsdTier tier = o.tier;
      assertTrue(tier.put(Pages.page(KEY, KEY, 0, 0, PAYLOAD, 1)));
      long[] first = new long[2];
      assertTrue(tier.locations().get(KEY, KEY, first));
      holdTheDeleter(tier);
      assertTrue(assertTimeoutPreemptively(ANSWERED_WITHIN, () -> tier.delete(KEY, KEY)));

      CompletableFuture<Boolean> put =
          CompletableFuture.supplyAsync(() -> tier.put(Pages.page(KEY, KEY, 0, 0, PAYLOAD, 2)));
      // Another key is written meanwhile: only the held key's writer waits.
      assertTrue(
          assertTimeoutPreemptively(
              ANSWERED_WITHIN, () -> tier.put(Pages.page(KEY + 1, KEY + 1, 0, 0, PAYLOAD, 1))));
      long[] now = new long[2];
      assertTrue(tier.locations().get(KEY, KEY, now));
      assertArrayEquals(first, now, "no record of the new page while the delete is held");
      assertFalse(put.isDone(), "the put of the key waits for its delete");

      release.countDown();
      assertTrue(put.get(30, TimeUnit.SECONDS));
      assertTrue(tier.locations().get(KEY, KEY, now));
      assertFalse(java.util.Arrays.equals(first, now), "the record names the new page");
      assertServes(tier, 2);
    }
    SsdDirectoryRebuildKilledTest.crash(dir);
    try (SsdTier tier = open(dir)) {
      assertEquals(ReconcileReport.Source.RECORDS, tier.reconcileReport().source());
      assertServes(tier, 2);
    }
  }

  /**
   * The store's delete (under the key lock, after the key's write-back) takes no stripe: a writer
   * of another key of the same stripe, stuck in RocksDB's log write on a frozen disk (here: held
   * after its records), does not hold it. The page stays deleted after a crash.
   */
  @Test
  void shouldDeleteExclusivelyWhileAWriterHoldsTheKeysStripe() throws Exception {
    long other = KEY + 1;
    while (SsdTier.stripe(other, other) != SsdTier.stripe(KEY, KEY)) {
      other++;
    }
    long sameStripe = other;
    CountDownLatch writerHeld = new CountDownLatch(1);
    try (Opened o = new Opened(dir)) {
      SsdTier tier = o.tier;
      assertTrue(tier.put(Pages.page(KEY, KEY, 0, 0, PAYLOAD, 1)));
      tier.recordsWrittenHookForTest =
          () -> {
            if (Thread.currentThread().getName().equals("stuck-writer")) {
              writerHeld.countDown();
              try {
                release.await();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            }
          };
      Thread writer =
          new Thread(
              () -> tier.put(Pages.page(sameStripe, sameStripe, 0, 0, PAYLOAD, 1)), "stuck-writer");
      writer.start();
      assertTrue(writerHeld.await(30, TimeUnit.SECONDS), "the writer holds the stripe");

      assertTrue(assertTimeoutPreemptively(ANSWERED_WITHIN, () -> tier.deleteExclusive(KEY, KEY)));
      assertEquals(Tier.MISS, tier.length(KEY, KEY));
      release.countDown();
      writer.join(30_000);
      awaitNoTombstone(tier);
      assertFalse(hasRecord(tier, KEY));
    }
    SsdDirectoryRebuildKilledTest.crash(dir);
    try (SsdTier tier = open(dir)) {
      assertEquals(Tier.MISS, tier.length(KEY, KEY), "stays deleted after a rebuild");
      assertEquals(SsdCrashReopenTest.LEN, tier.length(sameStripe, sameStripe));
    }
  }

  /**
   * The record's delete on the deleter's thread throws (not a refusal RocksDB reports, which
   * SsdTierFaultTest covers through this thread too): the delete is answered, the key is kept as a
   * pending record delete, the tombstone is released and a writer of the key is not held; the
   * resume deletes the record, and a new page of the key is then written and served.
   */
  @Test
  void shouldKeepTheRecordDeleteForTheResumeWhenTheDeletersDeleteThrows() throws Exception {
    try (Opened o = new Opened(dir)) {
      SsdTier tier = o.tier;
      assertTrue(tier.put(Pages.page(KEY, KEY, 0, 0, PAYLOAD, 1)));
      tier.beforeDeferredDeleteForTest =
          () -> {
            throw new IllegalStateException("the record delete failed unexpectedly");
          };
      assertTrue(assertTimeoutPreemptively(ANSWERED_WITHIN, () -> tier.delete(KEY, KEY)));
      awaitNoTombstone(tier);
      assertEquals(Tier.MISS, tier.length(KEY, KEY));
      assertEquals(1, tier.pendingLocationDeletes(), "kept for the resume");
      assertTrue(hasRecord(tier, KEY), "the record is still there");
      tier.beforeDeferredDeleteForTest = null;
      assertTrue(tier.resumeWrites());
      assertEquals(0, tier.pendingLocationDeletes());
      assertFalse(hasRecord(tier, KEY), "the resume deleted it");
      assertTrue(
          assertTimeoutPreemptively(
              ANSWERED_WITHIN, () -> tier.put(Pages.page(KEY, KEY, 0, 0, PAYLOAD, 2))),
          "a writer of the key is not held");
      assertServes(tier, 2);
      assertTrue(hasRecord(tier, KEY));
    }
  }

  /**
   * The drop of a segment its deletes emptied throws on the deleter's thread (after the records
   * are gone): counted as a write failure; the deletes are answered, the deleter goes on, the tier
   * keeps serving and taking pages, and the next open deletes the segment's file that stayed.
   */
  @Test
  void shouldCountADropThatThrowsOnTheDeletersThreadAndGoOn() throws Exception {
    int keys = 3_000; // three 1 MiB segments of 1 KiB pages and more
    Path segDir = dir.resolve(SsdTier.SEGMENTS_DIR);
    java.util.concurrent.atomic.AtomicInteger thrown = new java.util.concurrent.atomic.AtomicInteger();
    Path first;
    try (Opened o = new Opened(dir)) {
      SsdTier tier = o.tier;
      for (long k = 1; k <= keys; k++) {
        assertTrue(tier.put(Pages.page(k, k, 0, 0, PAYLOAD, 1)));
      }
      try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(segDir)) {
        first = // the oldest segment: key 1's, emptied by the deletes below
            files
                .filter(f -> f.getFileName().toString().matches("[0-9a-f]{16}\\.seg"))
                .sorted()
                .findFirst()
                .orElseThrow();
      }
      tier.dropStripeHookForTest =
          st -> {
            if (thrown.getAndIncrement() == 0) {
              throw new IllegalStateException("injected: the drop failed");
            }
          };
      for (long k = 1; k <= keys / 2; k++) {
        long key = k;
        assertTrue(assertTimeoutPreemptively(ANSWERED_WITHIN, () -> tier.delete(key, key)));
      }
      awaitNoTombstone(tier);
      assertTrue(thrown.get() > 0, "a segment emptied and its drop ran");
      assertEquals(1, tier.writeFailures(), "the failed drop is counted");
      tier.dropStripeHookForTest = null;
      for (long k = 1; k <= keys; k++) {
        assertEquals(k <= keys / 2 ? Tier.MISS : SsdCrashReopenTest.LEN, tier.length(k, k), "key " + k);
      }
      long key = keys + 1;
      assertTrue(
          assertTimeoutPreemptively(ANSWERED_WITHIN, () -> tier.delete(keys, keys)),
          "the deleter goes on");
      assertTrue(tier.put(Pages.page(key, key, 0, 0, PAYLOAD, 1)), "the tier takes pages");
      assertTrue(java.nio.file.Files.exists(first), "the failed drop left its file: " + first);
      long segmentFileBytes;
      try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(segDir)) {
        segmentFileBytes =
            files
                .filter(f -> f.getFileName().toString().endsWith(".seg"))
                .mapToLong(f -> f.toFile().length())
                .sum();
      }
      assertEquals(
          segmentFileBytes,
          tier.diskBytes() - tier.sampledRocksBytes(),
          "the file that stayed is still counted against the capacity");
    }
    try (SsdTier tier = open(dir)) {
      assertEquals(0, tier.writeFailures());
      assertFalse(java.nio.file.Files.exists(first), "the open deleted the file the drop left");
      for (long k = 1; k < keys; k++) {
        assertEquals(k <= keys / 2 ? Tier.MISS : SsdCrashReopenTest.LEN, tier.length(k, k), "key " + k);
      }
    }
  }

  /** A close lets a held delete finish first, and then closes cleanly. */
  @Test
  void shouldFinishAHeldDeleteBeforeTheCloseEnds() throws Exception {
    SsdTier tier = open(dir);
    try {
      assertTrue(tier.put(Pages.page(KEY, KEY, 0, 0, PAYLOAD, 1)));
      holdTheDeleter(tier);
      assertTrue(assertTimeoutPreemptively(ANSWERED_WITHIN, () -> tier.delete(KEY, KEY)));
      CompletableFuture<Void> close = CompletableFuture.runAsync(tier::close);
      Thread.sleep(200);
      assertFalse(close.isDone(), "the close waits for the held delete");
      release.countDown();
      close.get(30, TimeUnit.SECONDS);
    } finally {
      release.countDown();
      tier.close();
    }
    try (SsdTier again = open(dir)) {
      assertEquals(ReconcileReport.Source.INDEX, again.reconcileReport().source(), "clean close");
      assertFalse(hasRecord(again, KEY));
      assertEquals(Tier.MISS, again.length(KEY, KEY));
    }
  }

  private static void assertServes(SsdTier tier, int version) {
    ByteBuffer dst = ByteBuffer.allocateDirect(SsdCrashReopenTest.LEN);
    assertEquals(SsdCrashReopenTest.LEN, tier.get(KEY, KEY, dst));
    assertTrue(
        Pages.sameBytes(Pages.page(KEY, KEY, 0, 0, PAYLOAD, version), dst, 0, SsdCrashReopenTest.LEN));
  }
}
