package io.kvstore.core.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.function.IntPredicate;
import org.junit.jupiter.api.Test;

class LruPolicyTest {

  private static final IntPredicate ANY = id -> true;

  @Test
  void shouldEvictInInsertionOrderWithoutAccesses() {
    LruPolicy lru = new LruPolicy(4);
    for (int id = 0; id < 4; id++) {
      lru.onInsert(id, EvictionPolicy.NO_PARENT);
    }
    assertEquals(0, lru.evict(ANY));
    assertEquals(1, lru.evict(ANY));
    assertEquals(2, lru.size());
  }

  @Test
  void shouldMoveAccessedEntryToTheMostRecentEnd() {
    LruPolicy lru = new LruPolicy(3);
    lru.onInsert(0, EvictionPolicy.NO_PARENT);
    lru.onInsert(1, EvictionPolicy.NO_PARENT);
    lru.onInsert(2, EvictionPolicy.NO_PARENT);
    lru.onAccess(0);
    assertEquals(1, lru.evict(ANY));
    assertEquals(2, lru.evict(ANY));
    assertEquals(0, lru.evict(ANY));
    assertEquals(-1, lru.evict(ANY));
  }

  @Test
  void shouldSkipEntriesTheTierCannotEvict() {
    LruPolicy lru = new LruPolicy(3);
    lru.onInsert(0, EvictionPolicy.NO_PARENT);
    lru.onInsert(1, EvictionPolicy.NO_PARENT);
    lru.onInsert(2, EvictionPolicy.NO_PARENT);
    assertEquals(2, lru.evict(id -> id == 2));
    assertEquals(-1, lru.evict(id -> false));
    assertEquals(2, lru.size());
  }

  @Test
  void shouldForgetRemovedEntriesAndEverythingOnReset() {
    LruPolicy lru = new LruPolicy(3);
    lru.onInsert(0, EvictionPolicy.NO_PARENT);
    lru.onInsert(1, EvictionPolicy.NO_PARENT);
    lru.onRemove(0);
    lru.onRemove(0);
    lru.onAccess(0);
    assertEquals(1, lru.evict(ANY));
    lru.onInsert(2, EvictionPolicy.NO_PARENT);
    lru.reset();
    assertEquals(0, lru.size());
    assertEquals(-1, lru.evict(ANY));
  }

  @Test
  void shouldRejectNonPositiveCapacity() {
    assertThrows(IllegalArgumentException.class, () -> new LruPolicy(0));
  }
}
