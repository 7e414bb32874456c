package io.kvstore.core.tier.internal;

import io.kvstore.common.PageFormat;
import io.kvstore.core.memory.DeviceMemory;
import io.kvstore.core.policy.EvictionPolicy;
import io.kvstore.core.tier.EvictionListener;
import io.kvstore.core.tier.PinnedPage;
import io.kvstore.core.tier.Tier;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/**
 * The slot engine of the memory tiers (hot and DRAM): pages in size-classed slots of slabs from a
 * {@link DeviceMemory}, found by key, pinned while read, evicted through an {@link EvictionPolicy},
 * with no Java object per page. {@code HotTier} and {@code DramTier} are thin users of it: they
 * choose the backend and what {@code usedBytes} means, and the hot tier adds handles.
 *
 * <h2>Implementation notes</h2>
 *
 * <p><b>Shards.</b> Keys are spread over {@code N} shards (a power of two; top bits of a 64-bit mix
 * of the key, independent of the bits the key tables use). Each {@link Shard} has its own lock, key
 * table ({@code KeySlotTable}), size classes with one policy each, and a fixed share of the slabs: a
 * contiguous range of about {@code maxSlabs / N} slab indexes (the first {@code maxSlabs % N} shards
 * get one more), as in the segments of Guava's cache or the striped LRUs of memcached: nothing is
 * shared between shards on the request path, so threads working on different keys never wait for
 * each other. The layout ({@link SlabLayout}) keeps {@code N} small enough that every shard owns at
 * least {@link SlabLayout#MIN_SLABS_PER_SHARD} slabs (a tiny tier gets one shard).
 *
 * <p><b>Capacity split, and what it costs.</b> The shares are fixed, not borrowed: a shard evicts
 * within its share even if another shard has room, so the tier's victim is the policy's victim of
 * one shard (and one size class), not of the whole tier. With keys spread uniformly (block keys are
 * hashes) the shards fill evenly, and the tier behaves like N caches of 1/N the size each: the same
 * approximation every sharded cache makes (CacheLib evicts per pool and allocation class, Guava per
 * segment). Two effects follow: eviction is less exact than one global order (a page may be evicted
 * while an older page survives in another shard), and a prefix-aware policy sees a page's parent
 * only when both fall in the same shard and size class (policy ids are per shard and class), so
 * parents in other shards count as absent. A third is memory locality: pages put one after another
 * (a prompt's chain) land in consecutive slots of one slab in an unsharded tier, which the CPU's
 * prefetching rewards when they are read back in the same order; sharded, they are spread over N
 * shards' slabs. An ad-hoc single-thread check of 4 KiB DRAM gets with keys walked in put order
 * (best of 100 ms windows, loaded 2-vCPU VM) saw about 0.8-1.1 µs with 4 shards against 0.6-0.8 µs
 * with one, and no difference with a random walk; 64 KiB pages showed none within noise. {@code
 * shards(1)} on the builders gives the unsharded layout back (one lock).
 *
 * <p><b>Large pages.</b> Every slab is at least the largest slot and every shard owns at least one
 * slab, so any page up to the tier's largest fits in any shard: its class takes a free slot, or a
 * new slab of the share, or its policy's victim, or a whole slab of another class of the same shard
 * (the next, round-robin, with no pinned slot: its pages are evicted). A put is refused only if none
 * of these exists, i.e. every candidate is pinned. Chosen over one slab allocator shared by all
 * shards because a shared pool would need a second lock on the allocation path and cross-shard
 * stealing when it runs dry; fixed shares need neither, and cost only the accuracy above.
 *
 * <p><b>Reads and pins.</b> A get pins the slot under the shard lock, copies outside it, and unpins
 * under it, so reads of large pages overlap. A pinned slot is never evicted, overwritten or moved to
 * another class: a replaced or deleted page that is still pinned is retired and its slot freed at
 * its last unpin. Pins of a backend that is not host-visible go through staging buffers.
 *
 * <p><b>Reservations.</b> A put copies the page into its slot under the shard lock, so a 2 MiB
 * copy makes every other key of the shard wait. {@link #reserve} instead takes a free slot under
 * the lock (evicting as a put would), pins it and keeps it out of the key table; the caller fills
 * it through {@link #reservedView} with no lock held (nobody else can see the slot), checks its own
 * copy, and then {@link #commit}s it (under the lock again: key table, policy, unpin) or {@link
 * #abort}s it (freed). Only host-visible backends offer this (a device slab has no host view to
 * fill and check); {@link #reservable()} says so.
 *
 * <p><b>Eviction listener.</b> Called for each evicted page before its slot is reused, under the
 * shard's lock (other shards go on), with a read-only view valid during the call. <em>The listener
 * must not block on I/O</em> and must not call back into the tier (a memcpy into a write-back buffer
 * is what it is for); an exception from it propagates from {@code put}, the victim being gone.
 *
 * <p><b>Close.</b> Every shard forgets its pages at once and every later call throws {@link
 * IllegalStateException}; the memory is freed when the last pin of the last shard is released (at
 * once if none is held), so a reader holding a pin or copying a page is never left reading freed
 * memory.
 */
public final class SlotEngine {

  private static final int UNKNOWN = 0;
  private static final int VISIBLE = 1;
  private static final int HIDDEN = 2;

  final DeviceMemory memory;
  final SlabLayout layout;
  final IntFunction<EvictionPolicy> policyFactory;
  final boolean generations;
  final StagingPool staging;
  final String name;
  /** One releaser for every pin of the tier (no object made per pin for it). */
  final SlotPin.Releaser releaser = this::release;

  private final Shard[] shards;
  private final int shardShift;
  private final AtomicInteger undrainedShards;
  private volatile EvictionListener listener = EvictionListener.DROP;
  /** Each shard's share of the listener's {@link EvictionListener#holdAheadBytes()}; 0: none. */
  private volatile long holdAheadBytesPerShard;
  private volatile boolean closed;
  /** {@link #UNKNOWN} until a reservation saw a slab, then {@link #VISIBLE} or {@link #HIDDEN}. */
  private volatile int hostVisible = UNKNOWN;

  /**
   * An engine over {@code memory} (owned, closed by the engine from now on), which must have the
   * layout's slab count and size.
   *
   * @param name the tier's name for messages ("hot tier")
   * @param generations whether slots keep generations (for handles)
   * @param maxStagingBuffers how many pins may be served at once by staged copies when {@link
   *     DeviceMemory#hostView} is null; beyond that a pin is refused (null)
   */
  public SlotEngine(
      String name,
      SlabLayout layout,
      DeviceMemory memory,
      IntFunction<EvictionPolicy> policyFactory,
      boolean generations,
      int maxStagingBuffers) {
    this.memory = Objects.requireNonNull(memory, "memory");
    // The engine owns the memory from here on (HostDeviceMemory has a thread and a slab allocated
    // ahead): a constructor that fails closes it.
    try {
      this.name = Objects.requireNonNull(name, "name");
      this.layout = Objects.requireNonNull(layout, "layout");
      this.policyFactory = Objects.requireNonNull(policyFactory, "policyFactory");
      if (memory.slabCount() < layout.maxSlabs() || memory.slabBytes() < layout.slabBytes()) {
        throw new IllegalArgumentException(
            "memory " + memory.name() + " has " + memory.slabCount() + " slabs of "
                + memory.slabBytes() + " bytes, the layout needs " + layout.maxSlabs() + " of "
                + layout.slabBytes());
      }
      this.generations = generations;
      this.staging = new StagingPool(memory, maxStagingBuffers, layout.classes().largest());
      this.shards = new Shard[layout.shards()];
      for (int i = 0; i < shards.length; i++) {
        shards[i] = new Shard(this, i);
      }
    } catch (RuntimeException | Error e) {
      try {
        memory.close();
      } catch (RuntimeException closing) {
        e.addSuppressed(closing);
      }
      throw e;
    }
    this.shardShift = 64 - Integer.numberOfTrailingZeros(shards.length);
    this.undrainedShards = new AtomicInteger(shards.length);
  }

  /** The layout. */
  public SlabLayout layout() {
    return layout;
  }

  /** The backend. */
  public DeviceMemory memory() {
    return memory;
  }

  /** Number of shards. */
  public int shardCount() {
    return shards.length;
  }

  /** The eviction listener now. */
  EvictionListener listener() {
    return listener;
  }

  /** Bytes each shard keeps free or held ahead of need for the listener (0: none). */
  long holdAheadBytesPerShard() {
    return holdAheadBytesPerShard;
  }

  /** Sets who is told of evicted pages (and how much it may hold: see {@link EvictionListener}). */
  public void setEvictionListener(EvictionListener listener) {
    this.listener = Objects.requireNonNull(listener, "listener");
    this.holdAheadBytesPerShard = Math.max(0, listener.holdAheadBytes()) / shards.length;
  }

  /** As {@link Tier#releaseHeld}. */
  public void releaseHeld(long hold) {
    Shard shard = hold < 0 || hold > Integer.MAX_VALUE ? null : shardOfSlot((int) hold);
    if (shard == null) {
      throw new IllegalStateException(name + ": not a held page: " + hold);
    }
    shard.releaseHeld((int) hold);
  }

  /** Bytes of the slots held by the eviction listener now (pages evicted, not yet released). */
  public long heldBytes() {
    long n = 0;
    for (Shard shard : shards) {
      n += shard.heldBytes();
    }
    return n;
  }

  /** As {@link Tier#put}. The copy runs under the key's shard lock. */
  public boolean put(ByteBuffer src) {
    int position = src.position();
    int pageLength = PageChecks.wholePageLength(src);
    if (pageLength > layout.maxPageBytes()) {
      return false;
    }
    int sizeClass = layout.classes().classFor(pageLength);
    long hi = PageFormat.keyHi(src, position);
    long lo = PageFormat.keyLo(src, position);
    return shardOf(hi, lo).put(src, position, pageLength, sizeClass, hi, lo);
  }

  /**
   * As {@link Tier#reserve}: a pinned free slot of the key's shard for a page of {@code
   * pageLength} bytes, filled by the caller through {@link #reservedView} without any lock, then
   * {@link #commit committed} or {@link #abort aborted}. The reservation is the slot id, or {@link
   * Tier#NO_RESERVATION}.
   */
  public long reserve(long hi, long lo, int pageLength) {
    if (pageLength < PageFormat.HEADER_LENGTH || pageLength > layout.maxPageBytes() || !reservable()) {
      return Tier.NO_RESERVATION;
    }
    int slotId = shardOf(hi, lo).reserve(hi, lo, pageLength, layout.classes().classFor(pageLength));
    return slotId < 0 ? Tier.NO_RESERVATION : slotId;
  }

  /** As {@link Tier#reservedPage}. */
  public ByteBuffer reservedView(long reservation) {
    return reservationShard(reservation).reservedView((int) reservation);
  }

  /** As {@link Tier#commit}. */
  public boolean commit(long reservation) {
    return reservationShard(reservation).commit((int) reservation);
  }

  /** As {@link Tier#abort}. */
  public void abort(long reservation) {
    reservationShard(reservation).abort((int) reservation);
  }

  /**
   * As {@link Tier#reservable()}: false once a slab is known not to be host-visible (a device
   * backend, whose pages cannot be filled and checked through a host view).
   */
  public boolean reservable() {
    return hostVisible != HIDDEN;
  }

  /** Whether slab {@code slab} (allocated) is host-visible; remembers a hidden backend. */
  boolean checkHostVisible(int slab) {
    if (hostVisible == VISIBLE) {
      return true;
    }
    boolean visible = memory.hostView(slab) != null;
    hostVisible = visible ? VISIBLE : HIDDEN;
    return visible;
  }

  /** Whether {@code shard} is the shard of the key. */
  boolean isShardOf(Shard shard, long hi, long lo) {
    return shardOf(hi, lo) == shard;
  }

  private Shard reservationShard(long reservation) {
    Shard shard = reservation < 0 || reservation > Integer.MAX_VALUE ? null : shardOfSlot((int) reservation);
    if (shard == null) {
      throw new IllegalArgumentException(name + ": not a reservation: " + reservation);
    }
    return shard;
  }

  /** As {@link Tier#get}. */
  public int get(long hi, long lo, ByteBuffer dst) {
    Shard shard = shardOf(hi, lo);
    int slotId = shard.pinForCopy(hi, lo, dst);
    return slotId < 0 ? Tier.MISS : shard.copyPinned(slotId, dst);
  }

  /** As {@link Tier#pin}, or null when no staging buffer is free for a hidden backend. */
  public PinnedPage pin(long hi, long lo) {
    return shardOf(hi, lo).pin(hi, lo);
  }

  /** As {@link Tier#length}. */
  public int length(long hi, long lo) {
    return shardOf(hi, lo).length(hi, lo);
  }

  /** As {@link Tier#delete}. */
  public boolean delete(long hi, long lo) {
    return shardOf(hi, lo).delete(hi, lo);
  }

  /**
   * The key's page as {@code generation << 32 | slot id} (the {@code MemoryHandle} packing), or -1
   * on a miss. Generations are kept only if the engine was made with them (else always 0).
   */
  public long handle(long hi, long lo) {
    return shardOf(hi, lo).handle(hi, lo);
  }

  /** Whether slot {@code slotId} holds a live page of that generation now. */
  public boolean isCurrent(int slotId, int generation) {
    Shard shard = shardOfSlot(slotId);
    if (shard == null) {
      ensureOpen();
      return false;
    }
    return shard.isCurrentLocked(slotId, generation);
  }

  /** As {@link #get} for a slot and generation; {@link Tier#MISS} if it is not current. */
  public int read(int slotId, int generation, ByteBuffer dst) {
    Shard shard = shardOfSlot(slotId);
    if (shard == null) {
      ensureOpen();
      return Tier.MISS;
    }
    int pinned = shard.pinHandleForCopy(slotId, generation, dst);
    return pinned < 0 ? Tier.MISS : shard.copyPinned(slotId, dst);
  }

  /** As {@link #pin} for a slot and generation; null if it is not current. */
  public PinnedPage pin(int slotId, int generation) {
    Shard shard = shardOfSlot(slotId);
    if (shard == null) {
      ensureOpen();
      return null;
    }
    return shard.pinHandle(slotId, generation);
  }

  /** As {@link #length} for a slot and generation; {@link Tier#MISS} if it is not current. */
  public int length(int slotId, int generation) {
    Shard shard = shardOfSlot(slotId);
    if (shard == null) {
      ensureOpen();
      return Tier.MISS;
    }
    return shard.lengthOfHandle(slotId, generation);
  }

  /** Number of pages stored now (a sum over shards, each read without its lock). */
  public long pageCount() {
    long n = 0;
    for (Shard shard : shards) {
      n += shard.pageCount();
    }
    return n;
  }

  /** Sum of the stored pages' lengths. */
  public long storedBytes() {
    long n = 0;
    for (Shard shard : shards) {
      n += shard.storedBytes();
    }
    return n;
  }

  /** Sum of the sizes of the slots holding pages (live, or retired while pinned). */
  public long occupiedBytes() {
    long n = 0;
    for (Shard shard : shards) {
      n += shard.occupiedBytes();
    }
    return n;
  }

  /** Bytes of the slabs taken into use so far. */
  public long slabBytesInUse() {
    if (closed) {
      return 0;
    }
    long slabs = 0;
    for (Shard shard : shards) {
      slabs += shard.slabCount();
    }
    return slabs * layout.slabBytes();
  }

  /** Slabs given to size class {@code sizeClass} now, over all shards. */
  public int slabsOfClass(int sizeClass) {
    int n = 0;
    for (Shard shard : shards) {
      n += shard.slabsOfClass(sizeClass);
    }
    return n;
  }

  /** Whether {@link #close()} was called. */
  public boolean isClosed() {
    return closed;
  }

  /** As {@link Tier#close()}: see the class notes. Idempotent. */
  public void close() {
    closed = true;
    for (Shard shard : shards) {
      shard.close();
    }
  }

  /** Called once by each shard when it is closed and has no pin left. */
  void shardDrained() {
    if (undrainedShards.decrementAndGet() == 0) {
      memory.close();
    }
  }

  private void release(SlotPin pin) {
    shardOfSlot(pin.slot()).release(pin);
  }

  private Shard shardOf(long hi, long lo) {
    if (shards.length == 1) {
      return shards[0];
    }
    // A different mix from the key tables' (which use the low bits of theirs).
    long h = (hi ^ Long.rotateLeft(lo, 29)) * 0xC2B2AE3D27D4EB4FL;
    h ^= h >>> 31;
    h *= 0x9E3779B97F4A7C15L;
    return shards[(int) (h >>> shardShift)];
  }

  /** The shard owning a slot id, or null if the id names no slab of this tier. */
  private Shard shardOfSlot(int slotId) {
    if (slotId < 0) {
      return null;
    }
    int slab = SlabDescriptor.slab(slotId, layout.maxSlotsPerSlab());
    return slab < layout.maxSlabs() ? shards[layout.shardOfSlab(slab)] : null;
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException(name + " is closed");
    }
  }
}
