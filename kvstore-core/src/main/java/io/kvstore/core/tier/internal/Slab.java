package io.kvstore.core.tier.internal;

import java.util.Arrays;

/**
 * One slab of a memory tier and its per-slot state, in primitive arrays (one object per slab, none
 * per page). Guarded by its shard's lock.
 */
final class Slab {

  static final byte FREE = 0;
  static final byte LIVE = 1;
  /** Removed from the key table while pinned; freed at its last unpin. */
  static final byte RETIRED = 2;
  /**
   * Taken by {@code SlotEngine#reserve} and pinned: in no key table or policy, written by its
   * reserver outside the lock until committed (then {@link #LIVE}) or aborted (then freed).
   */
  static final byte RESERVED = 3;
  /**
   * Evicted and kept by the eviction listener ({@code EvictionListener#onEvictHeld}), pinned by
   * that hold: in no key table or policy, its bytes unchanged until the listener releases it; then
   * retired (freed at its last unpin).
   */
  static final byte HELD = 4;

  /** Global slab index (the backend's). */
  final int index;
  final int[] length;
  final int[] pins;
  final byte[] state;
  /** Per-slot generation, bumped whenever a slot stops holding the page a handle names; or null. */
  final int[] generation;
  int sizeClass = -1;
  int slotBytes;
  int slotCount;
  int ordinal = -1;
  /** Slots with at least one pin: a slab with any cannot be given to another class. */
  int pinnedSlots;

  Slab(int index, int maxSlots, boolean generations) {
    this.index = index;
    this.length = new int[maxSlots];
    this.pins = new int[maxSlots];
    this.state = new byte[maxSlots];
    this.generation = generations ? new int[maxSlots] : null;
  }

  /** Gives the slab to a class; every slot becomes free. */
  void carve(int sizeClass, int slotBytes, int slabBytes, int ordinal) {
    this.sizeClass = sizeClass;
    this.slotBytes = slotBytes;
    this.slotCount = slabBytes / slotBytes;
    this.ordinal = ordinal;
    Arrays.fill(state, FREE);
  }

  int offset(int slot) {
    return SlabDescriptor.slotOffset(slot, slotBytes);
  }

  /** The slot's content changes identity: handles taken before are stale from now on. */
  void bumpGeneration(int slot) {
    if (generation != null) {
      generation[slot]++;
    }
  }
}
