package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.PageFormat;
import io.kvstore.core.index.IndexEntry;
import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.TierKind;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class SsdTierTest {

  @TempDir Path dir;

  private SsdTier open(long capacity) {
    return new SsdTier(SsdTierConfig.builder(dir, capacity).maxPages(10_000).build());
  }

  private static int read(Tier tier, long hi, long lo, ByteBuffer dst) {
    return tier.get(hi, lo, dst);
  }

  @Test
  void shouldCountOneAccessPerReadInItsOwnDirectory() {
    try (SsdTier tier = open(8L << 20)) {
      assertTrue(tier.put(Pages.page(3, 4, 1000)));
      IndexEntry e = new IndexEntry();
      assertTrue(tier.indexWhileOpening().get(3, 4, e));
      long before = e.accessCount();
      ByteBuffer dst = ByteBuffer.allocateDirect(PageFormat.pageLength(1000));
      for (int i = 0; i < 3; i++) {
        dst.clear();
        assertEquals(PageFormat.pageLength(1000), read(tier, 3, 4, dst));
      }
      assertTrue(tier.indexWhileOpening().get(3, 4, e));
      assertEquals(before + 3, e.accessCount(), "a tier that owns its directory counts each read");
      dst.clear();
      assertEquals(Tier.MISS, read(tier, 3, 5, dst));
    }
  }

  @Test
  void shouldReportRocksDbsOwnMemoryApartFromThePages() {
    SsdTierConfig cfg = SsdTierConfig.builder(dir, 64L << 20).maxPages(10_000).build();
    try (SsdTier tier = new SsdTier(cfg)) {
      long atOpen = tier.rocksMemoryBytes();
      assertTrue(atOpen > 0, "memtable and cache at open: " + atOpen);
      SsdTier.rocksBytesRefreshNsForTest = 0; // from now on sampled by every put
      for (long k = 1; k <= 2000; k++) {
        assertTrue(tier.put(Pages.page(k, k, 200)));
      }
      assertTrue(tier.put(Pages.page(9999, 9999, 200))); // the sample before this put saw 2,000 records
      long after = tier.rocksMemoryBytes();
      assertTrue(after > atOpen, "2,000 location records grow the memtable: " + atOpen + " -> " + after);
      assertTrue(
          after <= 3 * cfg.writeBufferBytes + cfg.blockCacheBytes + (8 << 20),
          "within three memtables, the cache and some slack: " + after);
      assertEquals(0, tier.memoryBytes(), "the pages themselves are on disk");
    } finally {
      SsdTier.rocksBytesRefreshNsForTest = -1;
    }
  }

  @Test
  void shouldRoundTripExactBytesOfSmallAndLargePages() {
    try (SsdTier tier = open(64L << 20)) {
      assertEquals(TierKind.SSD, tier.kind());
      for (int payload : new int[] {0, 100, 4096, 2 << 20}) {
        ByteBuffer page = Pages.page(payload + 1, 7, payload);
        assertTrue(tier.put(page));
        assertEquals(0, page.position(), "put must not move the source position");
        assertEquals(page.capacity(), tier.length(payload + 1, 7));
        ByteBuffer dst = ByteBuffer.allocateDirect(page.capacity() + 10);
        dst.position(5);
        assertEquals(page.capacity(), read(tier, payload + 1, 7, dst));
        assertEquals(5 + page.capacity(), dst.position());
        assertTrue(Pages.sameBytes(page, dst, 5, page.capacity()));
        ByteBuffer heap = ByteBuffer.allocate(page.capacity());
        assertEquals(page.capacity(), read(tier, payload + 1, 7, heap));
        assertTrue(Pages.sameBytes(page, heap, 0, page.capacity()));
      }
      assertEquals(4, tier.pageCount());
      assertEquals(4 * 64 + 100 + 4096 + (2 << 20), tier.usedBytes());
      assertEquals(0, tier.corruptions());
    }
  }

  @Test
  void shouldAcceptHeapPages() {
    try (SsdTier tier = open(1 << 20)) {
      ByteBuffer page = Pages.heapPage(1, 2, 5000, 3);
      assertTrue(tier.put(page));
      ByteBuffer dst = ByteBuffer.allocate(page.capacity());
      assertEquals(page.capacity(), tier.get(1, 2, dst));
      assertArrayEquals(page.array(), dst.array());
    }
  }

  @Test
  void shouldMissUnknownKeysAndNeverPin() {
    try (SsdTier tier = open(1 << 20)) {
      assertEquals(Tier.MISS, tier.get(1, 1, ByteBuffer.allocateDirect(100)));
      assertEquals(Tier.MISS, tier.length(1, 1));
      assertFalse(tier.contains(1, 1));
      tier.put(Pages.page(1, 1, 10));
      assertNull(tier.pin(1, 1));
      assertEquals(1, tier.misses());
    }
  }

  @Test
  void shouldReplaceAndDeletePages() {
    try (SsdTier tier = open(1 << 20)) {
      tier.put(Pages.page(1, 1, 0, 0, 1000, 1));
      ByteBuffer v2 = Pages.page(1, 1, 0, 0, 3000, 2);
      assertTrue(tier.put(v2));
      assertEquals(1, tier.pageCount());
      assertEquals(v2.capacity(), tier.usedBytes());
      ByteBuffer dst = ByteBuffer.allocateDirect(v2.capacity());
      assertEquals(v2.capacity(), tier.get(1, 1, dst));
      assertTrue(Pages.sameBytes(v2, dst, 0, v2.capacity()));
      assertTrue(tier.delete(1, 1));
      assertFalse(tier.delete(1, 1));
      assertEquals(0, tier.pageCount());
      assertEquals(0, tier.usedBytes());
      assertEquals(Tier.MISS, tier.get(1, 1, dst.clear()));
    }
  }

  @Test
  void shouldRefuseAPageLargerThanTheTierAllowsAndChangeNothing() {
    try (SsdTier tier =
        new SsdTier(SsdTierConfig.builder(dir, 1 << 20).maxPageBytes(10_000).build())) {
      tier.put(Pages.page(1, 1, 100));
      assertFalse(tier.put(Pages.page(2, 2, 20_000)));
      assertFalse(tier.contains(2, 2));
      assertEquals(1, tier.pageCount());
      assertEquals(164, tier.usedBytes());
    }
    try (SsdTier tier = new SsdTier(SsdTierConfig.builder(dir.resolve("small"), 1000).build())) {
      assertFalse(tier.put(Pages.page(3, 3, 2000)));
      assertEquals(0, tier.pageCount());
    }
  }

  @Test
  void shouldRejectATooSmallDestinationWithoutCopying() {
    try (SsdTier tier = open(1 << 20)) {
      tier.put(Pages.page(1, 1, 1000));
      ByteBuffer dst = ByteBuffer.allocateDirect(500);
      assertThrows(IllegalArgumentException.class, () -> tier.get(1, 1, dst));
      assertEquals(0, dst.position());
      assertThrows(
          IllegalArgumentException.class, () -> tier.put(ByteBuffer.allocateDirect(100)));
    }
  }

  /** Every mode keeps every page across a clean close; without a WAL, close must flush them. */
  @ParameterizedTest
  @EnumSource(SsdTierConfig.Durability.class)
  void shouldRestoreEveryPageAfterReopen(SsdTierConfig.Durability durability) {
    Map<Long, ByteBuffer> pages = new HashMap<>();
    long used = 0;
    try (SsdTier tier =
        new SsdTier(
            SsdTierConfig.builder(dir, 64L << 20).maxPages(10_000).durability(durability).build())) {
      for (long k = 1; k <= 60; k++) {
        ByteBuffer page = Pages.page(k, k * 3, k - 1, (k - 1) * 3, (int) (k * 997), k);
        assertTrue(tier.put(page));
        pages.put(k, page);
        used += page.capacity();
      }
      tier.delete(60, 180);
      used -= pages.remove(60L).capacity();
    }
    try (SsdTier tier = open(64L << 20)) {
      assertEquals(59, tier.pageCount());
      assertEquals(used, tier.usedBytes());
      assertEquals(59, tier.reconcileReport().pagesLoaded());
      assertEquals(used, tier.reconcileReport().bytesLoaded());
      for (Map.Entry<Long, ByteBuffer> e : pages.entrySet()) {
        long k = e.getKey();
        ByteBuffer dst = ByteBuffer.allocateDirect(e.getValue().capacity());
        assertEquals(dst.capacity(), tier.get(k, k * 3, dst));
        assertTrue(Pages.sameBytes(e.getValue(), dst, 0, dst.capacity()));
      }
      assertFalse(tier.contains(60, 180));
      assertEquals(0, tier.corruptions());
    }
  }

  @Test
  void shouldEvictToFitWhenReopenedWithLessCapacity() {
    try (SsdTier tier = openOnePagePerSegment(1 << 20)) {
      for (long k = 1; k <= 10; k++) {
        tier.put(Pages.page(k, k, 10_000 - 64));
      }
    }
    io.kvstore.core.store.LogCapture log = new io.kvstore.core.store.LogCapture(SsdTier.class);
    try (SsdTier tier = openOnePagePerSegment(50_000)) {
      // RocksDB's files (flushed on close) count against the capacity too: 4 or 5 pages fit.
      long pages = tier.pageCount();
      assertTrue(pages == 4 || pages == 5, "pages after reopen: " + pages);
      assertEquals(pages * 10_000, tier.usedBytes());
      assertTrue(tier.diskBytes() <= 50_000, "bytes on disk " + tier.diskBytes());
      assertEquals(10 - pages, tier.reconcileReport().evictedToFit());
      for (long k = 11 - pages; k <= 10; k++) {
        assertTrue(tier.contains(k, k), "the most recent pages stay: " + k);
      }
      // The open says so (one WARN): pages are gone because a setting shrank.
      assertEquals(
          String.format(
              java.util.Locale.ROOT,
              "SSD tier open: the pages on disk did not fit its capacity (50,000 bytes, at most"
                  + " 10,000 pages; ssd.bytes or ssd.min.page.bytes changed since the last run?):"
                  + " %d pages evicted, least recently used first; %d pages (%,d bytes) kept",
              10 - pages,
              pages,
              pages * 10_000),
          SsdTier.evictedToFitLine(tier.reconcileReport(), tier.config()));
      assertEquals(
          java.util.List.of(SsdTier.evictedToFitLine(tier.reconcileReport(), tier.config())),
          log.warnings());
    } finally {
      log.close();
    }
  }

  /** Segments of one page each: the policy then ranks single pages, as a page-level LRU. */
  private SsdTier openOnePagePerSegment(long capacity) {
    return new SsdTier(
        SsdTierConfig.builder(dir, capacity).maxPages(10_000).segmentBytes(1).build());
  }

  @Test
  void shouldMissAndRemoveAPageWhosePayloadWasCorrupted() throws Exception {
    try (SsdTier tier = open(1 << 20)) {
      ByteBuffer page = Pages.page(9, 9, 5000);
      tier.put(page);
      tier.put(Pages.page(10, 10, 100));
      byte[] bad = new byte[page.capacity()];
      page.get(0, bad);
      bad[3000] ^= 0x40;
      tier.writeRawPageForTest(9, 9, bad);
      assertEquals(Tier.MISS, tier.get(9, 9, ByteBuffer.allocateDirect(page.capacity())));
      assertEquals(1, tier.corruptions());
      assertFalse(tier.contains(9, 9));
      assertEquals(1, tier.pageCount());
      assertEquals(164, tier.usedBytes());
      assertEquals(Tier.MISS, tier.get(9, 9, ByteBuffer.allocateDirect(page.capacity())));
      assertEquals(1, tier.corruptions());
    }
    try (SsdTier tier = open(1 << 20)) {
      assertFalse(tier.contains(9, 9), "the bad page must stay removed after reopen");
      assertEquals(1, tier.pageCount());
    }
  }

  /**
   * A page larger than a verify chunk is read and checksummed chunk by chunk: one flipped bit in
   * its first, a middle or its last chunk is found all the same (a miss, a corruption counted,
   * the page removed), and an undamaged one of that size reads back exactly.
   */
  @Test
  void shouldMissALargePageDamagedInAnyOfItsChunks() throws Exception {
    int payload = 2 * SsdTier.VERIFY_CHUNK + 1000; // three chunks, the last a short one
    int[] damageAt = {100, SsdTier.VERIFY_CHUNK + 5, 2 * SsdTier.VERIFY_CHUNK + 900};
    try (SsdTier tier = open(64L << 20)) {
      ByteBuffer good = Pages.page(50, 1, payload);
      assertTrue(tier.put(good));
      for (int i = 0; i < damageAt.length; i++) {
        ByteBuffer page = Pages.page(60 + i, 1, payload);
        assertTrue(tier.put(page));
        byte[] bad = new byte[page.capacity()];
        page.get(0, bad);
        bad[damageAt[i]] ^= 0x10;
        tier.writeRawPageForTest(60 + i, 1, bad);
        assertEquals(Tier.MISS, tier.get(60 + i, 1, ByteBuffer.allocateDirect(page.capacity())),
            "a bit flipped at byte " + damageAt[i]);
        assertEquals(i + 1, tier.corruptions());
        assertFalse(tier.contains(60 + i, 1));
      }
      ByteBuffer dst = ByteBuffer.allocateDirect(good.capacity());
      assertEquals(good.capacity(), tier.get(50, 1, dst));
      assertTrue(Pages.sameBytes(good, dst, 0, good.capacity()));
    }
  }

  @Test
  void shouldMissAPageStoredUnderAnotherKeyOrWithAnotherLength() throws Exception {
    try (SsdTier tier = open(1 << 20)) {
      tier.put(Pages.page(1, 1, 1000));
      tier.put(Pages.page(2, 2, 1000));
      tier.put(Pages.page(3, 3, 1000));
      // A valid page, but of key (7, 7), stored under (1, 1).
      ByteBuffer other = Pages.page(7, 7, 1000);
      byte[] raw = new byte[other.capacity()];
      other.get(0, raw);
      tier.writeRawPageForTest(1, 1, raw);
      assertEquals(Tier.MISS, tier.get(1, 1, ByteBuffer.allocateDirect(2000)));
      // A valid page of the right key but a different length than recorded.
      ByteBuffer longer = Pages.page(2, 2, 1500);
      raw = new byte[longer.capacity()];
      longer.get(0, raw);
      tier.writeRawPageForTest(2, 2, raw);
      assertEquals(Tier.MISS, tier.get(2, 2, ByteBuffer.allocateDirect(1064)));
      // The value vanished under the tier.
      tier.deleteRawPageForTest(3, 3);
      assertEquals(Tier.MISS, tier.get(3, 3, ByteBuffer.allocateDirect(2000)));
      assertEquals(3, tier.corruptions());
      assertEquals(0, tier.pageCount());
      assertEquals(0, tier.usedBytes());
    }
  }

  @Test
  void shouldNeverExceedCapacityAndServeOnlyExactBytesUnderRandomPuts() {
    long capacity = 1 << 20;
    SplittableRandom rnd = new SplittableRandom(42);
    Map<Long, ByteBuffer> last = new HashMap<>();
    try (SsdTier tier = open(capacity)) {
      for (int i = 0; i < 600; i++) {
        long k = 1 + rnd.nextInt(200);
        int op = rnd.nextInt(10);
        if (op < 7) {
          ByteBuffer page = Pages.page(k, k, 0, 0, rnd.nextInt(60_000), i);
          assertTrue(tier.put(page));
          last.put(k, page);
        } else if (op < 8) {
          tier.delete(k, k);
          last.remove(k);
        } else {
          ByteBuffer dst = ByteBuffer.allocateDirect(70_000);
          int n = tier.get(k, k, dst);
          if (n != Tier.MISS) {
            assertTrue(Pages.sameBytes(last.get(k), dst, 0, n), "wrong bytes for key " + k);
          }
        }
        assertTrue(tier.usedBytes() <= capacity, "usedBytes " + tier.usedBytes());
      }
      long sum = 0;
      long count = 0;
      for (long k = 1; k <= 200; k++) {
        int len = tier.length(k, k);
        if (len != Tier.MISS) {
          sum += len;
          count++;
          ByteBuffer dst = ByteBuffer.allocateDirect(len);
          assertEquals(len, tier.get(k, k, dst));
          assertTrue(Pages.sameBytes(last.get(k), dst, 0, len));
        }
      }
      assertEquals(sum, tier.usedBytes());
      assertEquals(count, tier.pageCount());
      assertTrue(tier.evictions() > 0, "the workload is meant to overflow the tier");
      assertEquals(0, tier.corruptions());
    }
  }

  @Test
  void shouldHandEvictedPagesToTheListenerLeastRecentlyUsedFirst() {
    List<Long> evicted = new ArrayList<>();
    Map<Long, ByteBuffer> pages = new HashMap<>();
    try (SsdTier tier = openOnePagePerSegment(3 * 10_000)) {
      tier.setEvictionListener(
          (hi, lo, page) -> {
            assertTrue(page.isReadOnly());
            assertEquals(0, page.position());
            assertTrue(Pages.sameBytes(pages.get(hi), page, 0, page.remaining()));
            evicted.add(hi);
          });
      for (long k = 1; k <= 3; k++) {
        pages.put(k, Pages.page(k, k, 10_000 - 64));
        tier.put(pages.get(k));
      }
      tier.get(1, 1, ByteBuffer.allocateDirect(10_000));
      for (long k = 4; k <= 5; k++) {
        pages.put(k, Pages.page(k, k, 10_000 - 64));
        tier.put(pages.get(k));
      }
      assertEquals(List.of(2L, 3L), evicted);
      assertEquals(2, tier.evictions());
      assertTrue(tier.contains(1, 1));
      assertEquals(30_000, tier.usedBytes());
    }
  }

  @Test
  void shouldBoundThePageCountByMaxPages() {
    try (SsdTier tier =
        new SsdTier(SsdTierConfig.builder(dir, 1 << 20).maxPages(4).segmentBytes(1).build())) {
      for (long k = 1; k <= 10; k++) {
        assertTrue(tier.put(Pages.page(k, k, 10)));
      }
      assertEquals(4, tier.pageCount());
      assertEquals(4 * 74, tier.usedBytes());
      assertTrue(tier.contains(10, 10));
    }
  }

  @Test
  void shouldExplainADataDirectoryInUse() {
    try (SsdTier tier = open(1 << 20)) {
      SsdStorageException e = assertThrows(SsdStorageException.class, () -> open(1 << 20));
      assertTrue(e.getMessage().contains("in use"), e.getMessage());
      assertTrue(tier.put(Pages.page(1, 1, 10)), "the first tier must be unharmed");
    }
  }

  @Test
  void shouldExplainADataDirectoryThatIsNotADirectory() throws Exception {
    Path file = Files.createFile(dir.resolve("plain-file"));
    SsdStorageException e =
        assertThrows(
            SsdStorageException.class,
            () -> new SsdTier(SsdTierConfig.builder(file, 1 << 20).build()));
    assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
  }

  @Test
  void shouldRefuseUseAfterClose() {
    SsdTier tier = open(1 << 20);
    tier.close();
    tier.close();
    assertThrows(IllegalStateException.class, () -> tier.put(Pages.page(1, 1, 10)));
    assertThrows(
        IllegalStateException.class, () -> tier.get(1, 1, ByteBuffer.allocateDirect(100)));
  }

  @Test
  void shouldVerifyPagesByTheirHeader() {
    ByteBuffer page = Pages.page(5, 6, 100);
    assertEquals(PageFormat.OK, PageFormat.verify(page, 0, page.capacity()));
  }

  @Test
  void shouldParseDurabilityNamesAndExplainAnUnknownOne() {
    assertEquals(SsdTierConfig.Durability.NONE, SsdTierConfig.Durability.parse("none"));
    assertEquals(SsdTierConfig.Durability.WAL, SsdTierConfig.Durability.parse(" WAL "));
    assertEquals(SsdTierConfig.Durability.SYNC, SsdTierConfig.Durability.parse("Sync"));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> SsdTierConfig.Durability.parse("fsync"));
    assertTrue(e.getMessage().contains("'fsync'") && e.getMessage().contains("none, wal, sync"));
    assertThrows(IllegalArgumentException.class, () -> SsdTierConfig.Durability.parse(null));
  }
}
