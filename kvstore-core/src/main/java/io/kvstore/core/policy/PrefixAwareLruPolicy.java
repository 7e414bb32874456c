package io.kvstore.core.policy;

import java.util.Arrays;
import java.util.function.IntPredicate;

/*
 * Implementation notes.
 *
 * KV-cache blocks form prefix trees: block i of a prompt is only usable when blocks 0..i-1 are
 * usable too, because a prefix lookup stops at the first missing block. Evicting a block that still
 * has cached children therefore wastes the children as well. Plain LRU does exactly that on prefix
 * workloads: a request touches its blocks root first, so the root is always a little older than the
 * rest of its chain and LRU evicts chains from the root, leaving useless orphans behind.
 *
 * This policy is LRU restricted to the leaves of the cached forest, the eviction order of radix-tree
 * prefix caches:
 *   - SGLang RadixAttention (Zheng et al., "SGLang: Efficient Execution of Structured Language Model
 *     Programs", NeurIPS 2024, section 3): "evicts the least recently used leaf first", so a node is
 *     evicted only after all its descendants.
 *   - vLLM automatic prefix caching (docs, "Automatic Prefix Caching" design): among blocks with the
 *     same last access time, the one at the end of the longest prefix is evicted first.
 *
 * Layout. The chain links live in a PrefixForest (per id: parent and an intrusive sibling list, so
 * a removed parent detaches its children in O(children)); per id a recency stamp[] (a logical clock,
 * not wall time) and prev[]/next[] links shared by two recency lists: LEAVES (no tracked child) and
 * INNER (at least one). evict() takes the least recent evictable leaf; only when every leaf is
 * pinned does it fall back to the least recent inner node (whose children then become roots).
 *
 * When a node loses its last child it re-enters LEAVES at the place its stamp gives it, not at the
 * head: its recency is that of its own last use. On prefix workloads a parent is used just before
 * its child, so that place is at or next to the tail and the ordered insert is O(1) there.
 *
 * Id reuse: the tier reuses an id after onRemove/evict. Removing a node makes each of its children
 * a root and unlinks it from its parent's child list, so no stale child->parent link survives
 * to corrupt the bookkeeping of whatever page gets the id next. Re-inserting a tracked id is a
 * remove followed by an insert (the page was replaced, its old children are orphans now).
 */

/**
 * Prefix-aware LRU: evicts the least recently used entry among those with no tracked child, so a
 * block always goes after the blocks that extend it. {@link #onInsert}'s {@code parentId} gives the
 * chain link; a parent that is not tracked counts as {@link #NO_PARENT}.
 *
 * <p>O(1) per operation in the common case; O(children) to remove a node with children.
 */
public final class PrefixAwareLruPolicy implements EvictionPolicy {

  private static final int NIL = IdDeque.NIL;

  private final int capacity;
  private final PrefixForest forest;
  private final long[] stamp;
  private final boolean[] tracked;
  private final IdDeque leaves;
  private final IdDeque inner;
  private long clock;

  /** A policy for ids in {@code [0, capacity)}. */
  public PrefixAwareLruPolicy(int capacity) {
    if (capacity <= 0) {
      throw new IllegalArgumentException("capacity must be positive: " + capacity);
    }
    this.capacity = capacity;
    forest = new PrefixForest(capacity);
    stamp = new long[capacity];
    tracked = new boolean[capacity];
    int[] prev = new int[capacity];
    int[] next = new int[capacity];
    leaves = new IdDeque(prev, next);
    inner = new IdDeque(prev, next);
  }

  @Override
  public String name() {
    return "prefix-lru";
  }

  @Override
  public void onInsert(int id, int parentId) {
    checkId(id);
    if (parentId != NO_PARENT) {
      checkId(parentId);
    }
    if (tracked[id]) {
      remove(id);
    }
    int p = parentId != NO_PARENT && parentId != id && tracked[parentId] ? parentId : NIL;
    tracked[id] = true;
    stamp[id] = ++clock;
    forest.initNode(id);
    if (p != NIL && forest.link(p, id)) {
      // p stops being a leaf; keep its recency place among inner nodes.
      leaves.unlink(p);
      inner.insertByStamp(p, stamp);
    }
    leaves.pushHead(id);
  }

  @Override
  public void onAccess(int id) {
    checkId(id);
    if (tracked[id]) {
      stamp[id] = ++clock;
      listOf(id).moveToHead(id);
    }
  }

  @Override
  public void onRemove(int id) {
    checkId(id);
    if (tracked[id]) {
      remove(id);
    }
  }

  @Override
  public int evict(IntPredicate evictable) {
    int victim = leaves.oldestMatching(evictable);
    if (victim == NIL) {
      victim = inner.oldestMatching(evictable);
    }
    if (victim != NIL) {
      remove(victim);
    }
    return victim;
  }

  @Override
  public void reset() {
    Arrays.fill(tracked, false);
    leaves.clear();
    inner.clear();
    clock = 0;
  }

  /** Number of tracked entries. */
  public int size() {
    return leaves.size() + inner.size();
  }

  /** Whether {@code id} is tracked. */
  public boolean contains(int id) {
    checkId(id);
    return tracked[id];
  }

  /** The tracked parent of {@code id}, or {@link #NO_PARENT} (also for an untracked id). */
  public int parentOf(int id) {
    checkId(id);
    return tracked[id] ? forest.parent(id) : NO_PARENT;
  }

  /** Number of tracked children of {@code id} (0 for an untracked id). */
  public int childCount(int id) {
    checkId(id);
    return tracked[id] ? forest.childCount(id) : 0;
  }

  private IdDeque listOf(int id) {
    return forest.hasChildren(id) ? inner : leaves;
  }

  private void remove(int id) {
    listOf(id).unlink(id);
    // Its children stay tracked, as roots; its parent may turn into a leaf.
    int newLeaf = forest.detach(id);
    if (newLeaf != NIL) {
      // A leaf again, as recent as its own last use.
      inner.unlink(newLeaf);
      leaves.insertByStamp(newLeaf, stamp);
    }
    tracked[id] = false;
  }

  private void checkId(int id) {
    if (id < 0 || id >= capacity) {
      throw new IndexOutOfBoundsException("id " + id + " outside [0, " + capacity + ")");
    }
  }
}
