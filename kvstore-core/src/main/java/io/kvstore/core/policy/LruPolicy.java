package io.kvstore.core.policy;

import java.util.function.IntPredicate;

/**
 * Least recently used: evicts the entry whose last insert or access is oldest.
 *
 * <p>Implementation: an intrusive doubly linked list over two {@code int[]} arrays indexed by entry
 * id ({@code prev}, {@code next}), head = most recent, tail = least recent. O(1) per operation, no
 * object per entry. {@link #evict} walks from the tail past entries the tier cannot evict (pinned).
 */
public final class LruPolicy implements EvictionPolicy {

  private final IdDeque order;
  private final boolean[] tracked;

  /** A policy for ids in {@code [0, capacity)}. */
  public LruPolicy(int capacity) {
    if (capacity <= 0) {
      throw new IllegalArgumentException("capacity must be positive: " + capacity);
    }
    order = new IdDeque(new int[capacity], new int[capacity]);
    tracked = new boolean[capacity];
  }

  @Override
  public String name() {
    return "lru";
  }

  @Override
  public void onInsert(int id, int parentId) {
    if (tracked[id]) {
      order.moveToHead(id);
    } else {
      order.pushHead(id);
      tracked[id] = true;
    }
  }

  @Override
  public void onAccess(int id) {
    if (tracked[id]) {
      order.moveToHead(id);
    }
  }

  @Override
  public void onRemove(int id) {
    if (tracked[id]) {
      order.unlink(id);
      tracked[id] = false;
    }
  }

  @Override
  public int evict(IntPredicate evictable) {
    for (int id = order.tail(); id != IdDeque.NIL; id = order.towardsHead(id)) {
      if (evictable.test(id)) {
        onRemove(id);
        return id;
      }
    }
    return IdDeque.NIL;
  }

  @Override
  public void reset() {
    while (!order.isEmpty()) {
      onRemove(order.tail());
    }
  }

  /** Number of tracked entries. */
  public int size() {
    return order.size();
  }
}
