package io.kvstore.core.tier.hot;

import io.kvstore.core.memory.DeviceMemory;
import io.kvstore.core.policy.EvictionPolicy;
import io.kvstore.core.policy.LruPolicy;
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
 * The hot tier: each page in a frame sized to it (a size-classed slot, as in the DRAM tier) of
 * slabs from a {@link DeviceMemory} backend (host memory by default; device memory for a CUDA
 * backend), found by key and reachable by {@link MemoryHandle}s (frame + generation) that are
 * checked for staleness before every use: a stale handle is detected and never dereferenced.
 *
 * <p>Storage, sharding, pinning and eviction are the shared {@link SlotEngine}'s (read its notes:
 * shards by key, each with its own lock and a fixed share of the slabs; a pinned frame is never
 * evicted or reused; the eviction listener runs under a shard lock and <em>must not block on
 * I/O</em>). A frame index is the engine's global slot id, so a handle names one slot of one slab;
 * the frame's generation moves on whenever the frame stops holding the page a handle was taken for
 * (delete, eviction, replacement, reuse, slab moved to another class).
 *
 * <p>Accounting: {@link #usedBytes()} is the sum of the sizes of the frames holding pages (live, or
 * retired while pinned); {@link #capacityBytes()} is the capacity asked for. The tier holds as many
 * pages as fit by size: a 64 MiB tier of 4 KiB pages holds about 13,000, not 64 MiB / the largest
 * page.
 *
 * <p>After {@link #close()} every operation throws {@link IllegalStateException}, and {@link
 * #usedBytes()} and {@link #pageCount()} are 0; the backend is closed when the last pin is released.
 */
public final class HotTier implements Tier {

  /** Staging buffers kept for pins when the backend's frames are not host-visible. */
  public static final int DEFAULT_STAGING_BUFFERS = 4;

  private final SlotEngine engine;
  private final String policyName;

  /**
   * A hot tier of {@code capacityBytes} of host memory for pages up to {@code maxPageBytes} (header
   * included), evicting by LRU, with the default size classes and shards.
   *
   * @throws IllegalArgumentException if the capacity cannot hold one page of that size
   */
  public static HotTier create(long capacityBytes, int maxPageBytes) {
    return create(capacityBytes, maxPageBytes, LruPolicy::new);
  }

  /** As {@link #create(long, int)}, with the given eviction policy factory (capacity → policy). */
  public static HotTier create(
      long capacityBytes, int maxPageBytes, IntFunction<EvictionPolicy> policyFactory) {
    return builder(capacityBytes, maxPageBytes).policy(policyFactory).build();
  }

  /** Starts a builder for a tier of {@code capacityBytes} holding pages up to {@code maxPageBytes}. */
  public static HotTierBuilder builder(long capacityBytes, int maxPageBytes) {
    return new HotTierBuilder(capacityBytes, maxPageBytes);
  }

  HotTier(
      SlabLayout layout,
      DeviceMemory.Factory memory,
      IntFunction<EvictionPolicy> policyFactory,
      int maxStagingBuffers) {
    this.policyName = policyFactory.apply(1).name();
    DeviceMemory slabs = memory.create(layout.maxSlabs(), layout.slabBytes());
    try {
      this.engine = new SlotEngine("hot tier", layout, slabs, policyFactory, true, maxStagingBuffers);
    } catch (RuntimeException | Error e) {
      slabs.close();
      throw e;
    }
  }

  @Override
  public TierKind kind() {
    return TierKind.HOT;
  }

  @Override
  public long capacityBytes() {
    return engine.layout().capacityBytes();
  }

  @Override
  public long usedBytes() {
    return engine.occupiedBytes();
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

  /** The backend holding the frames. */
  public DeviceMemory memory() {
    return engine.memory();
  }

  /** The eviction policy's name (one instance per shard and frame size). */
  public String policyName() {
    return policyName;
  }

  /** The frame sizes. */
  public SizeClasses sizeClasses() {
    return engine.layout().classes();
  }

  /** Number of shards (each with its own lock and share of the slabs). */
  public int shardCount() {
    return engine.shardCount();
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

  /** A handle to the page with this key now, or {@link MemoryHandle#NONE} on a miss. */
  public long handle(long keyHi, long keyLo) {
    long packed = engine.handle(keyHi, keyLo);
    return packed == -1L ? MemoryHandle.NONE : packed;
  }

  /**
   * Whether {@code handle} no longer names a stored page (none, out of range, or its frame was
   * deleted, evicted, replaced or reused since the handle was taken).
   */
  public boolean isStale(long handle) {
    return !engine.isCurrent(MemoryHandle.frame(handle), MemoryHandle.generation(handle));
  }

  /**
   * Copies the page named by {@code handle} into {@code dst} at its position, advancing it.
   *
   * @return the page length, or {@link #MISS} if the handle is stale (nothing is read then)
   * @throws IllegalArgumentException if {@code dst} has less room than the page; nothing is copied
   */
  public int read(long handle, ByteBuffer dst) {
    return engine.read(MemoryHandle.frame(handle), MemoryHandle.generation(handle), dst);
  }

  /**
   * Pins the page named by {@code handle}: a read-only view over its frame, or over a staged copy
   * when the backend's frames are not host-visible.
   *
   * @return the pin, or null if the handle is stale or no staging buffer is free
   */
  public PinnedPage pin(long handle) {
    return engine.pin(MemoryHandle.frame(handle), MemoryHandle.generation(handle));
  }

  /** Length of the page named by {@code handle}, or {@link #MISS} if the handle is stale. */
  public int length(long handle) {
    return engine.length(MemoryHandle.frame(handle), MemoryHandle.generation(handle));
  }

  @Override
  public void close() {
    engine.close();
  }
}
