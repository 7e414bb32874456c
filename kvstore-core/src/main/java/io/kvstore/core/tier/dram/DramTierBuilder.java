package io.kvstore.core.tier.dram;

import io.kvstore.core.policy.EvictionPolicy;
import io.kvstore.core.policy.LruPolicy;
import io.kvstore.core.tier.internal.SlabLayout;
import java.util.Objects;
import java.util.function.IntFunction;

/**
 * Configures a {@link DramTier}. Only the capacity and the largest page are required; the rest have
 * defaults chosen for KV-cache pages (tens of KiB to a few MiB, mostly one size per model).
 */
public final class DramTierBuilder {

  /** Default smallest slot: 4 KiB. */
  public static final int DEFAULT_MIN_SLOT_BYTES = SlabLayout.DEFAULT_MIN_SLOT_BYTES;
  /** Default ratio between consecutive slot sizes. */
  public static final double DEFAULT_GROWTH_FACTOR = SlabLayout.DEFAULT_GROWTH_FACTOR;
  /** Preferred slab size when the capacity allows: 16 MiB. */
  public static final int PREFERRED_SLAB_BYTES = SlabLayout.PREFERRED_SLAB_BYTES;
  /** Largest slab: one direct buffer must stay well below 2 GiB. */
  public static final int MAX_SLAB_BYTES = SlabLayout.MAX_SLAB_BYTES;

  private final long capacityBytes;
  private final int maxPageBytes;
  private int slabBytes;
  private int shards;
  private int minSlotBytes = DEFAULT_MIN_SLOT_BYTES;
  private double growthFactor = DEFAULT_GROWTH_FACTOR;
  private IntFunction<EvictionPolicy> policyFactory = LruPolicy::new;
  private boolean prefault;

  DramTierBuilder(long capacityBytes, int maxPageBytes) {
    // Fail early on what cannot work whatever the other settings are.
    SlabLayout.of(capacityBytes, maxPageBytes, 0, DEFAULT_MIN_SLOT_BYTES, DEFAULT_GROWTH_FACTOR, 1);
    this.capacityBytes = capacityBytes;
    this.maxPageBytes = maxPageBytes;
  }

  /**
   * The slab size. Default: 16 MiB, or 8 of the largest page if more, but at most {@code capacity /
   * (4 × shards)} (so that every shard gets several slabs) and at least the largest page.
   */
  public DramTierBuilder slabBytes(int slabBytes) {
    this.slabBytes = slabBytes;
    return this;
  }

  /**
   * The shards wanted: a power of two, or 0 for the default (twice the processors, rounded up to a
   * power of two). A tier too small to give each shard {@value SlabLayout#MIN_SLABS_PER_SHARD} slabs
   * gets fewer; see {@link #shardCount()} on the tier.
   */
  public DramTierBuilder shards(int shards) {
    this.shards = shards;
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

  /**
   * The eviction policy factory, called once per shard and size class with its capacity (default
   * LRU).
   */
  public DramTierBuilder policy(IntFunction<EvictionPolicy> policyFactory) {
    this.policyFactory = Objects.requireNonNull(policyFactory, "policyFactory");
    return this;
  }

  /**
   * Whether every slab is allocated (and so touched) in the background from the start, rather than
   * one ahead of need (default false; see {@link io.kvstore.core.memory.HostDeviceMemory}).
   */
  public DramTierBuilder prefault(boolean prefault) {
    this.prefault = prefault;
    return this;
  }

  /**
   * Builds the tier (no slab is allocated yet, unless by the background allocation of {@link
   * #prefault}).
   *
   * @throws IllegalArgumentException if the settings do not fit together
   */
  public DramTier build() {
    return new DramTier(
        SlabLayout.of(capacityBytes, maxPageBytes, slabBytes, minSlotBytes, growthFactor, shards),
        policyFactory,
        prefault);
  }
}
