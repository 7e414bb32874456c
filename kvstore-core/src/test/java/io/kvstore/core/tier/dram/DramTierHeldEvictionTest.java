package io.kvstore.core.tier.dram;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.PageFormat;
import io.kvstore.core.tier.EvictionListener;
import io.kvstore.core.tier.TestPages;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Evicted pages kept in their slots for write-back ({@link EvictionListener#onEvictHeld}): a held
 * page's bytes stay exact while the tier goes on taking puts, its slot comes back only when
 * released (once), the tier keeps room ahead for them, and a closed tier frees its memory only
 * after the last held page is back.
 */
class DramTierHeldEvictionTest {

  private static final int KIB = 1024;
  private static final int PAYLOAD = 4 * KIB - PageFormat.HEADER_LENGTH;
  /** Slots of 4 KiB: 64 in the tier, the hold-ahead target an eighth of them. */
  private static final int SLOTS = 64;
  private static final int AHEAD = SLOTS / 8;

  /** One class of 4 KiB (and larger ones unused); slabs of 64 KiB; 4 slabs; one shard. */
  private static DramTier tier() {
    return DramTier.builder(256 * KIB, 16 * KIB).slabBytes(64 * KIB).growthFactor(2.0).shards(1).build();
  }

  /** Holds every page offered (unless told to refuse or fail), records every eviction. */
  private static final class Holder implements EvictionListener {
    final List<Long> copied = new ArrayList<>();
    final List<Long> heldKeys = new ArrayList<>();
    final List<ByteBuffer> heldPages = new ArrayList<>();
    final List<Long> holds = new ArrayList<>();
    boolean refuse;
    boolean fail;

    @Override
    public void onEvict(long keyHi, long keyLo, ByteBuffer page) {
      assertEquals(1, TestPages.check(page, keyHi, keyLo));
      copied.add(keyLo);
    }

    @Override
    public boolean onEvictHeld(long keyHi, long keyLo, ByteBuffer page, long hold) {
      if (fail) {
        throw new IllegalStateException("injected listener failure");
      }
      if (refuse) {
        onEvict(keyHi, keyLo, page);
        return false;
      }
      heldKeys.add(keyLo);
      heldPages.add(page);
      holds.add(hold);
      return true;
    }

    @Override
    public long holdAheadBytes() {
      return 1L << 20;
    }

    void releaseAll(DramTier tier) {
      for (long h : holds) {
        tier.releaseHeld(h);
      }
      heldKeys.clear();
      heldPages.clear();
      holds.clear();
    }
  }

  private static void put(DramTier tier, long k) {
    assertTrue(tier.put(TestPages.page(1, k, 1, PAYLOAD)), "put of " + k);
  }

  @Test
  void shouldKeepHeldPagesExactUntilReleasedAndReuseTheirSlotsAfter() {
    try (DramTier tier = tier()) {
      Holder holder = new Holder();
      tier.setEvictionListener(holder);
      for (int k = 0; k < SLOTS - AHEAD; k++) {
        put(tier, k);
      }
      assertTrue(holder.copied.isEmpty() && holder.heldKeys.isEmpty(), "nothing evicted yet");
      // Every slab is in use and only the target is free: each put takes a free slot and evicts
      // one page ahead, held; once none is free, a put copies its victim and reuses its slot.
      for (int k = SLOTS - AHEAD; k < SLOTS; k++) {
        put(tier, k);
      }
      assertEquals(AHEAD, holder.heldKeys.size(), "held up to the target: " + holder.heldKeys);
      assertTrue(holder.copied.isEmpty());
      for (int k = SLOTS; k < SLOTS + 2 * AHEAD; k++) {
        put(tier, k);
      }
      assertEquals(AHEAD, holder.heldKeys.size(), "no more than the target held");
      assertEquals(2 * AHEAD, holder.copied.size());
      assertEquals(AHEAD * 4L * KIB, tier.heldBytes());
      assertEquals(SLOTS - AHEAD, tier.pageCount(), "held slots are not the tier's pages");
      assertEquals(256 * KIB, tier.usedBytes(), "held pages count as used memory");
      for (int i = 0; i < holder.heldKeys.size(); i++) {
        long k = holder.heldKeys.get(i);
        assertFalse(tier.contains(1, k), "a held page is no longer served by the tier");
        assertEquals(1, TestPages.check(holder.heldPages.get(i), 1, k), "held page " + k + " exact");
      }

      List<Long> released = new ArrayList<>(holder.heldKeys);
      holder.releaseAll(tier);
      assertEquals(0, tier.heldBytes());
      int copiedBefore = holder.copied.size();
      // The released slots are free: a put takes one and hands one more page over, uncopied.
      for (int k = 1000; k < 1000 + AHEAD; k++) {
        put(tier, k);
      }
      assertEquals(copiedBefore, holder.copied.size(), "no copy while free slots last");
      assertEquals(AHEAD, holder.heldKeys.size());
      assertFalse(holder.heldKeys.stream().anyMatch(released::contains));
      for (int k = 1000; k < 1000 + AHEAD; k++) {
        ByteBuffer dst = ByteBuffer.allocate(4 * KIB);
        assertEquals(4 * KIB, tier.get(1, k, dst));
        assertEquals(1, TestPages.check(dst.flip(), 1, k));
      }
      holder.releaseAll(tier);
    }
  }

  @Test
  void shouldRefuseAReleaseOfAPageNotHeld() {
    try (DramTier tier = tier()) {
      Holder holder = new Holder();
      tier.setEvictionListener(holder);
      for (int k = 0; k <= SLOTS; k++) {
        put(tier, k);
      }
      long hold = holder.holds.get(0);
      holder.releaseAll(tier);
      assertThrows(IllegalStateException.class, () -> tier.releaseHeld(hold), "released twice");
      assertThrows(IllegalStateException.class, () -> tier.releaseHeld(-5));
      assertThrows(IllegalStateException.class, () -> tier.releaseHeld(Integer.MAX_VALUE));
      assertEquals(0, tier.heldBytes());
      assertEquals(SLOTS - AHEAD, tier.pageCount(), "the released slots are free, the rest live");
      assertTrue(tier.put(TestPages.page(1, 999, 1, PAYLOAD)), "a free slot takes a put");
    }
  }

  @Test
  void shouldCopyLikeBeforeWhenTheListenerDoesNotHold() {
    try (DramTier tier = tier()) {
      Holder holder = new Holder();
      holder.refuse = true;
      tier.setEvictionListener(holder);
      for (int k = 0; k < SLOTS + 20; k++) {
        put(tier, k);
      }
      assertEquals(0, tier.heldBytes());
      assertTrue(holder.heldKeys.isEmpty());
      assertEquals(tier.pageCount() + holder.copied.size(), SLOTS + 20, "every page kept or told");
    }
  }

  @Test
  void shouldStayConsistentWhenTheListenerFailsOnAPageEvictedAhead() {
    try (DramTier tier = tier()) {
      Holder holder = new Holder();
      tier.setEvictionListener(holder);
      for (int k = 0; k < SLOTS; k++) {
        put(tier, k);
      }
      holder.releaseAll(tier); // free slots again: the next put evicts one page ahead
      holder.fail = true;
      // The put takes a free slot; the page evicted ahead fails in the listener: the put fails,
      // its slot is given back, the victim is gone (as with a failing onEvict).
      assertThrows(IllegalStateException.class, () -> tier.put(TestPages.page(1, 500, 1, PAYLOAD)));
      assertFalse(tier.contains(1, 500));
      assertEquals(0, tier.heldBytes());
      assertEquals(SLOTS - AHEAD - 1, tier.pageCount(), "the victim is gone, nothing else");
      holder.fail = false;
      for (int k = 600; k < 600 + SLOTS; k++) {
        put(tier, k);
      }
      assertEquals(SLOTS - holder.heldKeys.size(), tier.pageCount(), "every slot is accounted for");
      for (int k = 600 + SLOTS - 4; k < 600 + SLOTS; k++) {
        assertTrue(tier.contains(1, k));
      }
      holder.releaseAll(tier);
    }
  }

  @Test
  void shouldKeepHeldPagesReadableAfterCloseAndFreeThemOnRelease() {
    Holder holder = new Holder();
    DramTier tier = tier();
    tier.setEvictionListener(holder);
    for (int k = 0; k < SLOTS + AHEAD; k++) {
      put(tier, k);
    }
    assertEquals(AHEAD, holder.holds.size());
    tier.close();
    assertThrows(IllegalStateException.class, () -> tier.put(TestPages.page(1, 9, 1, PAYLOAD)));
    // The memory stays until the last held page is back: a write-back in flight reads it safely.
    for (int i = 0; i < holder.heldKeys.size(); i++) {
      assertEquals(1, TestPages.check(holder.heldPages.get(i), 1, holder.heldKeys.get(i)));
    }
    holder.releaseAll(tier); // releases work on a closed tier; the last one frees the memory
    assertEquals(0, tier.heldBytes());
  }
}
