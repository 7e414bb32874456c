package io.kvstore.core.policy;

import java.util.Arrays;
import java.util.function.IntPredicate;

/**
 * Least recently used: evicts the entry whose last insert or access is oldest.
 *
 * <p>Implementation: an intrusive doubly linked list over two {@code int[]} arrays indexed by entry
 * id ({@code prev}, {@code next}), head = most recent, tail = least recent. O(1) per operation, no
 * object per entry. {@link #evict} walks from the tail past entries the tier cannot evict (pinned).
 */
public final class LruPolicy implements EvictionPolicy {

  private static final int NIL = -1;

  private final int[] prev;
  private final int[] next;
  private final boolean[] tracked;
  private int head = NIL;
  private int tail = NIL;
  private int size;

  /** A policy for ids in {@code [0, capacity)}. */
  public LruPolicy(int capacity) {
    if (capacity <= 0) {
      throw new IllegalArgumentException("capacity must be positive: " + capacity);
    }
    prev = new int[capacity];
    next = new int[capacity];
    tracked = new boolean[capacity];
  }

  @Override
  public String name() {
    return "lru";
  }

  @Override
  public void onInsert(int id, int parentId) {
    if (tracked[id]) {
      unlink(id);
    }
    pushHead(id);
  }

  @Override
  public void onAccess(int id) {
    if (tracked[id] && head != id) {
      unlink(id);
      pushHead(id);
    }
  }

  @Override
  public void onRemove(int id) {
    if (tracked[id]) {
      unlink(id);
    }
  }

  @Override
  public int evict(IntPredicate evictable) {
    for (int id = tail; id != NIL; id = prev[id]) {
      if (evictable.test(id)) {
        unlink(id);
        return id;
      }
    }
    return NIL;
  }

  @Override
  public void reset() {
    Arrays.fill(tracked, false);
    head = tail = NIL;
    size = 0;
  }

  /** Number of tracked entries. */
  public int size() {
    return size;
  }

  private void pushHead(int id) {
    prev[id] = NIL;
    next[id] = head;
    if (head != NIL) {
      prev[head] = id;
    } else {
      tail = id;
    }
    head = id;
    tracked[id] = true;
    size++;
  }

  private void unlink(int id) {
    int p = prev[id];
    int n = next[id];
    if (p != NIL) {
      next[p] = n;
    } else {
      head = n;
    }
    if (n != NIL) {
      prev[n] = p;
    } else {
      tail = p;
    }
    tracked[id] = false;
    size--;
  }
}
