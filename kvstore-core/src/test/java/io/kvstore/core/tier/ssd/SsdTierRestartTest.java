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
