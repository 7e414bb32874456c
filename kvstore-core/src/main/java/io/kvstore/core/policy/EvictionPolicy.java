package io.kvstore.core.policy;

import java.util.function.IntPredicate;

/**
 * Chooses which entry a tier evicts next. Storage and policy are separate (as in CacheLib's navy
 * {@code EvictionPolicy} and Caffeine's simulator): a tier names each stored page by a dense int id
 * in {@code [0, capacity)} that it assigns and reuses, and tells the policy what happens to it. A
 * policy keeps its state in primitive arrays indexed by id, so it makes no object per page.
 *
 * <p>Not thread-safe: the tier calls it under its own lock.
 */
public interface EvictionPolicy {

  /** No parent, or a parent not held by the same tier. */
  int NO_PARENT = -1;

  /** A short name for reports (e.g. {@code "lru"}). */
  String name();

  /**
   * A new entry {@code id} was stored. {@code parentId} is the id (in the same tier) of the block
   * that precedes it in its chain, or {@link #NO_PARENT}.
   */
  void onInsert(int id, int parentId);

  /** Entry {@code id} was read. */
  void onAccess(int id);

  /** Entry {@code id} was removed by the tier (deleted, replaced, or moved away); forget it. */
  void onRemove(int id);

  /**
   * Chooses a victim among the tracked entries for which {@code evictable} is true, stops tracking
   * it and returns it; {@code -1} if there is none.
   */
  int evict(IntPredicate evictable);

  /** Forgets every entry. */
  void reset();
}
