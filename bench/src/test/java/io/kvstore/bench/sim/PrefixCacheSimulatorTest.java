package io.kvstore.bench.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.bench.trace.Trace;
import io.kvstore.core.policy.AdmissionPolicy;
import io.kvstore.core.policy.EvictionPolicy;
import io.kvstore.core.policy.LruPolicy;
import io.kvstore.core.policy.PrefixAwareLruPolicy;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.Test;

class PrefixCacheSimulatorTest {

  @Test
  void shouldCountOnlyTheLeadingRunOfPresentBlocks() {
    Trace t = SimTraces.of(new long[] {1, 2, 3}, new long[] {1, 2, 4}, new long[] {5, 2, 3});
    SimResult r = PrefixCacheSimulator.run(t, new LruPolicy(16), 16);
    // Request 2 hits 1, 2; request 3 misses at 5, so its present 2 and 3 do not count.
    assertEquals(2, r.hitBlocks());
    assertEquals(9, r.references());
    assertEquals(2.0 / 9, r.hitRatio(), 1e-12);
    assertEquals(5, r.insertions());
    assertEquals(0, r.evictions());
  }

  @Test
  void shouldLetARequestEvictItsOwnBlocks() {
    Trace t = SimTraces.of(new long[] {1, 2, 3}, new long[] {1, 2});
    // LRU keeps {2, 3}: the root 1 went first, so the second request misses at once.
    SimResult lru = PrefixCacheSimulator.run(t, new LruPolicy(2), 2);
    assertEquals(0, lru.hitBlocks());
    assertEquals(3, lru.evictions());
    // Prefix-aware LRU evicts the leaf 2 for 3 and keeps the root: one hit.
    SimResult prefix = PrefixCacheSimulator.run(t, new PrefixAwareLruPolicy(2), 2);
    assertEquals(1, prefix.hitBlocks());
  }

  @Test
  void shouldGiveThePreviousCachedBlockAsParent() {
    Trace t = SimTraces.of(new long[] {7, 8, 9}, new long[] {7, 5});
    Recording policy = new Recording(8);
    PrefixCacheSimulator.run(t, policy, 8);
    assertEquals(List.of("insert 0 -1", "insert 1 0", "insert 2 1", "access 0", "insert 3 0"),
        policy.events);
  }

  @Test
  void shouldLeaveOutRejectedBlocksAndTheirParentLink() {
    Trace t = SimTraces.of(new long[] {7, 8, 9});
    Recording policy = new Recording(8);
    AdmissionPolicy notEight = new AdmissionPolicy() {
      @Override
      public String name() {
        return "not-8";
      }

      @Override
      public void record(long keyHi, long keyLo) {}

      @Override
      public boolean admit(long keyHi, long keyLo) {
        return keyLo != 8;
      }
    };
    SimResult r = PrefixCacheSimulator.run(t, policy, 8, notEight);
    assertEquals(List.of("insert 0 -1", "insert 1 -1"), policy.events);
    assertEquals(2, r.insertions());
  }

  @Test
  void shouldRejectAPolicyThatReturnsNoVictimWhenFull() {
    Trace t = SimTraces.of(new long[] {1, 2});
    EvictionPolicy broken = new Recording(1) {
      @Override
      public int evict(IntPredicate evictable) {
        return -1;
      }
    };
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> PrefixCacheSimulator.run(t, broken, 1));
    assertTrue(e.getMessage().contains("evict()"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> PrefixCacheSimulator.run(t, new LruPolicy(1), 0));
  }

  /** LRU that records what the simulator tells it. */
  private static class Recording implements EvictionPolicy {
    final List<String> events = new ArrayList<>();
    private final LruPolicy lru;

    Recording(int capacity) {
      lru = new LruPolicy(capacity);
    }

    @Override
    public String name() {
      return "recording";
    }

    @Override
    public void onInsert(int id, int parentId) {
      events.add("insert " + id + " " + parentId);
      lru.onInsert(id, parentId);
    }

    @Override
    public void onAccess(int id) {
      events.add("access " + id);
      lru.onAccess(id);
    }

    @Override
    public void onRemove(int id) {
      events.add("remove " + id);
      lru.onRemove(id);
    }

    @Override
    public int evict(IntPredicate evictable) {
      return lru.evict(evictable);
    }

    @Override
    public void reset() {
      lru.reset();
    }
  }
}
