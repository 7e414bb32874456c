package io.kvstore.core.tier.hot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.PageFormat;
import io.kvstore.core.tier.PinnedPage;
import io.kvstore.core.tier.TestPages;
import io.kvstore.core.tier.Tier;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Hot frames are sized to their pages: capacity is counted in bytes, not in largest frames. */
class HotTierSizingTest {

  /** The store's defaults: a 64 MiB hot tier for pages up to 2 MiB + header. */
  private static final long HOT_BYTES = 64L << 20;
  private static final int MAX_PAGE = (2 << 20) + PageFormat.HEADER_LENGTH;

  @Test
  void shouldHoldManySmallPagesNotOneLargestFramePerPage() {
    List<Long> evicted = new ArrayList<>();
    try (HotTier tier = HotTier.create(HOT_BYTES, MAX_PAGE)) {
      tier.setEvictionListener((hi, lo, page) -> evicted.add(lo));
      int pages = 10_000; // 4 KiB payloads: 31 would fit in largest-size frames
      for (int i = 0; i < pages; i++) {
        assertTrue(tier.put(TestPages.page(1, i, 1, 4096)), "put " + i);
      }
      assertEquals(List.of(), evicted, "10,000 pages of 4 KiB fit in 64 MiB");
      assertEquals(pages, tier.pageCount());
      assertTrue(tier.usedBytes() <= tier.capacityBytes());
      assertTrue(
          tier.usedBytes() <= (long) pages * 5 * 1024, "frames sized to the page: " + tier.usedBytes());
      ByteBuffer dst = ByteBuffer.allocate(8192);
      for (int i = 0; i < pages; i += 97) {
        dst.clear();
        assertEquals(PageFormat.pageLength(4096), tier.get(1, i, dst));
        TestPages.check(dst.flip(), 1, i);
      }
      // And the largest page still fits, by evicting small ones of its shard.
      assertTrue(tier.put(TestPages.page(2, 0, 1, MAX_PAGE - PageFormat.HEADER_LENGTH)));
      assertEquals(MAX_PAGE, tier.length(2, 0));
    }
  }

  @Test
  void shouldFillCapacityWithMixedSizesUpToItsBytes() {
    try (HotTier tier = HotTier.builder(1L << 20, 64 * 1024).shards(2).build()) {
      long stored = 0;
      int[] payloads = {1000, 5000, 20_000, 60_000};
      for (int i = 0; i < 200; i++) {
        int payload = payloads[i % payloads.length];
        assertTrue(tier.put(TestPages.page(3, i, 1, payload)));
        stored += PageFormat.pageLength(payload);
      }
      assertTrue(tier.usedBytes() <= tier.capacityBytes());
      assertTrue(
          tier.pageCount() > (1L << 20) / (64 * 1024) * 2,
          "more pages than largest frames fit: " + tier.pageCount());
      assertTrue(stored > tier.capacityBytes(), "the workload overflows the tier");
    }
  }

  @Test
  void shouldKeepHandlesExactAcrossShards() {
    try (HotTier tier = HotTier.builder(1L << 20, 16 * 1024).shards(4).slabBytes(32 * 1024).build()) {
      assertEquals(4, tier.shardCount());
      long[] handles = new long[200];
      Set<Integer> frames = new HashSet<>();
      for (int i = 0; i < handles.length; i++) {
        assertTrue(tier.put(TestPages.page(4, i, 1, 500 + 50 * i)));
        handles[i] = tier.handle(4, i);
        assertFalse(MemoryHandle.isNone(handles[i]));
      }
      ByteBuffer dst = ByteBuffer.allocate(16 * 1024);
      int live = 0;
      for (int i = 0; i < handles.length; i++) {
        if (!tier.contains(4, i)) {
          assertTrue(tier.isStale(handles[i]), "an evicted page's handle is stale");
          continue;
        }
        live++;
        assertFalse(tier.isStale(handles[i]));
        assertTrue(frames.add(MemoryHandle.frame(handles[i])), "one frame per live page");
        dst.clear();
        assertEquals(tier.length(4, i), tier.read(handles[i], dst));
        TestPages.check(dst.flip(), 4, i);
        assertEquals(tier.length(4, i), tier.length(handles[i]));
        try (PinnedPage pin = tier.pin(handles[i])) {
          assertNotNull(pin);
          TestPages.check(pin.buffer(), 4, i);
        }
      }
      assertTrue(live > 50, "most pages stay: " + live);
      // Replace every live page: every old handle goes stale, and reads of them return nothing.
      for (int i = 0; i < handles.length; i++) {
        if (tier.contains(4, i)) {
          assertTrue(tier.put(TestPages.page(4, i, 2, 500 + 50 * i)));
          assertNotEquals(handles[i], tier.handle(4, i));
        }
        assertTrue(tier.isStale(handles[i]));
        dst.clear().position(3);
        assertEquals(Tier.MISS, tier.read(handles[i], dst));
        assertEquals(3, dst.position(), "a stale handle is never read");
      }
    }
  }
}
