package io.kvstore.core.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Drives every policy with random operations, as a tier would (inserts into free or reused ids with
 * random parents, accesses, removals, evictions under random pins), against a reference model that
 * only knows which ids are tracked: a policy must never return an untracked or pinned id, must
 * return one whenever some tracked id is evictable, and must never lose a tracked id.
 */
class PolicyConsistencyTest {

  static Stream<String> policies() {
    return Policies.names().stream();
  }

  @ParameterizedTest
  @MethodSource("policies")
  void shouldAgreeWithAReferenceModelUnderRandomOperations(String name) {
    for (long seed = 1; seed <= 5; seed++) {
      run(name, 64, 20_000, seed);
    }
    run(name, 1, 2_000, 9);
    run(name, 2, 2_000, 10);
  }

  private static void run(String name, int capacity, int operations, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    EvictionPolicy policy = Policies.create(name, capacity);
    BitSet tracked = new BitSet(capacity);
    BitSet pinned = new BitSet(capacity);
    String where = name + " capacity " + capacity + " seed " + seed;
    for (int op = 0; op < operations; op++) {
      int id = random.nextInt(capacity);
      int kind = random.nextInt(100);
      if (kind < 40) {
        int parent = random.nextInt(4) == 0 ? EvictionPolicy.NO_PARENT : random.nextInt(capacity);
        if (tracked.cardinality() == capacity && !tracked.get(id)) {
          continue;
        }
        policy.onInsert(id, parent);
        tracked.set(id);
      } else if (kind < 70) {
        policy.onAccess(id);
      } else if (kind < 80) {
        policy.onRemove(id);
        tracked.clear(id);
      } else if (kind < 99) {
        pinned.clear();
        for (int i = 0; i < capacity; i++) {
          if (random.nextInt(4) == 0) {
            pinned.set(i);
          }
        }
        int victim = policy.evict(i -> !pinned.get(i));
        BitSet evictable = (BitSet) tracked.clone();
        evictable.andNot(pinned);
        if (victim == -1) {
          assertTrue(evictable.isEmpty(), where + " op " + op + ": -1 with evictable " + evictable);
        } else {
          assertTrue(tracked.get(victim), where + " op " + op + ": untracked victim " + victim);
          assertFalse(pinned.get(victim), where + " op " + op + ": pinned victim " + victim);
          tracked.clear(victim);
        }
      } else {
        policy.reset();
        tracked.clear();
      }
    }
    BitSet drained = new BitSet(capacity);
    for (int victim = policy.evict(i -> true); victim != -1; victim = policy.evict(i -> true)) {
      assertFalse(drained.get(victim), where + ": evicted twice " + victim);
      drained.set(victim);
    }
    assertEquals(tracked, drained, where + ": tracked ids lost or invented");
  }
}
