package io.kvstore.core.policy;

import static io.kvstore.core.policy.EvictionPolicy.NO_PARENT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.Test;

class PrefixAwareLruPolicyTest {

  private static final IntPredicate ANY = id -> true;

  /** Inserts a chain of ids, each the child of the one before. */
  private static void chain(PrefixAwareLruPolicy p, int... ids) {
    int parent = NO_PARENT;
    for (int id : ids) {
      p.onInsert(id, parent);
      parent = id;
    }
  }

  @Test
  void shouldEvictAChainFromItsTailNotItsRoot() {
    PrefixAwareLruPolicy p = new PrefixAwareLruPolicy(8);
    chain(p, 0, 1, 2);
    // Plain LRU would take 0 first (the oldest); a prefix cache must keep the root longest.
    assertEquals(2, p.evict(ANY));
    assertEquals(1, p.evict(ANY));
    assertEquals(0, p.evict(ANY));
    assertEquals(-1, p.evict(ANY));
  }

  @Test
  void shouldPreferTheLeastRecentLeafAcrossChains() {
    PrefixAwareLruPolicy p = new PrefixAwareLruPolicy(8);
    chain(p, 0, 1); // older chain
    chain(p, 2, 3); // newer chain
    assertEquals(1, p.evict(ANY));
    // 0 is a leaf now, with the recency of its own last use: older than 3.
    assertEquals(0, p.evict(ANY));
    assertEquals(3, p.evict(ANY));
    assertEquals(2, p.evict(ANY));
  }

  @Test
  void shouldPlaceANewLeafByItsOwnRecency() {
    PrefixAwareLruPolicy p = new PrefixAwareLruPolicy(8);
    chain(p, 0, 1); // stamps 1, 2
    p.onInsert(2, NO_PARENT); // stamp 3
    p.onAccess(0); // stamp 4: 0 is more recent than 2 now
    assertEquals(1, p.evict(ANY));
    // 0 turned leaf with stamp 4, so 2 (stamp 3) goes first.
    assertEquals(2, p.evict(ANY));
    assertEquals(0, p.evict(ANY));
  }

  @Test
  void shouldKeepAParentWhileAnyChildIsCached() {
    PrefixAwareLruPolicy p = new PrefixAwareLruPolicy(8);
    p.onInsert(0, NO_PARENT);
    p.onInsert(1, 0);
    p.onInsert(2, 0);
    p.onInsert(3, NO_PARENT);
    assertEquals(2, p.childCount(0));
    assertEquals(1, p.evict(ANY));
    assertEquals(2, p.evict(ANY));
    assertEquals(0, p.evict(ANY));
    assertEquals(3, p.evict(ANY));
  }

  @Test
  void shouldOrphanChildrenWhenTheirParentIsRemoved() {
    PrefixAwareLruPolicy p = new PrefixAwareLruPolicy(8);
    chain(p, 0, 1, 2);
    p.onInsert(3, 0);
    p.onRemove(0);
    assertEquals(NO_PARENT, p.parentOf(1));
    assertEquals(NO_PARENT, p.parentOf(3));
    assertEquals(1, p.childCount(1));
    // The id is reused for an unrelated block: it must start with no children.
    p.onInsert(0, NO_PARENT);
    assertEquals(0, p.childCount(0));
    // Removing the old children must not touch the new page at id 0.
    p.onRemove(3);
    p.onRemove(1);
    assertEquals(0, p.childCount(0));
    assertEquals(NO_PARENT, p.parentOf(2));
    assertEquals(2, p.size());
    assertEquals(2, p.evict(ANY));
    assertEquals(0, p.evict(ANY));
    assertEquals(-1, p.evict(ANY));
  }

  @Test
  void shouldDetachOldChildrenWhenATrackedIdIsInsertedAgain() {
    PrefixAwareLruPolicy p = new PrefixAwareLruPolicy(8);
    chain(p, 0, 1);
    p.onInsert(2, NO_PARENT);
    // id 0 now holds a different page, a child of 2.
    p.onInsert(0, 2);
    assertEquals(NO_PARENT, p.parentOf(1));
    assertEquals(2, p.parentOf(0));
    assertEquals(1, p.childCount(2));
    assertEquals(0, p.childCount(0));
    assertEquals(3, p.size());
    assertEquals(1, p.evict(ANY));
    assertEquals(0, p.evict(ANY));
    assertEquals(2, p.evict(ANY));
  }

  @Test
  void shouldTreatAnUntrackedOrSelfParentAsNoParent() {
    PrefixAwareLruPolicy p = new PrefixAwareLruPolicy(4);
    p.onInsert(1, 3);
    p.onInsert(2, 2);
    assertEquals(NO_PARENT, p.parentOf(1));
    assertEquals(NO_PARENT, p.parentOf(2));
    assertEquals(1, p.evict(ANY));
  }

  @Test
  void shouldSkipPinnedLeavesAndFallBackToInnerNodes() {
    PrefixAwareLruPolicy p = new PrefixAwareLruPolicy(8);
    chain(p, 0, 1, 2);
    p.onInsert(3, NO_PARENT);
    // 2 and 3 are the leaves; 2 is pinned.
    assertEquals(3, p.evict(id -> id != 2));
    // Only inner nodes are evictable: the least recent one goes, its child becomes a root.
    assertEquals(0, p.evict(id -> id != 2));
    assertEquals(NO_PARENT, p.parentOf(1));
    assertEquals(-1, p.evict(id -> false));
    assertEquals(2, p.size());
  }

  @Test
  void shouldForgetEverythingOnReset() {
    PrefixAwareLruPolicy p = new PrefixAwareLruPolicy(4);
    chain(p, 0, 1, 2);
    p.reset();
    assertEquals(0, p.size());
    assertFalse(p.contains(1));
    assertEquals(-1, p.evict(ANY));
    chain(p, 1, 0);
    assertTrue(p.contains(0));
    assertEquals(0, p.evict(ANY));
    assertEquals(1, p.evict(ANY));
  }

  @Test
  void shouldRejectIdsOutsideTheCapacity() {
    PrefixAwareLruPolicy p = new PrefixAwareLruPolicy(4);
    assertThrows(IndexOutOfBoundsException.class, () -> p.onInsert(4, NO_PARENT));
    assertThrows(IndexOutOfBoundsException.class, () -> p.onInsert(0, 7));
    assertThrows(IllegalArgumentException.class, () -> new PrefixAwareLruPolicy(0));
  }

  @Test
  void shouldChooseTheSameVictimsAsANaiveModel() {
    for (long seed = 1; seed <= 20; seed++) {
      compareWithModel(32, 5_000, seed);
    }
  }

  /**
   * The naive model: per id a stamp and a parent; a leaf is a tracked id that no tracked id names as
   * its parent; the victim is the evictable leaf with the smallest stamp, else the evictable inner
   * node with the smallest stamp. Removing an id clears its children's parent.
   */
  private static void compareWithModel(int capacity, int operations, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    PrefixAwareLruPolicy policy = new PrefixAwareLruPolicy(capacity);
    boolean[] tracked = new boolean[capacity];
    int[] parent = new int[capacity];
    long[] stamp = new long[capacity];
    long clock = 0;
    for (int op = 0; op < operations; op++) {
      int id = random.nextInt(capacity);
      int kind = random.nextInt(10);
      if (kind < 4) {
        int p = random.nextInt(3) == 0 ? NO_PARENT : random.nextInt(capacity);
        policy.onInsert(id, p);
        if (tracked[id]) {
          modelRemove(id, tracked, parent);
        }
        tracked[id] = true;
        parent[id] = p != NO_PARENT && p != id && tracked[p] ? p : NO_PARENT;
        stamp[id] = ++clock;
      } else if (kind < 7) {
        policy.onAccess(id);
        if (tracked[id]) {
          stamp[id] = ++clock;
        }
      } else if (kind < 8) {
        policy.onRemove(id);
        if (tracked[id]) {
          modelRemove(id, tracked, parent);
        }
      } else {
        boolean[] pinned = new boolean[capacity];
        for (int i = 0; i < capacity; i++) {
          pinned[i] = random.nextInt(5) == 0;
        }
        int expected = modelVictim(tracked, parent, stamp, pinned);
        assertEquals(expected, policy.evict(i -> !pinned[i]), "seed " + seed + " op " + op);
        if (expected != -1) {
          modelRemove(expected, tracked, parent);
        }
      }
      for (int i = 0; i < capacity; i++) {
        assertEquals(tracked[i] ? parent[i] : NO_PARENT, policy.parentOf(i), "parent of " + i);
      }
    }
  }

  private static void modelRemove(int id, boolean[] tracked, int[] parent) {
    tracked[id] = false;
    for (int i = 0; i < tracked.length; i++) {
      if (tracked[i] && parent[i] == id) {
        parent[i] = NO_PARENT;
      }
    }
  }

  private static int modelVictim(boolean[] tracked, int[] parent, long[] stamp, boolean[] pinned) {
    boolean[] hasChild = new boolean[tracked.length];
    for (int i = 0; i < tracked.length; i++) {
      if (tracked[i] && parent[i] != NO_PARENT) {
        hasChild[parent[i]] = true;
      }
    }
    for (boolean leavesOnly : new boolean[] {true, false}) {
      int best = -1;
      for (int i = 0; i < tracked.length; i++) {
        if (tracked[i] && !pinned[i] && hasChild[i] != leavesOnly
            && (best == -1 || stamp[i] < stamp[best])) {
          best = i;
        }
      }
      if (best != -1) {
        return best;
      }
    }
    return -1;
  }
}
