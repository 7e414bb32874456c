package io.kvstore.core.policy;

import static io.kvstore.core.policy.EvictionPolicy.NO_PARENT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.IntPredicate;
import org.junit.jupiter.api.Test;

class WindowTinyLfuPolicyTest {

  private static final IntPredicate ANY = id -> true;

  /**
   * Capacity 10 with a 20% window (2 entries) and a 50% protected share (4 of the 8 main entries),
   * filled with ids 0..9: window = [9, 8] (8 is its LRU), probation = [7 .. 0] (0 is its LRU).
   */
  private static WindowTinyLfuPolicy filled() {
    WindowTinyLfuPolicy p = new WindowTinyLfuPolicy(10, 0.2, 0.5);
    for (int id = 0; id < 10; id++) {
      p.onInsert(id, NO_PARENT);
    }
    return p;
  }

  @Test
  void shouldEvictTheCandidateWhenItIsNoMoreFrequentThanTheVictim() {
    WindowTinyLfuPolicy p = filled();
    assertEquals(8, p.evict(ANY));
    assertFalse(p.contains(8));
    assertEquals(9, p.size());
  }

  @Test
  void shouldAdmitAMoreFrequentCandidateAndEvictTheProbationVictim() {
    WindowTinyLfuPolicy p = filled();
    p.onAccess(8);
    p.onAccess(9);
    // Candidate 8 (seen twice) beats victim 0 (seen once) and moves to probation.
    assertEquals(0, p.evict(ANY));
    assertTrue(p.contains(8));
    // The window is below its share now: no duel, the probation LRU goes.
    assertEquals(1, p.evict(ANY));
  }

  @Test
  void shouldPromoteProbationHitsAndDemoteProtectedOverflow() {
    WindowTinyLfuPolicy p = filled();
    for (int id = 0; id <= 4; id++) {
      p.onAccess(id);
    }
    // Protected holds 4: the fifth promotion demoted 0 to the head of probation [0, 7, 6, 5].
    int[] expected = {8, 5, 6, 7, 0, 1, 2, 3, 4, 9};
    for (int victim : expected) {
      assertEquals(victim, p.evict(ANY));
    }
    assertEquals(-1, p.evict(ANY));
  }

  @Test
  void shouldEvictTheDuelWinnerWhenTheLoserIsPinned() {
    WindowTinyLfuPolicy p = filled();
    // 8 would lose the duel against 0 but is pinned: 0 goes and 8 moves to the main space.
    assertEquals(0, p.evict(id -> id != 8));
    assertTrue(p.contains(8));
    // Everything but 5 pinned: the scan finds it.
    assertEquals(5, p.evict(id -> id == 5));
    assertEquals(-1, p.evict(id -> false));
  }

  @Test
  void shouldStartAReusedIdAtAFreshFrequency() {
    WindowTinyLfuPolicy p = filled();
    p.onAccess(8);
    p.onAccess(8);
    p.onAccess(8);
    assertEquals(4, p.frequency(8));
    p.onRemove(8);
    assertEquals(0, p.frequency(8));
    p.onInsert(8, NO_PARENT);
    assertEquals(1, p.frequency(8));
  }

  @Test
  void shouldForgetEverythingOnReset() {
    WindowTinyLfuPolicy p = filled();
    p.reset();
    assertEquals(0, p.size());
    assertEquals(-1, p.evict(ANY));
    p.onInsert(3, NO_PARENT);
    assertEquals(3, p.evict(ANY));
  }

  @Test
  void shouldRejectBadShares() {
    assertThrows(IllegalArgumentException.class, () -> new WindowTinyLfuPolicy(10, 0, 0.5));
    assertThrows(IllegalArgumentException.class, () -> new WindowTinyLfuPolicy(10, 0.1, 1.0));
    assertThrows(IllegalArgumentException.class, () -> new WindowTinyLfuPolicy(0));
  }
}
