package io.kvstore.core.store;

import static io.kvstore.core.store.StoreFixtures.dst;
import static io.kvstore.core.store.StoreFixtures.small;
import static io.kvstore.core.store.StoreFixtures.whereIs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.tier.TestPages;
import io.kvstore.core.tier.TierKind;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;

/** Close and reopen: the SSD tier's pages are there, verified; a corrupted value is a miss. */
class TieredStoreRestartTest {

  private static final int PAYLOAD = 8 * 1024;

  @TempDir Path dir;

  @Test
  void shouldFindTheSsdTierAsItWasAfterReopen() {
    List<Long> onSsd = new ArrayList<>();
    try (TieredStore store = small(dir).build()) {
      for (long k = 0; k < 150; k++) {
        store.put(TestPages.page(21, k, 3, PAYLOAD));
      }
      for (long k = 0; k < 150; k++) {
        if (whereIs(store, 21, k) == TierKind.SSD) {
          onSsd.add(k);
        }
      }
    }
    assertTrue(onSsd.size() > 100, "most pages were demoted to SSD: " + onSsd.size());
    try (TieredStore store = small(dir).build()) {
      StoreStats.TierStats ssd = store.stats().tier(TierKind.SSD);
      assertTrue(ssd.pageCount() >= onSsd.size(), "SSD page count restored: " + ssd.pageCount());
      assertTrue(ssd.usedBytes() > 0);
      ByteBuffer dst = dst();
      for (long k : onSsd) {
        dst.clear();
        assertTrue(store.get(21, k, dst) > 0, "page " + k + " survived the restart");
        assertEquals(3, TestPages.check(dst.flip(), 21, k));
      }
      // Memory tiers start empty; every other key is an intact page or a miss.
      for (long k = 0; k < 150; k++) {
        dst.clear();
        if (store.get(21, k, dst) > 0) {
          TestPages.check(dst.flip(), 21, k);
        }
      }
      assertEquals(0, store.stats().corruptions());
    }
  }

  @Test
  void shouldMissRemoveAndCountAValueCorruptedOnDisk() throws Exception {
    try (TieredStore store = small(dir).hotBytes(0).dramBytes(0).build()) {
      store.put(TestPages.page(22, 1, 1, PAYLOAD));
      store.put(TestPages.page(22, 2, 1, PAYLOAD));
    }
    corruptPayloadByteOnDisk(dir.resolve("ssd"), 22, 1, 5000);
    try (TieredStore store = small(dir).hotBytes(0).dramBytes(0).build()) {
      ByteBuffer dst = dst();
      assertEquals(-1, store.get(22, 1, dst), "a page failing its CRC is a miss");
      assertEquals(1, store.stats().corruptions());
      assertNull(whereIs(store, 22, 1), "and it is removed");
      assertEquals(-1, store.get(22, 1, dst.clear()));
      assertEquals(1, store.stats().corruptions(), "counted once: it is gone");
      dst.clear();
      assertTrue(store.get(22, 2, dst) > 0, "other pages are unharmed");
      TestPages.check(dst.flip(), 22, 2);
    }
  }

  /**
   * Flips one payload byte of a key's page in its segment file, as a failing disk would. The page's
   * place comes from RocksDB's location record (spec/6-ssd-segments.md).
   */
  private static void corruptPayloadByteOnDisk(Path ssdDir, long hi, long lo, int payloadByte)
      throws Exception {
    RocksDB.loadLibrary();
    long segment;
    long offset;
    try (Options o = new Options();
        RocksDB db = RocksDB.open(o, ssdDir.resolve("locations").toString())) {
      byte[] value = db.get(ByteBuffer.allocate(16).putLong(hi).putLong(lo).array());
      assertTrue(value != null && value.length == 44, "the page has a location record");
      segment = ByteBuffer.wrap(value).getLong(0);
      offset = ByteBuffer.wrap(value).getLong(8);
    }
    Path file = ssdDir.resolve("segments").resolve(String.format("%016x.seg", segment));
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.allocate(1);
      long pos = offset + 64 + payloadByte;
      assertEquals(1, ch.read(b, pos));
      b.put(0, (byte) (b.get(0) ^ 0x10)).position(0);
      ch.write(b, pos);
    }
  }
}
