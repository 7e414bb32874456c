package io.kvstore.core.policy;

import static io.kvstore.core.policy.EvictionPolicy.NO_PARENT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.Test;

class AdaptivePrefixLruPolicyTest {

  private static final IntPredicate ANY = id -> true;

  /** A policy with a fixed credit of {@code credit} x capacity ticks. */
  private static AdaptivePrefixLruPolicy fixed(int capacity, double credit) {
    return new AdaptivePrefixLruPolicy(capacity, credit, 0);
  }

  private static void chain(AdaptivePrefixLruPolicy p, int... ids) {
    int parent = NO_PARENT;
    for (int id : ids) {
      p.onInsert(id, parent);
      parent = id;
    }
  }

  @Test
  void shouldEvictAChainFromItsTail() {
    AdaptivePrefixLruPolicy p = fixed(8, 0);
    chain(p, 0, 1, 2);
    assertEquals(2, p.evict(ANY));
    assertEquals(1, p.evict(ANY));
    assertEquals(0, p.evict(ANY));
    assertEquals(-1, p.evict(ANY));
  }

  @Test
  void shouldEvictTheUnreadTailThatTheNextTurnWentPastFirst() {
    AdaptivePrefixLruPolicy p = fixed(8, 0);
    chain(p, 0, 1, 2); // turn 1: 2 is its (partial) last block
    p.onInsert(5, NO_PARENT); // another conversation
    p.onAccess(0); // turn 2 reads the full blocks ...
    p.onAccess(1);
    p.onInsert(3, 1); // ... and goes on past 2
    assertTrue(p.isSuperseded(2));
    assertEquals(2, p.evict(ANY));
    // Then plain leaf order: 5 (fresh, oldest), 3, and the chain up from 1.
    assertEquals(5, p.evict(ANY));
    assertEquals(3, p.evict(ANY));
    assertEquals(1, p.evict(ANY));
    assertEquals(0, p.evict(ANY));
  }

  @Test
  void shouldNotSupersedeALeafThatWasRead() {
    AdaptivePrefixLruPolicy p = fixed(8, 0);
    chain(p, 0, 1);
    p.onAccess(1);
    p.onInsert(2, 0);
    assertFalse(p.isSuperseded(1));
    p.onInsert(3, 2);
    p.onInsert(4, 2);
    // 3 was never read and 2 went on to 4: superseded; a read brings it back.
    assertTrue(p.isSuperseded(3));
    p.onAccess(3);
    assertFalse(p.isSuperseded(3));
  }

  @Test
  void shouldPreferTheFreshVictimWithinTheCreditOfTheReusedOne() {
    // Capacity 10, credit 0.5: a reused leaf counts 5 ticks younger than it is.
    AdaptivePrefixLruPolicy p = fixed(10, 0.5);
    p.onInsert(0, NO_PARENT); // tick 1
    p.onInsert(1, NO_PARENT); // tick 2
    p.onAccess(0); // tick 3: 0 is reused
    p.onInsert(2, NO_PARENT); // tick 4
    p.onInsert(3, NO_PARENT); // tick 5
    assertEquals(5, p.recencyCredit());
    assertEquals(1, p.evict(ANY));
    assertEquals(2, p.evict(ANY));
    assertEquals(3, p.evict(ANY)); // 5 <= 3 + 5
    assertEquals(0, p.evict(ANY));
  }

  @Test
  void shouldFallBackToPlainLeafLruWithoutCredit() {
    AdaptivePrefixLruPolicy p = fixed(10, 0);
    p.onInsert(0, NO_PARENT);
    p.onInsert(1, NO_PARENT);
    p.onAccess(0);
    p.onInsert(2, NO_PARENT);
    assertEquals(1, p.evict(ANY));
    assertEquals(0, p.evict(ANY));
    assertEquals(2, p.evict(ANY));
  }

  @Test
  void shouldSkipPinnedEntriesInEveryList() {
    AdaptivePrefixLruPolicy p = fixed(8, 0);
    chain(p, 0, 1, 2);
    p.onAccess(0);
    p.onAccess(1);
    p.onInsert(3, 1); // 2 superseded
    assertEquals(3, p.evict(id -> id != 2));
    // Leaves 1 and 2 pinned: the inner node 0 goes, 1 becomes a root.
    assertEquals(0, p.evict(id -> id == 0));
    assertEquals(NO_PARENT, p.parentOf(1));
    assertEquals(-1, p.evict(id -> false));
    assertEquals(2, p.size());
  }

  @Test
  void shouldKeepLinksConsistentWhenIdsAreReused() {
    AdaptivePrefixLruPolicy p = fixed(8, 0);
    chain(p, 0, 1, 2);
    p.onInsert(3, 0);
    p.onRemove(0);
    assertEquals(NO_PARENT, p.parentOf(1));
    assertEquals(NO_PARENT, p.parentOf(3));
    p.onInsert(0, 2); // id 0 reused for a child of 2
    assertEquals(2, p.parentOf(0));
    assertFalse(p.isSuperseded(0));
    p.onInsert(2, NO_PARENT); // id 2 replaced: its child 0 is a root now
    assertEquals(NO_PARENT, p.parentOf(0));
    assertEquals(4, p.size());
    List<Integer> drained = new ArrayList<>();
    for (int v = p.evict(ANY); v != -1; v = p.evict(ANY)) {
      drained.add(v);
    }
    // 1 lost its only child (the old page at 2) and is a leaf again, the oldest one.
    assertEquals(List.of(1, 3, 0, 2), drained);
  }

  @Test
  void shouldAdaptTheCreditEveryEpoch() {
    AdaptivePrefixLruPolicy p = new AdaptivePrefixLruPolicy(10);
    assertEquals(1, p.recencyCredit());
    // An epoch is 2 x capacity = 20 events; the first one always steps up by 0.1 x capacity.
    for (int i = 0; i < 20; i++) {
      p.onInsert(i % 10, NO_PARENT);
    }
    assertEquals(2, p.recencyCredit());
    p.reset();
    assertEquals(1, p.recencyCredit());
    assertEquals(0, p.size());
    assertEquals(-1, p.evict(ANY));
  }

  @Test
  void shouldRejectBadSettings() {
    assertThrows(IllegalArgumentException.class, () -> new AdaptivePrefixLruPolicy(0));
    assertThrows(IllegalArgumentException.class, () -> new AdaptivePrefixLruPolicy(4, 3, 0.1));
    assertThrows(IllegalArgumentException.class, () -> new AdaptivePrefixLruPolicy(4, 0.1, -1));
    AdaptivePrefixLruPolicy p = fixed(4, 0);
    assertThrows(IndexOutOfBoundsException.class, () -> p.onAccess(4));
    assertThrows(IndexOutOfBoundsException.class, () -> p.onInsert(1, -2));
  }

  @Test
  void shouldChooseTheSameVictimsAsANaiveModel() {
    for (long seed = 1; seed <= 20; seed++) {
      new Model(24, seed % 3 * 0.5).run(new SplittableRandom(seed), 5_000);
    }
  }

  /**
   * A naive model with a fixed credit: per id the tracked flag, parent, stamp, read flag,
   * superseded flag and link order; victims found by scanning all ids.
   */
  private static final class Model {
    final int capacity;
    final double credit;
    final AdaptivePrefixLruPolicy policy;
    final boolean[] tracked;
    final boolean[] read;
    final boolean[] superseded;
    final int[] parent;
    final long[] stamp;
    final long[] linked;
    long clock;
    long links;

    Model(int capacity, double credit) {
      this.capacity = capacity;
      this.credit = credit;
      policy = fixed(capacity, credit);
      tracked = new boolean[capacity];
      read = new boolean[capacity];
      superseded = new boolean[capacity];
      parent = new int[capacity];
      stamp = new long[capacity];
      linked = new long[capacity];
    }

    boolean hasChild(int id) {
      for (int i = 0; i < capacity; i++) {
        if (tracked[i] && parent[i] == id) {
          return true;
        }
      }
      return false;
    }

    void remove(int id) {
      tracked[id] = false;
      for (int i = 0; i < capacity; i++) {
        if (tracked[i] && parent[i] == id) {
          parent[i] = NO_PARENT;
        }
      }
    }

    void insert(int id, int p) {
      if (tracked[id]) {
        remove(id);
      }
      int q = p != NO_PARENT && p != id && tracked[p] ? p : NO_PARENT;
      if (q != NO_PARENT) {
        // The 8 most recently linked children of q.
        List<Integer> children = new ArrayList<>();
        for (int i = 0; i < capacity; i++) {
          if (tracked[i] && parent[i] == q) {
            children.add(i);
          }
        }
        children.sort((a, b) -> Long.compare(linked[b], linked[a]));
        for (int c : children.subList(0, Math.min(8, children.size()))) {
          if (!read[c] && !superseded[c] && !hasChild(c)) {
            superseded[c] = true;
          }
        }
      }
      tracked[id] = true;
      read[id] = false;
      superseded[id] = false;
      parent[id] = q;
      stamp[id] = ++clock;
      linked[id] = ++links;
    }

    int victim(IntPredicate evictable) {
      int sup = -1;
      int fresh = -1;
      int reused = -1;
      int inner = -1;
      for (int i = 0; i < capacity; i++) {
        if (!tracked[i] || !evictable.test(i)) {
          continue;
        }
        if (hasChild(i)) {
          inner = older(inner, i);
        } else if (superseded[i]) {
          sup = older(sup, i);
        } else if (read[i]) {
          reused = older(reused, i);
        } else {
          fresh = older(fresh, i);
        }
      }
      if (sup != -1) {
        return sup;
      }
      if (fresh != -1 && reused != -1) {
        return stamp[fresh] <= stamp[reused] + (long) (credit * capacity) ? fresh : reused;
      }
      if (fresh != -1 || reused != -1) {
        return fresh != -1 ? fresh : reused;
      }
      return inner;
    }

    int older(int a, int b) {
      return a == -1 || stamp[b] < stamp[a] ? b : a;
    }

    void run(SplittableRandom random, int operations) {
      for (int op = 0; op < operations; op++) {
        int id = random.nextInt(capacity);
        int kind = random.nextInt(10);
        if (kind < 4) {
          int p = random.nextInt(3) == 0 ? NO_PARENT : random.nextInt(capacity);
          policy.onInsert(id, p);
          insert(id, p);
        } else if (kind < 7) {
          policy.onAccess(id);
          if (tracked[id]) {
            stamp[id] = ++clock;
            read[id] = true;
            superseded[id] = false;
          }
        } else if (kind < 8) {
          policy.onRemove(id);
          if (tracked[id]) {
            remove(id);
          }
        } else {
          boolean[] pinned = new boolean[capacity];
          for (int i = 0; i < capacity; i++) {
            pinned[i] = random.nextInt(5) == 0;
          }
          int expected = victim(i -> !pinned[i]);
          assertEquals(expected, policy.evict(i -> !pinned[i]), "op " + op);
          if (expected != -1) {
            remove(expected);
          }
        }
        for (int i = 0; i < capacity; i++) {
          assertEquals(tracked[i] ? parent[i] : NO_PARENT, policy.parentOf(i), "parent of " + i);
          assertEquals(tracked[i] && superseded[i], policy.isSuperseded(i), "superseded " + i);
        }
      }
    }
  }
}
