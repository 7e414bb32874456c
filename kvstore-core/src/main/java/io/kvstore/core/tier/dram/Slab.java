package io.kvstore.core.tier.dram;

import io.kvstore.core.memory.OffHeapRegion;
import java.util.Arrays;

/**
 * One slab of the DRAM tier and its per-slot state, in primitive arrays (one object per slab, none
 * per page). Guarded by the tier's lock.
 */
final class Slab {

  static final byte FREE = 0;
  static final byte LIVE = 1;
  /** Removed from the index while pinned; freed at its last unpin. */
  static final byte RETIRED = 2;

  final int index;
  final OffHeapRegion region;
  final int[] length;
  final int[] pins;
  final byte[] state;
  int sizeClass = -1;
  int slotBytes;
  int slotCount;
  int ordinal = -1;
  /** Slots with at least one pin: a slab with any cannot be released to another class. */
  int pinnedSlots;

  Slab(int index, OffHeapRegion region, int maxSlots) {
    this.index = index;
    this.region = region;
    this.length = new int[maxSlots];
    this.pins = new int[maxSlots];
    this.state = new byte[maxSlots];
  }

  /** Gives the slab to a class; every slot becomes free. */
  void carve(int sizeClass, int slotBytes, int ordinal) {
    this.sizeClass = sizeClass;
    this.slotBytes = slotBytes;
    this.slotCount = region.capacity() / slotBytes;
    this.ordinal = ordinal;
    Arrays.fill(state, FREE);
  }

  int offset(int slot) {
    return SlabDescriptor.slotOffset(slot, slotBytes);
  }
}
