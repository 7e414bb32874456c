package io.kvstore.core.store;

import static io.kvstore.core.store.StoreFixtures.dst;
import static io.kvstore.core.store.StoreFixtures.small;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.index.DeadLocks;
import io.kvstore.core.tier.TestPages;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * After a crash with a write-ahead log the SSD directory is rebuilt from RocksDB's location
 * records, not from the block index the killed process left: whatever that file holds (here:
 * overwritten with noise, the worst a torn map and Chronicle's recovery could leave), no deleted
 * page and no older version comes back, and every page on SSD is served.
 */
class TieredStoreDirectoryRebuildTest {

  private static final int PAYLOAD = 16 * 1024;
  private static final long HI = 43;

  @TempDir Path dir;
  @TempDir Path crashed;

  @Test
  void shouldRebuildTheSsdDirectoryFromTheLogWhateverTheIndexFileHolds() throws Exception {
    try (TieredStore store = small(dir).ssdDurability("wal").build()) {
      for (long k = 0; k < 80; k++) {
        store.put(TestPages.page(HI, k, 1, PAYLOAD));
      }
      assertTrue(store.awaitWriteBack(30_000));
      for (long k = 0; k < 80; k += 4) {
        assertTrue(store.delete(HI, k), "delete " + k);
      }
      StoreFixtures.copyTree(dir, crashed); // the kill: no clean-close markers in the copy
    }
    Path indexFile = crashed.resolve("index").resolve(BlockIndex.FILE_NAME);
    // A process killed inside a change of the index that a lookup can see half done (a removal,
    // an update in place) leaves that segment locked for write; the noise stands for the worst
    // such a change could leave. (An index with no such change is the state the killed process
    // left, and is kept: spec/6.5.)
    DeadLocks.set(indexFile, 7, DeadLocks.WRITE);
    scribble(indexFile);

    try (TieredStore store = small(crashed).ssdDurability("wal").build()) {
      ByteBuffer d = dst();
      int served = 0;
      for (long k = 0; k < 80; k++) {
        int n = store.get(HI, k, d.clear());
        if (k % 4 == 0) {
          assertEquals(-1, n, "deleted page " + k + " stays deleted");
        } else if (n >= 0) {
          assertEquals(1, TestPages.check(d.flip(), HI, k), "page " + k);
          served++;
        }
      }
      // Pages still in memory at the kill are lost (dirty, never written); the rest came back.
      assertTrue(served >= 40, "pages on SSD are served again: " + served);
      assertEquals(0, store.stats().corruptions());
    }
  }

  /**
   * A clean close whose block index is gone when the store reopens (deleted by hand, or a file of
   * an earlier format, which opening deletes): the index opens new, and the SSD tier rebuilds its
   * directory from the location records, which a clean close leaves complete whatever the
   * durability. Before, a new index after a clean close was trusted as the directory: every page
   * was dropped.
   */
  @ParameterizedTest
  @CsvSource({"wal,deleted", "none,deleted", "wal,old-format", "none,old-format"})
  void shouldRebuildAfterACleanCloseWhoseIndexIsGone(String durability, String how)
      throws Exception {
    try (TieredStore store = small(dir).ssdDurability(durability).build()) {
      for (long k = 0; k < 80; k++) {
        store.put(TestPages.page(HI, k, 1, PAYLOAD));
      }
      for (long k = 0; k < 80; k += 4) {
        assertTrue(store.delete(HI, k), "delete " + k);
      }
    } // a clean close: every dirty page is written to SSD
    Path indexDir = dir.resolve("index");
    Path indexFile = indexDir.resolve(BlockIndex.FILE_NAME);
    if (how.equals("deleted")) {
      Files.delete(indexFile);
    } else {
      Files.move(indexFile, indexDir.resolve("block-index-v2.cm3"));
    }

    try (TieredStore store = small(dir).ssdDurability(durability).build()) {
      assertTrue(Files.notExists(indexDir.resolve("block-index-v2.cm3")), "old format deleted");
      ByteBuffer d = dst();
      for (long k = 0; k < 80; k++) {
        int n = store.get(HI, k, d.clear());
        if (k % 4 == 0) {
          assertEquals(-1, n, "deleted page " + k + " stays deleted");
        } else {
          assertTrue(n >= 0, "page " + k + " is served after the rebuild");
          assertEquals(1, TestPages.check(d.flip(), HI, k), "page " + k);
        }
      }
      assertEquals(0, store.stats().corruptions());
    }
  }

  /** Overwrites most of the file with noise, keeping its size. */
  private static void scribble(Path file) throws IOException {
    long size = Files.size(file);
    SplittableRandom r = new SplittableRandom(5);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ByteBuffer noise = ByteBuffer.allocate(64 << 10);
      for (long pos = size / 16; pos < size; pos += noise.capacity()) {
        noise.clear();
        while (noise.hasRemaining()) {
          noise.put((byte) r.nextInt());
        }
        noise.flip().limit((int) Math.min(noise.capacity(), size - pos));
        ch.write(noise, pos);
      }
    }
  }
}
