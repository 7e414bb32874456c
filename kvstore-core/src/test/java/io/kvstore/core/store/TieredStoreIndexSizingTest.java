package io.kvstore.core.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.BlockKey;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The block index records pages of the memory tiers too, so its size must follow from every
 * tier's capacity, not the SSD tier's alone: a DRAM tier that holds more pages than the SSD tier
 * once filled the index and made puts throw "the block index is full".
 */
class TieredStoreIndexSizingTest {

  private static final int PAGES = 60_000;

  @TempDir Path dir;

  @Test
  void shouldSizeTheIndexForMemoryTiersLargerThanTheSsdTier() {
    TieredStoreBuilder b = TieredStore.builder().dataDir(dir).hotBytes(0).dramBytes(64L << 20)
        .ssdBytes(32L << 20).ssdMinPageBytes(16 << 10);
    long ssdPages = (32L << 20) / (16 << 10); // 2,048
    assertEquals(2_048 + 4_096, StoreFactory.indexEntries(b, ssdPages));
    assertEquals(2 * 2_048,
        StoreFactory.indexEntries(TieredStore.builder().hotBytes(0).dramBytes(16L << 20)
            .ssdBytes(32L << 20).ssdMinPageBytes(16 << 10), ssdPages),
        "memory smaller than SSD: twice the SSD pages, as before");
  }

  @Test
  void shouldStoreAsManyPagesAsTheMemoryTiersHoldWithoutFillingTheIndex() {
    // 61,440 DRAM pages of the declared 4 KiB over a 32 MiB SSD tier (8,192 pages): sized from
    // the SSD tier alone (16,384 entries) the index filled before the DRAM tier did.
    try (TieredStore store = TieredStore.builder().dataDir(dir).hotBytes(0).dramBytes(240L << 20)
        .ssdBytes(32L << 20).ssdMinPageBytes(4 << 10).build()) {
      ByteBuffer payload = ByteBuffer.allocateDirect((4 << 10) - 64);
      int stored = 0;
      for (int i = 0; i < PAGES; i++) {
        payload.clear();
        payload.putInt(0, i);
        if (store.put(new BlockKey(7, i), BlockKey.ROOT_PARENT, 1, 16, payload)) {
          stored++;
        }
      }
      assertEquals(PAGES, stored);
      ByteBuffer dst = ByteBuffer.allocateDirect(4 << 10);
      for (int i = 0; i < PAGES; i += 97) {
        dst.clear();
        int n = store.get(new BlockKey(7, i), dst);
        assertTrue(n == 4 << 10 || n == -1, "page " + i + ": " + n);
        if (n > 0) {
          assertEquals(i, dst.getInt(64), "page " + i);
        }
      }
    }
  }
}
