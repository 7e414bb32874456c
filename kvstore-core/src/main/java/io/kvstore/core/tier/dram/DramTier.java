package io.kvstore.core.tier.dram;

import io.kvstore.core.memory.HostDeviceMemory;
import io.kvstore.core.policy.EvictionPolicy;
import io.kvstore.core.tier.EvictionListener;
import io.kvstore.core.tier.PinnedPage;
import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.TierKind;
import io.kvstore.core.tier.internal.SizeClasses;
import io.kvstore.core.tier.internal.SlabLayout;
import io.kvstore.core.tier.internal.SlotEngine;
import java.nio.ByteBuffer;
import java.util.function.IntFunction;

/**
 * The DRAM tier: pages in size-classed slots of large off-heap slabs ({@link HostDeviceMemory}:
 * Agrona buffers over one region per slab), with no Java object per page. Storage, sharding,
 * pinning and eviction are the shared {@link SlotEngine}'s (read its notes: shards by key, each with
 * its own lock and a fixed share of the slabs; the eviction listener runs under a shard lock and
 * <em>must not block on I/O</em>); layout in {@link io.kvstore.core.tier.internal.SlabDescriptor}.
 *
 * <p>Accounting: {@link #usedBytes()} is the memory of the slabs taken into use so far, which is
 * what the process pays; slabs are allocated lazily, one at a time, never beyond {@code capacity /
 * slabBytes} of them, and kept until {@link #close()}. {@link #storedBytes()} is the sum of the
 * stored pages' lengths.
 *
 * <p>Eviction is per shard and size class, as in CacheLib: each has its own policy (made by the
 * factory when the class gets its first slab in the shard, with capacity = the most slots the class
 * could ever have there), and a page evicts only pages of its own shard and class, or a whole slab of
 * another class of its shard when its class has no slab to evict from.
 *
 * <p>The JVM's {@code -XX:MaxDirectMemorySize} must allow the capacity.
 */
public final class DramTier implements Tier {

  private final SlotEngine engine;

  /** Starts a builder for a tier of {@code capacityBytes} holding pages up to {@code maxPageBytes}. */
  public static DramTierBuilder builder(long capacityBytes, int maxPageBytes) {
    return new DramTierBuilder(capacityBytes, maxPageBytes);
  }

  DramTier(SlabLayout layout, IntFunction<EvictionPolicy> policyFactory, boolean prefault) {
    this.engine =
        new SlotEngine(
            "DRAM tier",
            layout,
            new HostDeviceMemory(layout.maxSlabs(), layout.slabBytes(), prefault),
            policyFactory,
            false,
            0);
  }

  @Override
  public TierKind kind() {
    return TierKind.DRAM;
  }

  @Override
  public long capacityBytes() {
    return engine.layout().capacityBytes();
  }

  @Override
  public long usedBytes() {
    return engine.slabBytesInUse();
  }

  /** Sum of the lengths of the pages stored now (at most {@link #usedBytes()}). */
  public long storedBytes() {
    return engine.storedBytes();
  }

  @Override
  public long pageCount() {
    return engine.pageCount();
  }

  @Override
  public long memoryBytes() {
    return engine.memory().heldBytes();
  }

  @Override
  public int maxPageBytes() {
    return engine.layout().maxPageBytes();
  }

  /** Size of every slab. */
  public int slabBytes() {
    return engine.layout().slabBytes();
  }

  /** The slot sizes. */
  public SizeClasses sizeClasses() {
    return engine.layout().classes();
  }

  /** Number of shards (each with its own lock and share of the slabs). */
  public int shardCount() {
    return engine.shardCount();
  }

  /** Number of slabs given to class {@code sizeClass} now, over all shards. */
  public int slabsOfClass(int sizeClass) {
    return engine.slabsOfClass(sizeClass);
  }

  @Override
  public void setEvictionListener(EvictionListener listener) {
    engine.setEvictionListener(listener);
  }

  @Override
  public void releaseHeld(long hold) {
    engine.releaseHeld(hold);
  }

  /**
   * Bytes of the slots holding pages evicted to write-back and not yet released (see {@link
   * EvictionListener#onEvictHeld}); part of the used memory.
   */
  public long heldBytes() {
    return engine.heldBytes();
  }

  @Override
  public boolean put(ByteBuffer src) {
    return engine.put(src);
  }

  @Override
  public boolean reservable() {
    return engine.reservable();
  }

  @Override
  public long reserve(long keyHi, long keyLo, int pageLength) {
    return engine.reserve(keyHi, keyLo, pageLength);
  }

  @Override
  public ByteBuffer reservedPage(long reservation) {
    return engine.reservedView(reservation);
  }

  @Override
  public boolean commit(long reservation) {
    return engine.commit(reservation);
  }

  @Override
  public void abort(long reservation) {
    engine.abort(reservation);
  }

  @Override
  public int get(long keyHi, long keyLo, ByteBuffer dst) {
    return engine.get(keyHi, keyLo, dst);
  }

  @Override
  public PinnedPage pin(long keyHi, long keyLo) {
    return engine.pin(keyHi, keyLo);
  }

  @Override
  public int length(long keyHi, long keyLo) {
    return engine.length(keyHi, keyLo);
  }

  @Override
  public boolean delete(long keyHi, long keyLo) {
    return engine.delete(keyHi, keyLo);
  }

  @Override
  public void close() {
    engine.close();
  }
}
