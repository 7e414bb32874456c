package io.kvstore.core.tier.dram;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.PageFormat;
import io.kvstore.core.policy.EvictionPolicy;
import io.kvstore.core.tier.PinnedPage;
import io.kvstore.core.tier.RecordingPolicy;
import io.kvstore.core.tier.TestPages;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** DRAM-tier behaviour beyond the tier contract: slabs, classes, rebalancing, parents. */
class DramTierSlabTest {

  private static final int KIB = 1024;

  /** Classes 4, 8, 16 KiB; slabs of 64 KiB; 4 slabs. */
  private static DramTier tier() {
    return DramTier.builder(256 * KIB, 16 * KIB).slabBytes(64 * KIB).growthFactor(2.0).build();
  }

  private static int payloadFor(int pageBytes) {
    return pageBytes - PageFormat.HEADER_LENGTH;
  }

  @Test
  void shouldAllocateSlabsLazilyAndAccountThem() {
    try (DramTier tier = tier()) {
      assertEquals(0, tier.usedBytes());
      assertTrue(tier.put(TestPages.page(1, 0, 1, payloadFor(4 * KIB))));
      assertEquals(64 * KIB, tier.usedBytes(), "one slab for the first page");
      assertEquals(4 * KIB, tier.storedBytes());
      for (int i = 1; i < 16; i++) {
        assertTrue(tier.put(TestPages.page(1, i, 1, payloadFor(4 * KIB))));
      }
      assertEquals(64 * KIB, tier.usedBytes(), "16 slots of 4 KiB fill one slab");
      assertTrue(tier.put(TestPages.page(1, 16, 1, 100)));
      assertEquals(128 * KIB, tier.usedBytes());
      assertEquals(2, tier.slabsOfClass(0));
      assertTrue(tier.put(TestPages.page(2, 0, 1, payloadFor(8 * KIB))));
      assertEquals(1, tier.slabsOfClass(1));
      assertEquals(3 * 64 * KIB, tier.usedBytes());
      assertTrue(tier.delete(1, 16));
      assertEquals(3 * 64 * KIB, tier.usedBytes(), "slabs stay allocated after deletes");
    }
  }

  @Test
  void shouldEvictWithinClassOnceCapacityIsAllocated() {
    try (DramTier tier = tier()) {
      List<Long> evicted = new ArrayList<>();
      tier.setEvictionListener((hi, lo, page) -> evicted.add(lo));
      for (int i = 0; i < 64; i++) {
        assertTrue(tier.put(TestPages.page(1, i, 1, payloadFor(4 * KIB))));
      }
      assertTrue(evicted.isEmpty(), "64 slots of 4 KiB fit exactly in 4 slabs");
      assertEquals(256 * KIB, tier.usedBytes());
      assertTrue(tier.put(TestPages.page(1, 64, 1, 10)));
      assertEquals(List.of(0L), evicted, "LRU victim of the same class");
    }
  }

  @Test
  void shouldMoveSlabToClassThatHasNone() {
    try (DramTier tier = tier()) {
      List<Long> evicted = new ArrayList<>();
      tier.setEvictionListener(
          (hi, lo, page) -> {
            TestPages.check(page, hi, lo);
            evicted.add(lo);
          });
      for (int i = 0; i < 64; i++) {
        assertTrue(tier.put(TestPages.page(1, i, 1, payloadFor(4 * KIB))));
      }
      PinnedPage pin = tier.pin(1, 0);
      assertNotNull(pin);
      assertTrue(tier.put(TestPages.page(2, 0, 1, payloadFor(16 * KIB))));
      assertEquals(16, evicted.size(), "one whole 4 KiB slab was released");
      assertFalse(evicted.contains(0L), "the slab with a pinned page is not released");
      assertEquals(3, tier.slabsOfClass(0));
      assertEquals(1, tier.slabsOfClass(2));
      assertEquals(256 * KIB, tier.usedBytes());
      assertEquals(49, tier.pageCount());
      pin.close();
    }
  }

  @Test
  void shouldRefuseWhenEverySlabHasAPinEvenIfOtherClassesHaveVictims() {
    try (DramTier tier = tier()) {
      List<PinnedPage> pins = new ArrayList<>();
      for (int i = 0; i < 64; i++) {
        assertTrue(tier.put(TestPages.page(1, i, 1, payloadFor(4 * KIB))));
        if (i % 16 == 0) {
          pins.add(tier.pin(1, i));
        }
      }
      long pages = tier.pageCount();
      assertFalse(tier.put(TestPages.page(2, 0, 1, payloadFor(16 * KIB))));
      assertEquals(pages, tier.pageCount());
      assertTrue(tier.put(TestPages.page(1, 100, 1, 10)), "its own class can still evict");
      pins.get(0).close();
      assertTrue(tier.put(TestPages.page(2, 0, 1, payloadFor(16 * KIB))), "slab 0 is free now");
      pins.forEach(PinnedPage::close);
    }
  }

  @Test
  void shouldMoveReplacedPageToItsNewClass() {
    try (DramTier tier = tier()) {
      assertTrue(tier.put(TestPages.page(1, 1, 1, 100)));
      assertTrue(tier.put(TestPages.page(1, 1, 2, payloadFor(16 * KIB))));
      assertEquals(PageFormat.pageLength(payloadFor(16 * KIB)), tier.storedBytes());
      ByteBuffer dst = ByteBuffer.allocate(16 * KIB);
      assertEquals(16 * KIB, tier.get(1, 1, dst));
      assertEquals(2, TestPages.check(dst.flip(), 1, 1));
      assertEquals(1, tier.pageCount());
    }
  }

  @Test
  void shouldPassParentOfSameClassToPolicy() {
    List<int[]> inserts = new ArrayList<>();
    try (DramTier tier =
        DramTier.builder(256 * KIB, 16 * KIB)
            .slabBytes(64 * KIB)
            .growthFactor(2.0)
            .policy(capacity -> new RecordingPolicy(capacity, inserts))
            .build()) {
      assertTrue(tier.put(TestPages.page(0, 10, 0, 0, 1, 100)));
      assertTrue(tier.put(TestPages.page(0, 11, 0, 10, 1, 200)));
      assertTrue(tier.put(TestPages.page(0, 12, 0, 11, 1, payloadFor(16 * KIB))));
      assertEquals(EvictionPolicy.NO_PARENT, inserts.get(0)[1]);
      assertEquals(inserts.get(0)[0], inserts.get(1)[1], "same class: the parent's policy id");
      assertEquals(EvictionPolicy.NO_PARENT, inserts.get(2)[1], "other class: no parent");
    }
  }

  @Test
  void shouldRejectImpossibleConfigurations() {
    assertThrows(IllegalArgumentException.class, () -> DramTier.builder(1000, 4096));
    assertThrows(IllegalArgumentException.class, () -> DramTier.builder(1 << 20, 10));
    assertThrows(
        IllegalArgumentException.class,
        () -> DramTier.builder(1 << 20, 16 * KIB).slabBytes(8 * KIB).build());
    assertThrows(
        IllegalArgumentException.class,
        () -> DramTier.builder(1 << 20, 16 * KIB).slabBytes(2 << 20).build());
  }

  @Test
  void shouldChooseDefaultSlabSize() {
    assertEquals(
        16 << 20,
        DramTier.builder(1L << 30, 64 * KIB).shards(4).build().slabBytes(),
        "preferred size");
    assertEquals(
        8 * (2 * 1024 * KIB + 64),
        DramTier.builder(1L << 34, 2 * 1024 * KIB + 64).shards(4).build().slabBytes(),
        "eight of the largest page");
    assertEquals(
        32 * KIB,
        DramTier.builder(256 * KIB, 16 * KIB).shards(2).build().slabBytes(),
        "four slabs for each of two shards");
    assertEquals(
        16 * KIB,
        DramTier.builder(256 * KIB, 16 * KIB).shards(16).build().slabBytes(),
        "never below the largest slot");
  }
}
