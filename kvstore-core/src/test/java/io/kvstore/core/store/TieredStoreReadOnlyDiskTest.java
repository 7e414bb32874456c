package io.kvstore.core.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.Ext4Mount;
import io.kvstore.common.PageFormat;
import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.tier.TestPages;
import io.kvstore.core.tier.ssd.SsdTier;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The data directory's ext4 file system fails and turns read-only (an ext4 error with {@code
 * errors=remount-ro}) while the store (durability sync) runs with its block index in a runtime
 * directory: memory pages are still read and written, the SSD tier is degraded, the close
 * completes (the copy of the index to the data directory fails, one WARNING, and the index stays
 * in the runtime directory),
 * and after the operator's {@code e2fsck} and remount the store opens again (the SSD tier, not
 * closed cleanly, rebuilds its directory from its records) and serves every page exactly or as a
 * miss.
 */
class TieredStoreReadOnlyDiskTest {

  private static final int PAYLOAD = 64 * 1024;
  private static final long HI = 73;

  @TempDir Path tmp;
  @TempDir Path runtime;

  @Test
  void shouldServeMemoryCloseAndReopenWhenTheDataDiskTurnsReadOnly() throws Exception {
    // RocksDB's native library is loaded once per JVM, from the first SSD tier's directory, and
    // stays mapped: loaded from the test's file system, it would keep it from being unmounted.
    try (TieredStore warm = StoreFixtures.small(tmp.resolve("warm")).build()) {
      warm.put(TestPages.page(HI, 0, 1, 1024));
    }
    try (Ext4Mount disk = Ext4Mount.mount(tmp.resolve("disk"), tmp.resolve("disk.img"), 128)) {
      TieredStoreBuilder b =
          StoreFixtures.onDisk(disk.dir().resolve("data"), PAYLOAD).ssdDurability("sync").indexDir(runtime);
      ByteBuffer d = ByteBuffer.allocateDirect(PageFormat.pageLength(PAYLOAD));
      try (LogCapture home = new LogCapture(IndexHome.class)) {
        try (TieredStore store = b.build()) {
          for (long k = 0; k < 300; k++) { // most of them end on SSD only
            store.put(TestPages.page(HI, k, 1, PAYLOAD));
          }
          assertTrue(store.awaitWriteBack(30_000));

          disk.failToReadOnly();
          for (long k = 1000; k < 1200; k++) { // more than DRAM holds: write-back meets EROFS
            store.put(TestPages.page(HI, k, 1, PAYLOAD));
          }
          for (long k = 1190; k < 1200; k++) { // the newest are in DRAM
            assertTrue(store.get(HI, k, d.clear()) > 0, "page " + k + " just put");
            assertEquals(1, TestPages.check(d.flip(), HI, k));
          }
          checkAll(store, 0, 300, d);
          store.awaitWriteBack(30_000); // drained, or dropped once the tier is degraded
          assertTrue(store.health().ssdDegraded(), "the SSD tier is degraded: " + store.health());
          assertTrue(store.health().lastError().contains("Read-only"), store.health().lastError());
        }
        assertTrue(
            String.join("\n", home.lines()).contains("cannot copy the block index"),
            String.join("\n", home.lines()));
      }
      assertTrue(Files.exists(runtime.resolve(BlockIndex.FILE_NAME)), "the index stays in the runtime directory");
      assertTrue(Files.exists(runtime.resolve(BlockIndex.CLEAN_MARKER_NAME)), "closed cleanly there");

      disk.repairAndRemount();
      try (LogCapture ssd = new LogCapture(SsdTier.class);
          TieredStore store = b.build()) {
        assertTrue(
            String.join("\n", ssd.lines()).contains("rebuilt from its location records"),
            String.join("\n", ssd.lines()));
        int served = checkAll(store, 0, 300, d) + checkAll(store, 1000, 1200, d);
        // With sync every page written to SSD before the failure is on disk (with wal the kernel
        // may not have committed the new segment files' entries when ext4 stopped its journal:
        // as after a power loss); pages still dirty in memory at the failure are lost either way.
        assertTrue(served > 0, "pages written to SSD before the disk failed are served again");
        assertEquals(0, store.stats().corruptions());
      }
      assertFalse(Files.exists(runtime.resolve(BlockIndex.FILE_NAME)), "copied back at this close");
    }
  }

  /** Checks every page of keys [from, to) is exact or a miss; returns how many were served. */
  private static int checkAll(TieredStore store, long from, long to, ByteBuffer d) {
    int served = 0;
    for (long k = from; k < to; k++) {
      if (store.get(HI, k, d.clear()) >= 0) {
        assertEquals(1, TestPages.check(d.flip(), HI, k), "page " + k);
        served++;
      }
    }
    return served;
  }
}
