package io.kvstore.core.tier.internal;

import io.kvstore.core.policy.EvictionPolicy;
import java.util.Arrays;

/**
 * One size class of one shard: its slabs (by ordinal), its free slots (a stack of global slot ids)
 * and its eviction policy over per-class policy ids. Guarded by the shard's lock.
 */
final class ShardClass {

  final int index;
  final int slotBytes;
  final int slotsPerSlab;
  final EvictionPolicy policy;
  final Slab[] slabsByOrdinal;
  int slabCount;
  private int[] freeSlots = new int[64];
  private int freeCount;
  /** Slots of this class held by the eviction listener ({@link Slab#HELD}). */
  int held;

  ShardClass(int index, int slotBytes, int slotsPerSlab, int maxSlabs, EvictionPolicy policy) {
    this.index = index;
    this.slotBytes = slotBytes;
    this.slotsPerSlab = slotsPerSlab;
    this.policy = policy;
    this.slabsByOrdinal = new Slab[maxSlabs];
  }

  /** Carves {@code slab} into this class's slots and makes them all free. */
  void adopt(Slab slab, int slabBytes, int maxSlotsPerSlab) {
    int ordinal = 0;
    while (slabsByOrdinal[ordinal] != null) {
      ordinal++;
    }
    slabsByOrdinal[ordinal] = slab;
    slabCount++;
    slab.carve(index, slotBytes, slabBytes, ordinal);
    for (int slot = slab.slotCount - 1; slot >= 0; slot--) {
      pushFree(SlabDescriptor.slotId(slab.index, slot, maxSlotsPerSlab));
    }
  }

  /** Takes {@code slab} away: its free slots leave the free stack (its pages must be gone). */
  void release(Slab slab, int maxSlotsPerSlab) {
    int kept = 0;
    for (int i = 0; i < freeCount; i++) {
      if (SlabDescriptor.slab(freeSlots[i], maxSlotsPerSlab) != slab.index) {
        freeSlots[kept++] = freeSlots[i];
      }
    }
    freeCount = kept;
    slabsByOrdinal[slab.ordinal] = null;
    slabCount--;
    slab.sizeClass = -1;
    slab.ordinal = -1;
  }

  int freeCount() {
    return freeCount;
  }

  boolean hasFree() {
    return freeCount > 0;
  }

  int popFree() {
    return freeSlots[--freeCount];
  }

  void pushFree(int slotId) {
    if (freeCount == freeSlots.length) {
      freeSlots = Arrays.copyOf(freeSlots, freeCount * 2);
    }
    freeSlots[freeCount++] = slotId;
  }

  int policyId(Slab slab, int slot) {
    return SlabDescriptor.policyId(slab.ordinal, slot, slotsPerSlab);
  }

  Slab slabOfPolicyId(int policyId) {
    return slabsByOrdinal[policyId / slotsPerSlab];
  }

  int slotOfPolicyId(int policyId) {
    return policyId % slotsPerSlab;
  }
}
