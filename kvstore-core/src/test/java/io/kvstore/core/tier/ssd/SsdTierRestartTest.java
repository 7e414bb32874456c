package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.tier.Tier;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a restart keeps: pages, the directory (namespaces), and the eviction order. */
class SsdTierRestartTest {

  @TempDir Path dir;

  /** One page per segment, room for 3 pages of 10,000 bytes (plus RocksDB's small files). */
  private SsdTier open() {
    return new SsdTier(
        SsdTierConfig.builder(dir, 35_000).maxPages(1000).segmentBytes(1).build());
  }

  private static void pause() throws InterruptedException {
    Thread.sleep(5); // last access is kept in milliseconds
  }

  @Test
  void shouldKeepTheEvictionOrderAcrossARestart() throws Exception {
    try (SsdTier tier = open()) {
      for (long k = 1; k <= 3; k++) {
        assertTrue(tier.put(Pages.page(k, k, 10_000 - 64)));
        pause();
      }
      assertEquals(10_000, tier.get(1, 1, ByteBuffer.allocateDirect(10_000)));
      pause();
    }
    List<Long> evicted = new ArrayList<>();
    try (SsdTier tier = open()) {
      assertEquals(3, tier.pageCount());
      tier.setEvictionListener((hi, lo, page) -> evicted.add(lo));
      assertTrue(tier.put(Pages.page(4, 4, 10_000 - 64)));
      assertTrue(tier.put(Pages.page(5, 5, 10_000 - 64)));
    }
    assertEquals(List.of(2L, 3L), evicted, "the page read before the restart is the last to go");
  }

  @Test
  void shouldPutEverySegmentBackInItsSlotAfterACleanClose() throws Exception {
    // One page per segment; 40 keys in a tier that holds ~20 pages, so segments are dropped and
    // their slots reused in an order the next open cannot guess.
    SsdTierConfig config = SsdTierConfig.builder(dir, 220_000).maxPages(1000).segmentBytes(1).build();
    java.util.Map<Long, Integer> before = new java.util.HashMap<>();
    java.util.Map<Long, Long> segmentOf = new java.util.HashMap<>();
    try (SsdTier tier = new SsdTier(config)) {
      for (long k = 1; k <= 40; k++) {
        assertTrue(tier.put(Pages.page(k, k, 10_000 - 64)));
        if (k % 3 == 0) {
          tier.delete(k - 1, k - 1);
        }
      }
      io.kvstore.core.index.IndexEntry e = new io.kvstore.core.index.IndexEntry();
      for (long k = 1; k <= 40; k++) {
        if (tier.index().get(k, k, e) && e.isIn(io.kvstore.core.tier.TierKind.SSD)) {
          before.put(k, e.segmentSlot());
          segmentOf.put(k, e.segmentId());
        }
      }
    }
    assertTrue(before.size() > 10, "pages left on SSD: " + before.size());
    // Without the slot table an open would put the segments in slots 0, 1, ... newest first.
    List<Long> newestFirst = new ArrayList<>(segmentOf.values());
    newestFirst.sort(java.util.Comparator.reverseOrder());
    assertTrue(
        before.entrySet().stream()
            .anyMatch(kv -> newestFirst.indexOf(segmentOf.get(kv.getKey())) != kv.getValue()),
        "slots were reused out of order (else the test shows nothing): " + before);
    try (SsdTier tier = new SsdTier(config)) {
      io.kvstore.core.index.IndexEntry e = new io.kvstore.core.index.IndexEntry();
      ByteBuffer dst = ByteBuffer.allocateDirect(10_000);
      int kept = 0;
      for (var kv : before.entrySet()) {
        long k = kv.getKey();
        if (!tier.index().get(k, k, e)) {
          continue; // the open may evict a segment or two if RocksDB's files grew on close
        }
        kept++;
        assertEquals(kv.getValue(), e.segmentSlot(), "key " + k + " kept its segment's slot");
        assertEquals(10_000, tier.get(k, k, dst.clear()), "and is served");
      }
      assertTrue(kept >= before.size() - 3, "kept " + kept + " of " + before.size());
      // New segments take free slots, not those of the reopened ones.
      assertTrue(tier.put(Pages.page(99, 99, 10_000 - 64)));
      assertTrue(tier.index().get(99, 99, e));
      assertFalse(before.containsValue(e.segmentSlot()) && tier.get(99, 99, dst.clear()) < 0);
      for (var kv : before.entrySet()) {
        long k = kv.getKey();
        if (tier.index().get(k, k, e)) {
          assertEquals(10_000, tier.get(k, k, dst.clear()), "key " + k + " still served");
        }
      }
    }
  }

  @Test
  void shouldOpenAndServeEveryPageWhenTheSlotTableIsDamaged() throws Exception {
    SsdTierConfig config = SsdTierConfig.builder(dir, 220_000).maxPages(1000).segmentBytes(1).build();
    try (SsdTier tier = new SsdTier(config)) {
      for (long k = 1; k <= 10; k++) {
        assertTrue(tier.put(Pages.page(k, k, 10_000 - 64)));
      }
    }
    // A torn or hand-edited table: noise, a slot out of range, two segments claiming one slot.
    java.nio.file.Files.writeString(
        dir.resolve(SsdTier.SEGMENTS_DIR).resolve(SsdTier.SLOTS_FILE),
        "zz not a line\n0 99999999\n1 3\n2 3\n");
    try (SsdTier tier = new SsdTier(config)) {
      ByteBuffer dst = ByteBuffer.allocateDirect(10_000);
      int served = 0;
      for (long k = 1; k <= 10; k++) {
        if (tier.get(k, k, dst.clear()) == 10_000) {
          served++;
        }
      }
      assertTrue(served >= 8, "pages served after a damaged slot table: " + served);
      assertEquals(0, tier.corruptions());
    }
  }

  @Test
  void shouldEvictInInsertOrderAcrossARestartWhenNothingWasRead() throws Exception {
    try (SsdTier tier = open()) {
      for (long k = 3; k >= 1; k--) {
        assertTrue(tier.put(Pages.page(k, k, 10_000 - 64)));
        pause();
      }
    }
    List<Long> evicted = new ArrayList<>();
    try (SsdTier tier = open()) {
      tier.setEvictionListener((hi, lo, page) -> evicted.add(lo));
      assertTrue(tier.put(Pages.page(4, 4, 10_000 - 64)));
    }
    assertEquals(List.of(3L), evicted);
  }

  @Test
  void shouldAnswerTheNamespaceFromTheDirectoryAcrossARestart() {
    try (SsdTier tier = open()) {
      assertTrue(tier.put(Pages.page(7, 8, 0, 0, 100, 4242)));
      assertEquals(4242, tier.namespaceOf(7, 8));
      assertEquals(SsdTier.NO_NAMESPACE, tier.namespaceOf(8, 7));
    }
    try (SsdTier tier = open()) {
      assertEquals(4242, tier.namespaceOf(7, 8));
      assertTrue(tier.delete(7, 8));
      assertEquals(SsdTier.NO_NAMESPACE, tier.namespaceOf(7, 8));
    }
  }

  @Test
  void shouldOpenFromTheDirectoryWithoutReadingPagesAndStillVerifyOnRead() throws Exception {
    ByteBuffer page = Pages.page(9, 9, 5000);
    try (SsdTier tier = open()) {
      assertTrue(tier.put(page));
      byte[] bad = new byte[page.capacity()];
      page.get(0, bad);
      bad[4000] ^= 1;
      tier.writeRawPageForTest(9, 9, bad);
    }
    try (SsdTier tier = open()) {
      assertEquals(1, tier.pageCount(), "a clean open trusts the directory and reads no page");
      assertEquals(Tier.MISS, tier.get(9, 9, ByteBuffer.allocateDirect(page.capacity())));
      assertEquals(1, tier.corruptions());
      assertFalse(tier.contains(9, 9));
      assertEquals(0, tier.pageCount());
    }
  }
}
