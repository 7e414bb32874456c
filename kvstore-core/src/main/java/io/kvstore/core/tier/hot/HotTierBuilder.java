package io.kvstore.core.tier.hot;

import io.kvstore.core.memory.DeviceMemory;
import io.kvstore.core.memory.HostDeviceMemory;
import io.kvstore.core.policy.EvictionPolicy;
import io.kvstore.core.policy.LruPolicy;
import io.kvstore.core.tier.internal.SlabLayout;
import java.util.Objects;
import java.util.function.IntFunction;

/**
 * Configures a {@link HotTier}. Only the capacity and the largest page are required; frames are
 * size-classed like the DRAM tier's slots (same defaults: 4 KiB smallest, ×1.25 steps).
 */
public final class HotTierBuilder {

  private final long capacityBytes;
  private final int maxPageBytes;
  private int slabBytes;
  private int shards;
  private int minSlotBytes = SlabLayout.DEFAULT_MIN_SLOT_BYTES;
  private double growthFactor = SlabLayout.DEFAULT_GROWTH_FACTOR;
  private IntFunction<EvictionPolicy> policyFactory = LruPolicy::new;
  private DeviceMemory.Factory memory = HostDeviceMemory::new;
  private int stagingBuffers = HotTier.DEFAULT_STAGING_BUFFERS;

  HotTierBuilder(long capacityBytes, int maxPageBytes) {
    this.capacityBytes = capacityBytes;
    this.maxPageBytes = maxPageBytes;
  }

  /** The slab size (default as for the DRAM tier: see {@code DramTierBuilder#slabBytes}). */
  public HotTierBuilder slabBytes(int slabBytes) {
    this.slabBytes = slabBytes;
    return this;
  }

  /** The shards wanted (a power of two, or 0 for the default; see {@code DramTierBuilder#shards}). */
  public HotTierBuilder shards(int shards) {
    this.shards = shards;
    return this;
  }

  /** The smallest frame size (default 4 KiB). */
  public HotTierBuilder minFrameBytes(int minFrameBytes) {
    this.minSlotBytes = minFrameBytes;
    return this;
  }

  /** The ratio between consecutive frame sizes (default 1.25). */
  public HotTierBuilder growthFactor(double growthFactor) {
    this.growthFactor = growthFactor;
    return this;
  }

  /** The eviction policy factory, called once per shard and frame size with its capacity. */
  public HotTierBuilder policy(IntFunction<EvictionPolicy> policyFactory) {
    this.policyFactory = Objects.requireNonNull(policyFactory, "policyFactory");
    return this;
  }

  /** The backend (default: {@link HostDeviceMemory}); the tier owns and closes what it makes. */
  public HotTierBuilder memory(DeviceMemory.Factory memory) {
    this.memory = Objects.requireNonNull(memory, "memory");
    return this;
  }

  /**
   * How many pins may be served at once by staged copies when the backend's frames are not
   * host-visible (default {@value HotTier#DEFAULT_STAGING_BUFFERS}); beyond that {@code pin}
   * returns null (callers use get).
   */
  public HotTierBuilder stagingBuffers(int stagingBuffers) {
    if (stagingBuffers < 0) {
      throw new IllegalArgumentException("staging buffers must not be negative: " + stagingBuffers);
    }
    this.stagingBuffers = stagingBuffers;
    return this;
  }

  /**
   * Builds the tier.
   *
   * @throws IllegalArgumentException if the settings do not fit together
   */
  public HotTier build() {
    return new HotTier(
        SlabLayout.of(capacityBytes, maxPageBytes, slabBytes, minSlotBytes, growthFactor, shards),
        memory,
        policyFactory,
        stagingBuffers);
  }
}
