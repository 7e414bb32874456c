package io.kvstore.core.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.Ext4Mount;
import io.kvstore.common.PageFormat;
import io.kvstore.core.tier.TestPages;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The data directory on a real ext4 file system that is frozen ({@code fsfreeze}: a snapshot, or a
 * disk that stopped answering writes) while the store serves: pages in memory are still read and
 * written, and the JVM still reaches its safepoints (a GC, a thread dump), for as long as the
 * freeze lasts. The SSD tier's writes wait for the thaw (write-back is off the request path), and
 * afterwards every page is exact or a miss.
 *
 * <p>Before the block index ran from a runtime directory, this failed: a lookup or a put stored
 * into the index's shared mapping on the frozen file system, the store faulted in
 * ext4_page_mkwrite until the thaw, and the thread, being in Java code, held every other thread of
 * the JVM at the next safepoint (measured on the daemon: time to safepoint 25 s for a 25 s freeze).
 */
class TieredStoreFrozenDiskTest {

  private static final int PAYLOAD = 64 * 1024;
  private static final long HI = 71;
  /** How long the memory work may take while the disk stays frozen (liveness, not speed). */
  private static final int FROZEN_SECONDS = 30;

  @TempDir Path tmp;
  @TempDir Path runtime;

  @Test
  void shouldServeMemoryAndReachSafepointsWhileTheDataDiskIsFrozen() throws Exception {
    try (Ext4Mount disk = Ext4Mount.mount(tmp.resolve("disk"), tmp.resolve("disk.img"), 128)) {
      TieredStoreBuilder b = onFrozenDisk(disk);
      try (TieredStore store = b.build()) {
        for (long k = 0; k < 300; k++) { // most of them end on SSD only
          store.put(TestPages.page(HI, k, 1, PAYLOAD));
        }
        for (long k = 1000; k < 1040; k++) { // these stay in DRAM
          store.put(TestPages.page(HI, k, 1, PAYLOAD));
        }
        assertTrue(store.awaitWriteBack(30_000));

        String wrong = disk.whileFrozen(FROZEN_SECONDS, () -> memoryWork(store));
        assertNull(wrong, "memory gets and puts, a GC and a thread dump: " + wrong);

        assertTrue(store.awaitWriteBack(60_000), "write-back resumes after the thaw");
        assertEquals(0, checkAll(store, 2000, 2020), "no wrong page after the thaw");
      }
      try (TieredStore store = b.build()) {
        checkAll(store, 0, 300);
        checkAll(store, 1000, 1040);
        checkAll(store, 2000, 2020);
        assertEquals(0, store.stats().corruptions());
      }
    }
  }

  /**
   * Deletes of pages the SSD tier holds, and puts that replace them, are answered while the disk
   * is frozen: the location record's delete waits for the disk on the tier's deleter thread, with
   * a tombstone in the crash journal (on tmpfs). Before, each waited in RocksDB's log write for the
   * thaw, holding a store thread and a key lock (the daemon: 8 timeouts in a 20 s freeze). After the
   * thaw and a restart, no deleted or replaced version comes back.
   */
  @Test
  void shouldAnswerDeletesAndReplacingPutsOfSsdPagesWhileTheDataDiskIsFrozen() throws Exception {
    try (Ext4Mount disk = Ext4Mount.mount(tmp.resolve("disk"), tmp.resolve("disk.img"), 128)) {
      TieredStoreBuilder b = onFrozenDisk(disk);
      try (TieredStore store = b.build()) {
        for (long k = 0; k < 300; k++) {
          store.put(TestPages.page(HI, k, 1, PAYLOAD));
        }
        assertTrue(store.awaitWriteBack(30_000));
        for (long k = 0; k < 40; k++) {
          assertEquals(
              io.kvstore.core.tier.TierKind.SSD, StoreFixtures.whereIs(store, HI, k), "page " + k);
        }

        String wrong = disk.whileFrozen(FROZEN_SECONDS, () -> deleteAndReplace(store));
        assertNull(wrong, "deletes and replacing puts of SSD pages: " + wrong);

        assertTrue(store.awaitWriteBack(60_000), "write-back resumes after the thaw");
        for (int i = 0; i < 3000 && store.stats().ssdFiles().deletesPending() > 0; i++) {
          Thread.sleep(10);
        }
        assertEquals(0, store.stats().ssdFiles().deletesPending(), "the records deleted after it");
        checkDeletedAndReplaced(store);
      }
      try (TieredStore store = b.build()) {
        checkDeletedAndReplaced(store);
        checkAll(store, 40, 300);
        assertEquals(0, store.stats().corruptions());
      }
    }
  }

  /** Deletes pages 0 to 19 and replaces 20 to 39 (version 2); each is read back at once. */
  private static void deleteAndReplace(TieredStore store) {
    ByteBuffer d = ByteBuffer.allocateDirect(PageFormat.pageLength(PAYLOAD));
    for (long k = 0; k < 20; k++) {
      assertTrue(store.delete(HI, k), "page " + k + " deleted");
      assertEquals(-1, store.get(HI, k, d.clear()), "deleted page " + k);
    }
    for (long k = 20; k < 40; k++) {
      store.put(TestPages.page(HI, k, 2, PAYLOAD));
      assertTrue(store.get(HI, k, d.clear()) > 0, "page " + k + " just replaced");
      assertEquals(2, TestPages.check(d.flip(), HI, k));
    }
    assertTrue(
        store.stats().ssdFiles().deletesPending() > 0,
        "the record deletes wait for the thaw, as tombstones");
  }

  private static void checkDeletedAndReplaced(TieredStore store) {
    ByteBuffer d = ByteBuffer.allocateDirect(PageFormat.pageLength(PAYLOAD));
    for (long k = 0; k < 20; k++) {
      assertEquals(-1, store.get(HI, k, d.clear()), "deleted page " + k + " stays deleted");
    }
    for (long k = 20; k < 40; k++) {
      if (store.get(HI, k, d.clear()) >= 0) {
        assertEquals(2, TestPages.check(d.flip(), HI, k), "page " + k + " never its old version");
      }
    }
  }

  /** A store with its data directory on {@code disk} and its index on tmpfs ({@code wal}). */
  private TieredStoreBuilder onFrozenDisk(Ext4Mount disk) {
    return StoreFixtures.onDisk(disk.dir().resolve("data"), PAYLOAD)
        .ssdDurability("wal")
        .indexDir(runtime);
  }

  /** What must go on while the disk is frozen: memory reads and writes, GCs, a thread dump. */
  private static void memoryWork(TieredStore store) {
    ByteBuffer d = ByteBuffer.allocateDirect(PageFormat.pageLength(PAYLOAD));
    for (int round = 0; round < 3; round++) {
      for (long k = 1000; k < 1040; k++) {
        assertTrue(store.get(HI, k, d.clear()) > 0, "page " + k + " is in DRAM");
        assertEquals(1, TestPages.check(d.flip(), HI, k));
      }
      System.gc(); // a safepoint: every thread must reach it
      ManagementFactory.getThreadMXBean().dumpAllThreads(false, false); // another
    }
    for (long k = 2000; k < 2020; k++) { // new pages: into DRAM, write-back waits for the thaw
      store.put(TestPages.page(HI, k, 1, PAYLOAD));
      assertTrue(store.get(HI, k, d.clear()) > 0, "page " + k + " just put");
      assertEquals(1, TestPages.check(d.flip(), HI, k));
    }
    System.gc();
  }

  /** Checks every page of keys [from, to) is exact or a miss; returns the count of wrong ones (0). */
  private static int checkAll(TieredStore store, long from, long to) {
    ByteBuffer d = ByteBuffer.allocateDirect(PageFormat.pageLength(PAYLOAD));
    for (long k = from; k < to; k++) {
      if (store.get(HI, k, d.clear()) >= 0) {
        assertEquals(1, TestPages.check(d.flip(), HI, k), "page " + k);
      }
    }
    return 0;
  }
}
