package io.kvstore.core.policy;

import java.util.Arrays;
import java.util.function.IntPredicate;

/*
 * Implementation notes.
 *
 * W-TinyLFU (Einziger, Eytan, Friedman and Manes, "Adaptive Software Cache Management", Middleware
 * 2018; the static-window version of Caffeine's BoundedLocalCache): new entries enter a small LRU
 * window (1% of the capacity); an entry that falls out of the window becomes a candidate for the
 * main space, a segmented LRU (Karedla, Love and Wherry, "Caching Strategies to Improve Disk System
 * Performance", IEEE Computer 1994) of probation (20%) and protected (80%) segments. When the main
 * space is full, the candidate is admitted only if the frequency sketch (FrequencySketch, TinyLFU)
 * says it is used more often than the main space's victim, the probation LRU; otherwise the
 * candidate itself is evicted. A hit in probation promotes to protected; protected overflow is
 * demoted to the head of probation.
 *
 * Adapting the design to dense ids. A tier reuses an id for an unrelated page once the old one is
 * gone, so the sketch counts (id, generation) pairs: gen[id] is bumped on every insert and the
 * sketch item is gen << 32 | id. A reused id therefore starts at frequency 0 instead of inheriting
 * the history of its previous page; history of pages that left the tier belongs to an
 * AdmissionPolicy keyed by the block hash (SeenTwiceAdmission), which the tier consults before
 * inserting.
 *
 * Pull model. The tier asks for a victim only when it is full, just before it inserts, so evict()
 * runs the duel that Caffeine runs after a write: when the window is at its share, its LRU entry is
 * the candidate that the coming insert would push out, and it duels the main space's victim (the
 * probation LRU, else the protected LRU). If the candidate wins, the victim goes and the candidate
 * moves to probation; otherwise the candidate goes. Either way the window has room for the insert.
 * While the tier is not full, window overflow simply moves to probation. The segment sizes are
 * shares of the id capacity.
 *
 * Pinned entries: if the loser of the duel may not be evicted, the winner goes if it may; otherwise
 * the least recent evictable entry of probation, protected, window (in that order).
 */

/** Window TinyLFU: an LRU window in front of a segmented-LRU main space guarded by TinyLFU. */
public final class WindowTinyLfuPolicy implements EvictionPolicy {

  private static final int NIL = IdDeque.NIL;
  private static final byte NONE = 0;
  private static final byte WINDOW = 1;
  private static final byte PROBATION = 2;
  private static final byte PROTECTED = 3;

  private final int capacity;
  private final int windowMax;
  private final int protectedMax;
  private final byte[] segment;
  private final int[] gen;
  private final IdDeque window;
  private final IdDeque probation;
  private final IdDeque protectedList;
  private final IdDeque[] fallbackOrder;
  private final FrequencySketch sketch;

  /** A policy for ids in {@code [0, capacity)} with a 1% window and an 80% protected segment. */
  public WindowTinyLfuPolicy(int capacity) {
    this(capacity, 0.01, 0.80);
  }

  /**
   * A policy for ids in {@code [0, capacity)}.
   *
   * @param windowShare the share of the capacity for the LRU window, in {@code (0, 1)}
   * @param protectedShare the share of the main space for the protected segment, in {@code [0, 1)}
   */
  public WindowTinyLfuPolicy(int capacity, double windowShare, double protectedShare) {
    if (capacity <= 0) {
      throw new IllegalArgumentException("capacity must be positive: " + capacity);
    }
    if (!(windowShare > 0 && windowShare < 1)) {
      throw new IllegalArgumentException("windowShare must be in (0, 1): " + windowShare);
    }
    if (!(protectedShare >= 0 && protectedShare < 1)) {
      throw new IllegalArgumentException("protectedShare must be in [0, 1): " + protectedShare);
    }
    this.capacity = capacity;
    windowMax = Math.max(1, (int) (capacity * windowShare));
    protectedMax = (int) ((capacity - windowMax) * protectedShare);
    segment = new byte[capacity];
    gen = new int[capacity];
    int[] prev = new int[capacity];
    int[] next = new int[capacity];
    window = new IdDeque(prev, next);
    probation = new IdDeque(prev, next);
    protectedList = new IdDeque(prev, next);
    fallbackOrder = new IdDeque[] {probation, protectedList, window};
    sketch = new FrequencySketch(capacity);
  }

  @Override
  public String name() {
    return "w-tinylfu";
  }

  @Override
  public void onInsert(int id, int parentId) {
    checkId(id);
    if (segment[id] != NONE) {
      unlink(id);
    }
    gen[id]++;
    sketch.increment(item(id));
    segment[id] = WINDOW;
    window.pushHead(id);
    if (window.size() > windowMax) {
      // The tier is still filling up (it did not ask for a victim): no duel, just move over.
      int overflow = window.tail();
      window.unlink(overflow);
      segment[overflow] = PROBATION;
      probation.pushHead(overflow);
    }
  }

  @Override
  public void onAccess(int id) {
    checkId(id);
    switch (segment[id]) {
      case NONE:
        return;
      case WINDOW:
        window.moveToHead(id);
        break;
      case PROTECTED:
        protectedList.moveToHead(id);
        break;
      default:
        // A hit in probation earns the protected segment.
        unlink(id);
        segment[id] = PROTECTED;
        protectedList.pushHead(id);
        if (protectedList.size() > protectedMax) {
          int demoted = protectedList.tail();
          protectedList.unlink(demoted);
          segment[demoted] = PROBATION;
          probation.pushHead(demoted);
        }
        break;
    }
    sketch.increment(item(id));
  }

  @Override
  public void onRemove(int id) {
    checkId(id);
    if (segment[id] != NONE) {
      unlink(id);
    }
  }

  @Override
  public int evict(IntPredicate evictable) {
    int victim = chooseVictim(evictable);
    if (victim != NIL) {
      unlink(victim);
    }
    return victim;
  }

  private int chooseVictim(IntPredicate evictable) {
    int candidate = window.size() >= windowMax ? window.tail() : NIL;
    int mainVictim = !probation.isEmpty() ? probation.tail() : protectedList.tail();
    if (candidate != NIL && mainVictim != NIL) {
      boolean admit = sketch.frequency(item(candidate)) > sketch.frequency(item(mainVictim));
      int loser = admit ? mainVictim : candidate;
      int winner = admit ? candidate : mainVictim;
      int victim = evictable.test(loser) ? loser : evictable.test(winner) ? winner : NIL;
      if (victim != NIL) {
        if (victim == mainVictim) {
          // The candidate takes the victim's place in the main space.
          window.unlink(candidate);
          segment[candidate] = PROBATION;
          probation.pushHead(candidate);
        }
        return victim;
      }
    }
    // No duel to settle, or both duellists pinned: the least recent evictable entry.
    for (IdDeque list : fallbackOrder) {
      int v = list.oldestMatching(evictable);
      if (v != NIL) {
        return v;
      }
    }
    return NIL;
  }

  @Override
  public void reset() {
    Arrays.fill(segment, NONE);
    window.clear();
    probation.clear();
    protectedList.clear();
    sketch.clear();
  }

  /** Number of tracked entries. */
  public int size() {
    return window.size() + probation.size() + protectedList.size();
  }

  /** Whether {@code id} is tracked. */
  public boolean contains(int id) {
    checkId(id);
    return segment[id] != NONE;
  }

  /** The sketch's frequency estimate of the page now at {@code id} (0 if untracked). */
  public int frequency(int id) {
    checkId(id);
    return segment[id] == NONE ? 0 : sketch.frequency(item(id));
  }

  private long item(int id) {
    return ((long) gen[id] << 32) | id;
  }

  private void unlink(int id) {
    switch (segment[id]) {
      case WINDOW:
        window.unlink(id);
        break;
      case PROBATION:
        probation.unlink(id);
        break;
      case PROTECTED:
        protectedList.unlink(id);
        break;
      default:
        throw new IllegalStateException("id " + id + " is not tracked");
    }
    segment[id] = NONE;
  }

  private void checkId(int id) {
    if (id < 0 || id >= capacity) {
      throw new IndexOutOfBoundsException("id " + id + " outside [0, " + capacity + ")");
    }
  }
}
