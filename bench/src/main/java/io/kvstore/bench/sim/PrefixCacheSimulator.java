package io.kvstore.bench.sim;

import io.kvstore.bench.trace.Trace;
import io.kvstore.core.policy.AdmissionPolicy;
import io.kvstore.core.policy.EvictionPolicy;
import java.util.Arrays;
import java.util.function.IntPredicate;

/**
 * Replays a trace through an {@link EvictionPolicy} (and optionally an {@link AdmissionPolicy}) as a
 * tier would drive it, without payloads: the cache maps blocks to slot ids in {@code [0,
 * capacity)}, the policy sees only slot ids, and a slot is reused as soon as its block is evicted.
 *
 * <p>Semantics, per request in trace order:
 *
 * <ol>
 *   <li>Its hits are the leading run of its blocks present before the request (a prefix cache can
 *       only use a block if every block before it is usable too).
 *   <li>Then its blocks are visited in order: a present block gets {@code onAccess}; a missing one
 *       is recorded with and offered to the admission policy and, if admitted, stored: when the
 *       cache is full the policy evicts any tracked slot (the request's own blocks included), and
 *       the new slot is inserted with the previous block's slot as its parent ({@code NO_PARENT}
 *       for the first block, or when the previous block is not cached).
 * </ol>
 *
 * The block key given to the admission policy is {@code (0, hash id)}.
 */
public final class PrefixCacheSimulator {

  private static final IntPredicate ANY = id -> true;

  private PrefixCacheSimulator() {}

  /** Replays {@code trace} through {@code policy} (a new one, sized for {@code capacity}). */
  public static SimResult run(Trace trace, EvictionPolicy policy, int capacity) {
    return run(trace, policy, capacity, AdmissionPolicy.ALWAYS);
  }

  /**
   * Replays {@code trace} through {@code policy} and {@code admission}.
   *
   * @param policy a policy for ids in {@code [0, capacity)}, tracking nothing yet
   * @param admission asked before a missing block is stored
   */
  public static SimResult run(
      Trace trace, EvictionPolicy policy, int capacity, AdmissionPolicy admission) {
    if (capacity <= 0) {
      throw new IllegalArgumentException("capacity must be positive: " + capacity);
    }
    int[] slotOf = new int[trace.uniqueBlocks()];
    Arrays.fill(slotOf, -1);
    int[] blockOf = new int[capacity];
    int used = 0;
    long hits = 0;
    long insertions = 0;
    long evictions = 0;
    boolean admitAll = admission == AdmissionPolicy.ALWAYS;
    for (int r = 0; r < trace.requestCount(); r++) {
      int start = trace.requestStart(r);
      int end = trace.requestEnd(r);
      int k = start;
      while (k < end && slotOf[trace.block(k)] >= 0) {
        k++;
      }
      hits += k - start;
      int parentSlot = EvictionPolicy.NO_PARENT;
      for (int ref = start; ref < end; ref++) {
        int block = trace.block(ref);
        int slot = slotOf[block];
        if (!admitAll) {
          admission.record(0L, trace.hashId(block));
        }
        if (slot >= 0) {
          policy.onAccess(slot);
        } else if (admitAll || admission.admit(0L, trace.hashId(block))) {
          if (used < capacity) {
            slot = used++;
          } else {
            slot = policy.evict(ANY);
            if (slot < 0 || blockOf[slot] < 0 || slotOf[blockOf[slot]] != slot) {
              throw new IllegalStateException(
                  policy.name() + " returned " + slot + " from evict() with a full cache");
            }
            slotOf[blockOf[slot]] = -1;
            evictions++;
            if (slot == parentSlot) {
              // The parent itself made room for its child: the child has no cached parent now.
              parentSlot = EvictionPolicy.NO_PARENT;
            }
          }
          blockOf[slot] = block;
          slotOf[block] = slot;
          policy.onInsert(slot, parentSlot);
          insertions++;
        }
        parentSlot = slot;
      }
    }
    return new SimResult(
        policy.name(), capacity, hits, trace.blockReferences(), insertions, evictions);
  }
}
