package io.kvstore.core.tier;

import io.kvstore.core.policy.EvictionPolicy;
import io.kvstore.core.policy.LruPolicy;
import java.util.List;
import java.util.function.IntPredicate;

/** LRU that records every {@code onInsert(id, parentId)} call, to check what tiers tell policies. */
public final class RecordingPolicy implements EvictionPolicy {

  private final LruPolicy lru;
  private final List<int[]> inserts;

  /** A policy for {@code capacity} ids appending {@code {id, parentId}} to {@code inserts}. */
  public RecordingPolicy(int capacity, List<int[]> inserts) {
    this.lru = new LruPolicy(capacity);
    this.inserts = inserts;
  }

  @Override
  public String name() {
    return "recording-lru";
  }

  @Override
  public void onInsert(int id, int parentId) {
    inserts.add(new int[] {id, parentId});
    lru.onInsert(id, parentId);
  }

  @Override
  public void onAccess(int id) {
    lru.onAccess(id);
  }

  @Override
  public void onRemove(int id) {
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
