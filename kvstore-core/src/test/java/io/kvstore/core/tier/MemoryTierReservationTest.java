package io.kvstore.core.tier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.PageFormat;
import io.kvstore.core.memory.HostDeviceMemory;
import io.kvstore.core.tier.dram.DramTier;
import io.kvstore.core.tier.hot.HotTier;
import io.kvstore.core.tier.hot.HotTierStagedTest;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Reservations of the memory tiers (hot and DRAM, the shared slot engine) beyond the contract: a
 * reserved slot is never evicted nor handed to another page while it is filled, a tier full of
 * pinned pages makes none, and a reservation outlives a close of its tier (its memory is freed only
 * when it ends).
 */
class MemoryTierReservationTest {

  private static final int MAX_PAGE = 16 * 1024;
  private static final int PAYLOAD = MAX_PAGE - PageFormat.HEADER_LENGTH;

  static Stream<Arguments> tiers() {
    BiFunction<Long, Integer, Tier> hot = HotTier::create;
    BiFunction<Long, Integer, Tier> dram = (c, m) -> DramTier.builder(c, m).slabBytes(m).build();
    return Stream.of(Arguments.of("hot", hot), Arguments.of("dram", dram));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("tiers")
  void shouldNeverEvictOrReuseAReservedSlotWhileItIsFilled(
      String name, BiFunction<Long, Integer, Tier> factory) {
    try (Tier tier = factory.apply(4L * MAX_PAGE, MAX_PAGE)) {
      List<Long> evicted = new ArrayList<>();
      tier.setEvictionListener((hi, lo, page) -> evicted.add(lo));
      ByteBuffer mine = TestPages.page(1, 1, 1, PAYLOAD);
      long r = tier.reserve(1, 1, mine.remaining());
      assertNotEquals(Tier.NO_RESERVATION, r);
      tier.reservedPage(r).put(mine.duplicate());
      // Churn far more pages than the tier holds: every one evicts, none may land in the slot.
      for (int i = 0; i < 40; i++) {
        assertTrue(tier.put(TestPages.page(2, i, 1, PAYLOAD)), "page " + i);
      }
      assertFalse(evicted.isEmpty(), "the tier evicted to make room");
      assertEquals(Tier.MISS, tier.length(1, 1), "a reservation is not served before its commit");
      assertTrue(tier.commit(r));
      ByteBuffer dst = ByteBuffer.allocate(MAX_PAGE);
      assertEquals(mine.remaining(), tier.get(1, 1, dst));
      assertEquals(1, TestPages.check(dst.flip(), 1, 1), "the reserved slot kept its bytes");
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("tiers")
  void shouldMakeNoReservationWhenEverySlotIsPinned(
      String name, BiFunction<Long, Integer, Tier> factory) {
    try (Tier tier = factory.apply(4L * MAX_PAGE, MAX_PAGE)) {
      List<PinnedPage> pins = new ArrayList<>();
      try {
        for (int i = 0; tier.put(TestPages.page(3, i, 1, PAYLOAD)); i++) {
          PinnedPage p = tier.pin(3, i);
          assertNotNull(p);
          pins.add(p);
          assertTrue(i < 100, "the tier never filled up");
        }
        assertEquals(Tier.NO_RESERVATION, tier.reserve(4, 1, MAX_PAGE));
        pins.remove(0).close();
        long r = tier.reserve(4, 1, MAX_PAGE);
        assertNotEquals(Tier.NO_RESERVATION, r, "an unpinned page can be evicted for it");
        tier.abort(r);
      } finally {
        pins.forEach(PinnedPage::close);
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("tiers")
  void shouldKeepAReservationsMemoryUntilItEndsAfterTheTierCloses(
      String name, BiFunction<Long, Integer, Tier> factory) {
    Tier tier = factory.apply(4L * MAX_PAGE, MAX_PAGE);
    ByteBuffer page = TestPages.page(5, 1, 1, PAYLOAD);
    long committed = tier.reserve(5, 1, page.remaining());
    long aborted = tier.reserve(5, 2, page.remaining());
    ByteBuffer view = tier.reservedPage(committed);
    tier.close();
    view.put(page.duplicate()); // the memory is still the reservation's: no crash, no harm
    assertFalse(tier.commit(committed), "nothing is stored into a closed tier");
    tier.abort(aborted);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("tiers")
  void shouldReplaceTheKeysPageOnlyAtTheCommit(
      String name, BiFunction<Long, Integer, Tier> factory) {
    try (Tier tier = factory.apply(8L * MAX_PAGE, MAX_PAGE)) {
      assertTrue(tier.put(TestPages.page(6, 1, 1, 1000)));
      PinnedPage reader = tier.pin(6, 1);
      long r = tier.reserve(6, 1, PageFormat.pageLength(2000));
      tier.reservedPage(r).put(TestPages.page(6, 1, 2, 2000));
      assertEquals(PageFormat.pageLength(1000), tier.length(6, 1));
      assertTrue(tier.commit(r));
      assertEquals(PageFormat.pageLength(2000), tier.length(6, 1));
      assertEquals(1, TestPages.check(reader.buffer(), 6, 1), "a pin on the old page stays valid");
      reader.close();
      assertEquals(1, tier.pageCount());
    }
  }

  @org.junit.jupiter.api.Test
  void shouldOfferNoReservationsOnAHiddenBackend() {
    try (HotTier tier = HotTier.builder(4L * MAX_PAGE, MAX_PAGE)
        .memory((slabs, slabBytes) ->
            new HotTierStagedTest.HiddenFrames(new HostDeviceMemory(slabs, slabBytes)))
        .build()) {
      assertTrue(tier.put(TestPages.page(7, 1, 1, 100)));
      assertEquals(Tier.NO_RESERVATION, tier.reserve(7, 2, MAX_PAGE));
      assertFalse(tier.reservable(), "known hidden from now on");
      assertEquals(1, tier.pageCount(), "nothing evicted for a reservation it cannot make");
    }
  }
}
