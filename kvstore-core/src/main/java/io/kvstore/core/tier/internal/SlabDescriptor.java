package io.kvstore.core.tier.internal;

/**
 * Layout of a memory tier's memory (hot or DRAM) and of the ids its slot engine gives slots.
 *
 * <p>The tier's capacity is cut into {@code maxSlabs} slabs of {@code slabBytes} each, held by a
 * {@code DeviceMemory} backend (the DRAM tier's and, by default, the hot tier's: one 4 KiB aligned
 * off-heap region per slab, allocated when first used). Each shard of the tier owns a fixed, contiguous
 * range of slab indexes (its capacity share, see {@link SlotEngine}). When a size class of a shard
 * needs memory it takes one of the shard's slabs and carves it into {@code slabBytes / slotBytes}
 * slots; the tail that is smaller than a slot is unused. A slot holds one page verbatim (header +
 * payload) from its first byte; the rest of the slot is unused. Nothing else is stored in the slab:
 * per-slot state (length, pins, live/retired/free, generation) lives in primitive arrays per slab,
 * and a page's key is read back from its header.
 *
 * <pre>
 *   slab s (class c, slotBytes = size of c):
 *   +----------------+----------------+-- ... --+----------------+---------+
 *   |    slot 0      |    slot 1      |         |  slot n-1      | unused  |
 *   | page | unused  | page | unused  |         | page | unused  |  tail   |
 *   +----------------+----------------+-- ... --+----------------+---------+
 *   0           slotBytes       2 × slotBytes              n × slotBytes  slabBytes
 *
 *   shards:  | shard 0: slabs [0, q0) | shard 1: [q0, q0 + q1) | ... |   (q = share, fixed)
 *
 *   slot id (global, dense, one int):   s × maxSlotsPerSlab + slot
 *   policy id (per shard and class c):  ordinal of s within c × slotsPerSlab(c) + slot
 * </pre>
 *
 * <p>{@code maxSlotsPerSlab} is the slot count of the smallest class, so every slot of every class
 * has a distinct global id below {@code maxSlabs × maxSlotsPerSlab}; the hot tier's {@code
 * MemoryHandle} carries that id as its frame index. Policy ids are per shard and class because
 * eviction is (a page can only replace a page of its own shard and class without moving a slab).
 */
public final class SlabDescriptor {

  private SlabDescriptor() {}

  /** Global id of slot {@code slot} of slab {@code slab}. */
  public static int slotId(int slab, int slot, int maxSlotsPerSlab) {
    return slab * maxSlotsPerSlab + slot;
  }

  /** The slab of a global slot id. */
  public static int slab(int slotId, int maxSlotsPerSlab) {
    return slotId / maxSlotsPerSlab;
  }

  /** The slot within its slab of a global slot id. */
  public static int slot(int slotId, int maxSlotsPerSlab) {
    return slotId % maxSlotsPerSlab;
  }

  /** Byte offset of slot {@code slot} in a slab carved into slots of {@code slotBytes}. */
  public static int slotOffset(int slot, int slotBytes) {
    return slot * slotBytes;
  }

  /** Policy id of a slot within its class. */
  public static int policyId(int slabOrdinal, int slot, int slotsPerSlab) {
    return slabOrdinal * slotsPerSlab + slot;
  }
}
