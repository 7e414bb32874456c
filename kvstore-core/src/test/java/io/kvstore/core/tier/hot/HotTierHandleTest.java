package io.kvstore.core.tier.hot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.PageFormat;
import io.kvstore.core.policy.EvictionPolicy;
import io.kvstore.core.tier.PinnedPage;
import io.kvstore.core.tier.RecordingPolicy;
import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.TestPages;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Hot-tier behaviour beyond the tier contract: handles, staleness, retired frames, parents. */
class HotTierHandleTest {

  private static final int FRAME = 4096;

  @Test
  void shouldDetectStaleHandleAfterDeleteAndFrameReuse() {
    try (HotTier tier = HotTier.create(2 * FRAME, FRAME)) {
      assertTrue(tier.put(TestPages.page(1, 1, 1, 500)));
      long handle = tier.handle(1, 1);
      assertFalse(MemoryHandle.isNone(handle));
      assertFalse(tier.isStale(handle));
      ByteBuffer dst = ByteBuffer.allocate(FRAME);
      assertEquals(PageFormat.pageLength(500), tier.read(handle, dst));
      TestPages.check(dst.flip(), 1, 1);

      assertTrue(tier.delete(1, 1));
      assertTrue(tier.put(TestPages.page(2, 2, 1, 700)));
      long reused = tier.handle(2, 2);
      assertEquals(MemoryHandle.frame(handle), MemoryHandle.frame(reused), "the frame is reused");
      assertNotEquals(MemoryHandle.generation(handle), MemoryHandle.generation(reused));

      assertTrue(tier.isStale(handle));
      dst.clear().position(11);
      assertEquals(Tier.MISS, tier.read(handle, dst), "a stale handle must never be read");
      assertEquals(11, dst.position());
      assertNull(tier.pin(handle));
      assertEquals(Tier.MISS, tier.length(handle));
      assertFalse(tier.isStale(reused));
    }
  }

  @Test
  void shouldMakeHandlesStaleOnEvictionAndReplacement() {
    try (HotTier tier = HotTier.create(FRAME, FRAME)) {
      assertTrue(tier.put(TestPages.page(1, 1, 1, 100)));
      long first = tier.handle(1, 1);
      assertTrue(tier.put(TestPages.page(1, 2, 1, 100)));
      assertFalse(tier.contains(1, 1), "one frame: the first page is evicted");
      assertTrue(tier.isStale(first));

      long second = tier.handle(1, 2);
      assertTrue(tier.put(TestPages.page(1, 2, 2, 200)));
      assertTrue(tier.isStale(second), "a replaced page's old handle is stale");
      long third = tier.handle(1, 2);
      assertEquals(2, TestPages.check(pinned(tier, third), 1, 2));
    }
  }

  @Test
  void shouldTreatNoneAndOutOfRangeHandlesAsStale() {
    try (HotTier tier = HotTier.create(2 * FRAME, FRAME)) {
      assertTrue(tier.isStale(MemoryHandle.NONE));
      assertTrue(tier.isStale(MemoryHandle.of(5, 0)));
      assertTrue(tier.isStale(MemoryHandle.of(0, 0)), "a free frame names no page");
      assertEquals(MemoryHandle.NONE, tier.handle(9, 9));
    }
  }

  @Test
  void shouldPackHandles() {
    long handle = MemoryHandle.of(123, -7);
    assertEquals(123, MemoryHandle.frame(handle));
    assertEquals(-7, MemoryHandle.generation(handle));
    assertNotEquals(MemoryHandle.NONE, MemoryHandle.of(Integer.MAX_VALUE, -1));
  }

  @Test
  void shouldKeepRetiredFrameUntilLastUnpin() {
    try (HotTier tier = HotTier.create(2 * FRAME, FRAME)) {
      List<Long> evicted = new ArrayList<>();
      tier.setEvictionListener((hi, lo, page) -> evicted.add(lo));
      assertTrue(tier.put(TestPages.page(1, 1, 1, 1000)));
      PinnedPage pin = tier.pin(1, 1);
      assertNotNull(pin);
      long handle = tier.handle(1, 1);
      assertTrue(tier.put(TestPages.page(1, 1, 2, 1000)), "replacing a pinned page");
      assertTrue(tier.isStale(handle));
      assertEquals(2 * FRAME, tier.usedBytes(), "the retired frame still counts");
      assertEquals(1, tier.pageCount());

      assertTrue(tier.put(TestPages.page(1, 2, 1, 1000)));
      assertEquals(List.of(1L), evicted, "the live version goes, never the pinned retired frame");
      assertEquals(1, TestPages.check(pin.buffer(), 1, 1), "the pinned old version is intact");
      pin.close();
      assertEquals(FRAME, tier.usedBytes(), "the last unpin frees the retired frame");
      assertEquals(1, tier.pageCount());
    }
  }

  @Test
  void shouldPassResidentParentToPolicy() {
    List<int[]> inserts = new ArrayList<>();
    try (HotTier tier = HotTier.create(4 * FRAME, FRAME, capacity -> new RecordingPolicy(capacity, inserts))) {
      assertTrue(tier.put(TestPages.page(0, 10, 0, 0, 1, 100)));
      assertTrue(tier.put(TestPages.page(0, 11, 0, 10, 1, 100)));
      assertTrue(tier.put(TestPages.page(0, 12, 0, 99, 1, 100)));
      int parentFrame = MemoryHandle.frame(tier.handle(0, 10));
      assertEquals(EvictionPolicy.NO_PARENT, inserts.get(0)[1]);
      assertEquals(parentFrame, inserts.get(1)[1]);
      assertEquals(EvictionPolicy.NO_PARENT, inserts.get(2)[1], "absent parent");
    }
  }

  private static ByteBuffer pinned(HotTier tier, long handle) {
    try (PinnedPage pin = tier.pin(handle)) {
      ByteBuffer copy = ByteBuffer.allocate(pin.buffer().remaining());
      copy.put(pin.buffer().duplicate()).flip();
      return copy;
    }
  }
}
