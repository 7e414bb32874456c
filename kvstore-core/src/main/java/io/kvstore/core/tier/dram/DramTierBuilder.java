package io.kvstore.core.tier.dram;

import io.kvstore.common.PageFormat;
import io.kvstore.core.policy.EvictionPolicy;
import io.kvstore.core.policy.LruPolicy;
import java.util.Objects;
import java.util.function.IntFunction;

/**
 * Configures a {@link DramTier}. Only the capacity and the largest page are required; the rest have
 * defaults chosen for KV-cache pages (tens of KiB to a few MiB, mostly one size per model).
 */
public final class DramTierBuilder {

  /** Default smallest slot: 4 KiB. */
  public static final int DEFAULT_MIN_SLOT_BYTES = 4 * 1024;
  /** Default ratio between consecutive slot sizes. */
  public static final double DEFAULT_GROWTH_FACTOR = 1.25;
  /** Preferred slab size when the capacity allows: 16 MiB. */
  public static final int PREFERRED_SLAB_BYTES = 16 << 20;
  /** Largest slab: one direct buffer must stay well below 2 GiB. */
  public static final int MAX_SLAB_BYTES = 1 << 30;

  private final long capacityBytes;
  private final int maxPageBytes;
  private int slabBytes;
  private int minSlotBytes = DEFAULT_MIN_SLOT_BYTES;
  private double growthFactor = DEFAULT_GROWTH_FACTOR;
  private IntFunction<EvictionPolicy> policyFactory = LruPolicy::new;

  DramTierBuilder(long capacityBytes, int maxPageBytes) {
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
    this.capacityBytes = capacityBytes;
    this.maxPageBytes = maxPageBytes;
  }

  /**
   * The slab size. Default: 16 MiB, or 8 of the largest page if more (so the largest class wastes
   * little of each slab), but at most an eighth of the capacity (so that several classes can share
   * it) and at least the largest page.
   */
  public DramTierBuilder slabBytes(int slabBytes) {
    this.slabBytes = slabBytes;
    return this;
  }

  /** The smallest slot size (default {@value #DEFAULT_MIN_SLOT_BYTES}). */
  public DramTierBuilder minSlotBytes(int minSlotBytes) {
    this.minSlotBytes = minSlotBytes;
    return this;
  }

  /** The ratio between consecutive slot sizes (default {@value #DEFAULT_GROWTH_FACTOR}). */
  public DramTierBuilder growthFactor(double growthFactor) {
    this.growthFactor = growthFactor;
    return this;
  }

  /** The eviction policy factory, called once per size class with its capacity (default LRU). */
  public DramTierBuilder policy(IntFunction<EvictionPolicy> policyFactory) {
    this.policyFactory = Objects.requireNonNull(policyFactory, "policyFactory");
    return this;
  }

  /**
   * Builds the tier (no slab is allocated yet).
   *
   * @throws IllegalArgumentException if the settings do not fit together
   */
  public DramTier build() {
    SizeClasses classes = SizeClasses.of(minSlotBytes, maxPageBytes, growthFactor);
    int slab = slabBytes > 0 ? slabBytes : defaultSlabBytes(classes.largest());
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
    return new DramTier(capacityBytes, maxPageBytes, slab, classes, policyFactory);
  }

  private int defaultSlabBytes(int largestSlot) {
    long preferred = Math.min(MAX_SLAB_BYTES, Math.max(PREFERRED_SLAB_BYTES, 8L * largestSlot));
    long shared = Math.min(preferred, capacityBytes / 8);
    return SizeClasses.align(Math.max(shared, largestSlot) & -SizeClasses.SLOT_ALIGNMENT);
  }
}
