package io.kvstore.core.policy;

import java.util.Arrays;
import java.util.function.IntPredicate;

/*
 * Implementation notes.
 *
 * Prefix-aware LRU (see PrefixAwareLruPolicy: only leaves of the cached forest are evicted, least
 * recent first) plus two predictions of reuse that the Mooncake trace study behind kvbench sim
 * supports (bench/README.md has the numbers):
 *
 * 1. Superseded leaves go first. A chain's last block is usually partial (a prompt rarely ends on
 *    a block boundary); when the conversation continues, the next prompt covers that block with
 *    more tokens, so its hash differs and the old partial block is never read again. The policy
 *    cannot see token counts, but it sees the tree: when a node gains a new child while an older
 *    child is a leaf that was never read since it was stored, the chain went on past that leaf, so
 *    it is marked superseded (about 90% of last blocks on the trace are never reused). Only the 8
 *    most recent siblings are examined, to bound the work per insert under a popular root.
 *
 * 2. Reused blocks earn recency credit. A block read again since it was stored belongs to a
 *    conversation that already came back, which makes another return more likely and sooner (on
 *    the trace: about 45% of fresh blocks are ever reused, 60-89% of reused ones). So leaves are
 *    kept in two LRU lists, FRESH and REUSED, and the fresh victim is preferred unless it is more
 *    than `credit` clock ticks younger than the reused one: in effect a reused leaf's last use
 *    counts `credit` ticks later, as in the cost-aware LRU variants (LRFU, Lee et al., IEEE ToC
 *    2001; GreedyDual, Young 1994) that add a per-class term to recency.
 *
 * The best credit depends on the cache size (on the trace: large credit wins at 20% of the unique
 * blocks and up, and loses at 10%), so it is adapted online by a HillClimber on the hit rate seen by
 * the policy (onAccess = hit, onInsert = miss), in the manner of Caffeine's adaptive window
 * (Einziger et al., Middleware 2018): starting at 0.1 x capacity ticks, step 0.1 x capacity decaying
 * by 0.98 per epoch of 2 x capacity events, within [0, 2 x capacity].
 *
 * Layout: PrefixForest for the chain links; per id a stamp[] (logical clock) and a state byte
 * (TRACKED, ACCESSED since stored, SUPERSEDED); four recency lists sharing prev[]/next[]:
 * SUPERSEDED, FRESH and REUSED leaves, and INNER nodes. Eviction: the least recent evictable
 * superseded leaf; else the FRESH/REUSED duel above; else (every leaf pinned) the least recent
 * inner node. O(1) per operation apart from the ordered re-insert of a node that changes list.
 */

/**
 * Prefix-aware LRU that evicts superseded chain tails first and gives reused blocks adaptive
 * recency credit. The store's default policy ({@link Policies#DEFAULT}).
 */
public final class AdaptivePrefixLruPolicy implements EvictionPolicy {

  private static final int NIL = IdDeque.NIL;
  private static final byte TRACKED = 1;
  private static final byte ACCESSED = 2;
  private static final byte SUPERSEDED = 4;
  private static final int SIBLING_SCAN = 8;

  private final int capacity;
  private final PrefixForest forest;
  private final long[] stamp;
  private final byte[] state;
  private final IdDeque superseded;
  private final IdDeque fresh;
  private final IdDeque reused;
  private final IdDeque inner;
  private final HillClimber climber;
  private long clock;
  private int size;

  /** A policy for ids in {@code [0, capacity)} with the adaptive credit described above. */
  public AdaptivePrefixLruPolicy(int capacity) {
    this(capacity, 0.1, 0.1);
  }

  /**
   * A policy for ids in {@code [0, capacity)}.
   *
   * @param initialCredit the starting credit of reused leaves, in multiples of the capacity (clock
   *     ticks), in {@code [0, 2]}
   * @param step the hill climber's first step, in multiples of the capacity; 0 keeps the credit
   *     fixed at {@code initialCredit}
   */
  public AdaptivePrefixLruPolicy(int capacity, double initialCredit, double step) {
    if (capacity <= 0) {
      throw new IllegalArgumentException("capacity must be positive: " + capacity);
    }
    if (!(initialCredit >= 0 && initialCredit <= 2) || !(step >= 0 && step <= 2)) {
      throw new IllegalArgumentException(
          "initialCredit and step must be in [0, 2]: " + initialCredit + ", " + step);
    }
    this.capacity = capacity;
    forest = new PrefixForest(capacity);
    stamp = new long[capacity];
    state = new byte[capacity];
    int[] prev = new int[capacity];
    int[] next = new int[capacity];
    superseded = new IdDeque(prev, next);
    fresh = new IdDeque(prev, next);
    reused = new IdDeque(prev, next);
    inner = new IdDeque(prev, next);
    climber = new HillClimber(initialCredit, 0, 2, step, step / 10, 0.98, 2L * capacity);
  }

  @Override
  public String name() {
    return "adaptive-prefix-lru";
  }

  @Override
  public void onInsert(int id, int parentId) {
    checkId(id);
    if (parentId != NO_PARENT) {
      checkId(parentId);
    }
    if (state[id] != 0) {
      remove(id);
    }
    int p = parentId != NO_PARENT && parentId != id && state[parentId] != 0 ? parentId : NIL;
    state[id] = TRACKED;
    stamp[id] = ++clock;
    size++;
    forest.initNode(id);
    if (p != NIL) {
      supersedeUnreadLeafChildren(p);
      if (forest.link(p, id)) {
        leafList(p).unlink(p);
        inner.insertByStamp(p, stamp);
      }
    }
    fresh.pushHead(id);
    climber.record(false);
  }

  @Override
  public void onAccess(int id) {
    checkId(id);
    if (state[id] == 0) {
      return;
    }
    listOf(id).unlink(id);
    stamp[id] = ++clock;
    state[id] = (byte) ((state[id] | ACCESSED) & ~SUPERSEDED);
    listOf(id).pushHead(id);
    climber.record(true);
  }

  @Override
  public void onRemove(int id) {
    checkId(id);
    if (state[id] != 0) {
      remove(id);
    }
  }

  @Override
  public int evict(IntPredicate evictable) {
    int victim = superseded.oldestMatching(evictable);
    if (victim == NIL) {
      int f = fresh.oldestMatching(evictable);
      int r = reused.oldestMatching(evictable);
      if (f != NIL && r != NIL) {
        victim = stamp[f] <= stamp[r] + recencyCredit() ? f : r;
      } else {
        victim = f != NIL ? f : r;
      }
    }
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
    Arrays.fill(state, (byte) 0);
    superseded.clear();
    fresh.clear();
    reused.clear();
    inner.clear();
    climber.reset();
    clock = 0;
    size = 0;
  }

  /** Number of tracked entries. */
  public int size() {
    return size;
  }

  /** Whether {@code id} is tracked. */
  public boolean contains(int id) {
    checkId(id);
    return state[id] != 0;
  }

  /** The tracked parent of {@code id}, or {@link #NO_PARENT} (also for an untracked id). */
  public int parentOf(int id) {
    checkId(id);
    return state[id] != 0 ? forest.parent(id) : NO_PARENT;
  }

  /** Whether {@code id} is a leaf marked superseded (evicted before any other leaf). */
  public boolean isSuperseded(int id) {
    checkId(id);
    return (state[id] & SUPERSEDED) != 0;
  }

  /** The current credit of reused leaves, in clock ticks (one tick per insert or access). */
  public long recencyCredit() {
    return (long) (climber.value() * capacity);
  }

  /**
   * A fresh leaf child of {@code p}, never read since stored, that {@code p}'s new child bypasses:
   * the chain went on without it (typically the old partial last block of a conversation).
   */
  private void supersedeUnreadLeafChildren(int p) {
    int scanned = 0;
    for (int c = forest.firstChild(p); c != NIL && scanned < SIBLING_SCAN; c = forest.nextSibling(c)) {
      scanned++;
      if (state[c] == TRACKED && !forest.hasChildren(c)) {
        fresh.unlink(c);
        state[c] |= SUPERSEDED;
        superseded.insertByStamp(c, stamp);
      }
    }
  }

  private IdDeque leafList(int id) {
    byte s = state[id];
    if ((s & SUPERSEDED) != 0) {
      return superseded;
    }
    return (s & ACCESSED) != 0 ? reused : fresh;
  }

  private IdDeque listOf(int id) {
    return forest.hasChildren(id) ? inner : leafList(id);
  }

  private void remove(int id) {
    listOf(id).unlink(id);
    int newLeaf = forest.detach(id);
    if (newLeaf != NIL) {
      inner.unlink(newLeaf);
      leafList(newLeaf).insertByStamp(newLeaf, stamp);
    }
    state[id] = 0;
    size--;
  }

  private void checkId(int id) {
    if (id < 0 || id >= capacity) {
      throw new IndexOutOfBoundsException("id " + id + " outside [0, " + capacity + ")");
    }
  }
}
