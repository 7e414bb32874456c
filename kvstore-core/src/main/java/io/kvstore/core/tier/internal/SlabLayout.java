package io.kvstore.core.tier.internal;

import io.kvstore.common.PageFormat;
import io.kvstore.core.memory.HostDeviceMemory;

/**
 * How a memory tier's capacity is cut: slab size, number of slabs, size classes, and the number of
 * shards sharing the slabs. Shared by the hot and DRAM tier builders so that both size themselves
 * the same way (see {@link SlabDescriptor} for the layout and {@link SlotEngine} for the shards).
 *
 * @param capacityBytes the tier's bound
 * @param maxPageBytes the largest page (header + payload) the tier takes
 * @param slabBytes size of every slab (at least the largest slot)
 * @param maxSlabs {@code capacityBytes / slabBytes}
 * @param classes the slot sizes
 * @param shards number of shards (a power of two, each owning at least {@link #MIN_SLABS_PER_SHARD}
 *     slabs unless the tier has fewer slabs than that, then one shard)
 */
public record SlabLayout(
    long capacityBytes,
    int maxPageBytes,
    int slabBytes,
    int maxSlabs,
    SizeClasses classes,
    int shards) {

  /** Default smallest slot: 4 KiB. */
  public static final int DEFAULT_MIN_SLOT_BYTES = 4 * 1024;
  /** Default ratio between consecutive slot sizes. */
  public static final double DEFAULT_GROWTH_FACTOR = 1.25;
  /** Preferred slab size when the capacity allows: 16 MiB. */
  public static final int PREFERRED_SLAB_BYTES = 16 << 20;
  /** Largest slab: one direct buffer must stay well below 2 GiB. */
  public static final int MAX_SLAB_BYTES = HostDeviceMemory.MAX_SLAB_BYTES;
  /**
   * Fewest slabs a shard owns (when the tier has that many): a shard with few slabs moves whole
   * slabs between its size classes often, and its eviction is coarser.
   */
  public static final int MIN_SLABS_PER_SHARD = 4;
  /** Most shards. */
  public static final int MAX_SHARDS = 256;

  /**
   * The default number of shards wanted: twice the processors, rounded up to a power of two (at
   * most {@link #MAX_SHARDS}); a tier with few slabs gets fewer (see {@link #of}).
   */
  public static int defaultShards() {
    int wanted = 2 * Runtime.getRuntime().availableProcessors();
    return Math.min(MAX_SHARDS, Integer.highestOneBit(Math.max(1, wanted - 1)) << 1);
  }

  /**
   * Checks the settings and derives the layout.
   *
   * @param capacityBytes the tier's bound in bytes
   * @param maxPageBytes the largest page, header included
   * @param slabBytes the slab size, or 0 for the default: 16 MiB, or 8 of the largest page if more,
   *     but at most {@code capacity / (MIN_SLABS_PER_SHARD × shards)} (so that every wanted shard
   *     gets its slabs) and at least the largest slot
   * @param minSlotBytes the smallest slot
   * @param growthFactor the ratio between consecutive slot sizes
   * @param shards the shards wanted (a power of two), or 0 for {@link #defaultShards()}; the layout
   *     keeps the largest power of two not above it that gives every shard {@link
   *     #MIN_SLABS_PER_SHARD} slabs (at least one shard)
   * @throws IllegalArgumentException if the settings do not fit together
   */
  public static SlabLayout of(
      long capacityBytes,
      int maxPageBytes,
      int slabBytes,
      int minSlotBytes,
      double growthFactor,
      int shards) {
    if (maxPageBytes < PageFormat.HEADER_LENGTH
        || maxPageBytes > PageFormat.pageLength(PageFormat.MAX_PAYLOAD_LENGTH)) {
      throw new IllegalArgumentException(
          "largest page must be in [" + PageFormat.HEADER_LENGTH + ", "
              + PageFormat.pageLength(PageFormat.MAX_PAYLOAD_LENGTH) + "]: " + maxPageBytes);
    }
    if (capacityBytes < SizeClasses.align(maxPageBytes)) {
      throw new IllegalArgumentException(
          "capacity " + capacityBytes + " cannot hold one page of " + maxPageBytes + " bytes");
    }
    if (shards < 0 || shards > MAX_SHARDS || (shards > 0 && Integer.bitCount(shards) != 1)) {
      throw new IllegalArgumentException(
          "shards must be a power of two in [1, " + MAX_SHARDS + "] (or 0 for the default): "
              + shards);
    }
    int wantedShards = shards == 0 ? defaultShards() : shards;
    SizeClasses classes = SizeClasses.of(minSlotBytes, maxPageBytes, growthFactor);
    int slab =
        slabBytes > 0 ? slabBytes : defaultSlabBytes(capacityBytes, classes.largest(), wantedShards);
    if (slab < classes.largest() || slab > MAX_SLAB_BYTES) {
      throw new IllegalArgumentException(
          "slab size " + slab + " must be in [" + classes.largest() + " (the largest slot), "
              + MAX_SLAB_BYTES + "]");
    }
    if (capacityBytes < slab) {
      throw new IllegalArgumentException(
          "capacity " + capacityBytes + " is smaller than one slab of " + slab);
    }
    long maxSlabs = capacityBytes / slab;
    long slotIds = maxSlabs * (slab / classes.smallest());
    if (slotIds > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "capacity " + capacityBytes + " in slots of " + classes.smallest()
              + " bytes needs more than 2^31 slot ids: raise the smallest slot size");
    }
    int effective = wantedShards;
    while (effective > 1 && maxSlabs / effective < MIN_SLABS_PER_SHARD) {
      effective >>= 1;
    }
    return new SlabLayout(capacityBytes, maxPageBytes, slab, (int) maxSlabs, classes, effective);
  }

  /** Slots of the smallest class in one slab: the stride of global slot ids per slab. */
  public int maxSlotsPerSlab() {
    return slabBytes / classes.smallest();
  }

  /** Slabs owned by shard {@code shard}: the first {@code maxSlabs % shards} shards get one more. */
  public int slabsOfShard(int shard) {
    return maxSlabs / shards + (shard < maxSlabs % shards ? 1 : 0);
  }

  /** The first slab index of shard {@code shard}. */
  public int firstSlabOfShard(int shard) {
    int base = maxSlabs / shards;
    return shard * base + Math.min(shard, maxSlabs % shards);
  }

  /** The shard owning slab {@code slab}. */
  public int shardOfSlab(int slab) {
    int base = maxSlabs / shards;
    int extra = maxSlabs % shards;
    int bigShardsEnd = extra * (base + 1);
    return slab < bigShardsEnd ? slab / (base + 1) : extra + (slab - bigShardsEnd) / base;
  }

  private static int defaultSlabBytes(long capacityBytes, int largestSlot, int shards) {
    long preferred = Math.min(MAX_SLAB_BYTES, Math.max(PREFERRED_SLAB_BYTES, 8L * largestSlot));
    long shared = Math.min(preferred, capacityBytes / ((long) MIN_SLABS_PER_SHARD * shards));
    return SizeClasses.align(Math.max(shared, largestSlot) & -SizeClasses.SLOT_ALIGNMENT);
  }
}
