package io.kvstore.core.policy;

import java.util.function.IntPredicate;

/**
 * An intrusive doubly linked list of entry ids over {@code int[]} link arrays that several lists may
 * share (an id is in at most one of them at a time), so a policy with segments (window, probation,
 * protected; leaves, inner nodes) keeps one pair of link arrays and makes no object per entry.
 *
 * <p>Head = most recently placed, tail = next candidate for eviction. Every operation is O(1)
 * except {@link #insertByStamp}, which walks to the position that keeps the list sorted by a
 * recency stamp.
 */
final class IdDeque {

  static final int NIL = -1;

  private final int[] prev;
  private final int[] next;
  private int head = NIL;
  private int tail = NIL;
  private int size;

  IdDeque(int[] prev, int[] next) {
    this.prev = prev;
    this.next = next;
  }

  int head() {
    return head;
  }

  int tail() {
    return tail;
  }

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }

  /** The id after {@code id} towards the tail, or {@link #NIL}. */
  int towardsTail(int id) {
    return next[id];
  }

  /** The id before {@code id} towards the head, or {@link #NIL}. */
  int towardsHead(int id) {
    return prev[id];
  }

  void pushHead(int id) {
    prev[id] = NIL;
    next[id] = head;
    if (head != NIL) {
      prev[head] = id;
    } else {
      tail = id;
    }
    head = id;
    size++;
  }

  void pushTail(int id) {
    next[id] = NIL;
    prev[id] = tail;
    if (tail != NIL) {
      next[tail] = id;
    } else {
      head = id;
    }
    tail = id;
    size++;
  }

  /** Removes {@code id}, which must be in this list. */
  void unlink(int id) {
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
    prev[id] = NIL;
    next[id] = NIL;
    size--;
  }

  /** Moves {@code id}, which must be in this list, to the head. */
  void moveToHead(int id) {
    if (head != id) {
      unlink(id);
      pushHead(id);
    }
  }

  /**
   * Inserts {@code id} so that stamps stay non-increasing from head to tail (a list kept in recency
   * order), placing it after entries with the same stamp. It walks from the end nearer in stamp,
   * which is O(1) in the common cases (a node that turns into a leaf is usually among the oldest; a
   * node that gains a child was usually just used).
   */
  void insertByStamp(int id, long[] stamps) {
    long s = stamps[id];
    if (size == 0 || s >= stamps[head]) {
      pushHead(id);
      return;
    }
    if (s < stamps[tail]) {
      pushTail(id);
      return;
    }
    // Here stamps[tail] <= s < stamps[head], so both walks stop inside the list.
    if (stamps[head] - s < s - stamps[tail]) {
      int at = next[head];
      while (at != NIL && stamps[at] >= s) {
        at = next[at];
      }
      if (at == NIL) {
        pushTail(id);
      } else {
        insertBefore(id, at);
      }
    } else {
      int at = tail;
      while (stamps[at] < s) {
        at = prev[at];
      }
      insertAfter(id, at);
    }
  }

  /** The id nearest the tail for which {@code test} is true, or {@link #NIL}. */
  int oldestMatching(IntPredicate test) {
    for (int id = tail; id != NIL; id = prev[id]) {
      if (test.test(id)) {
        return id;
      }
    }
    return NIL;
  }

  /** Empties the list (the link arrays are left as they are: ids are re-linked on insert). */
  void clear() {
    head = tail = NIL;
    size = 0;
  }

  private void insertAfter(int id, int at) {
    if (at == tail) {
      pushTail(id);
    } else {
      insertBefore(id, next[at]);
    }
  }

  private void insertBefore(int id, int at) {
    int p = prev[at];
    prev[id] = p;
    next[id] = at;
    prev[at] = id;
    if (p != NIL) {
      next[p] = id;
    } else {
      head = id;
    }
    size++;
  }
}
