package io.kvstore.core.tier.dram;

/**
 * Layout of the DRAM tier's memory and of the ids it gives slots.
 *
 * <p>The tier's capacity is cut into slabs of {@code slabBytes} each (allocated lazily, one {@code
 * OffHeapRegion} per slab, 4 KiB aligned). When a size class needs memory it takes a whole slab and
 * carves it into {@code slabBytes / slotBytes} slots; the tail that is smaller than a slot is unused.
 * A slot holds one page verbatim (header + payload) from its first byte; the rest of the slot is
 * unused. Nothing else is stored in the slab: per-slot state (length, pins, live/retired/free) lives
 * in primitive arrays per slab, and the page's key is read back from its header.
 *
 * <pre>
 *   slab s (class c, slotBytes = size of c):
 *   +----------------+----------------+-- ... --+----------------+---------+
 *   |    slot 0      |    slot 1      |         |  slot n-1      | unused  |
 *   | page | unused  | page | unused  |         | page | unused  |  tail   |
 *   +----------------+----------------+-- ... --+----------------+---------+
 *   0           slotBytes       2 × slotBytes              n × slotBytes  slabBytes
 *
 *   slot id (global, dense, one int):   s × maxSlotsPerSlab + slot
 *   policy id (per class c, dense):     ordinal of s within c × slotsPerSlab(c) + slot
 * </pre>
 *
 * <p>{@code maxSlotsPerSlab} is the slot count of the smallest class, so every slot of every class
 * has a distinct global id below {@code maxSlabs × maxSlotsPerSlab}. Policy ids are per class because
 * eviction is per class (a page can only replace a page of its own class without moving a slab).
 */
public final class SlabDescriptor {

  /** Alignment of every slab's first byte (a page: friendly to DMA and huge-page backing). */
  public static final int SLAB_ALIGNMENT = 4096;

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
