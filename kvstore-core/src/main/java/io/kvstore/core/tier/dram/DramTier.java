package io.kvstore.core.tier.dram;

import io.kvstore.common.BlockKey;
import io.kvstore.common.PageFormat;
import io.kvstore.core.memory.KeySlotTable;
import io.kvstore.core.memory.OffHeapRegion;
import io.kvstore.core.policy.EvictionPolicy;
import io.kvstore.core.tier.EvictionListener;
import io.kvstore.core.tier.PinnedPage;
import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.TierKind;
import io.kvstore.core.tier.internal.PageChecks;
import io.kvstore.core.tier.internal.SlotPin;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntFunction;
import java.util.function.IntPredicate;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The DRAM tier: pages in size-classed slots of large off-heap slabs (layout in {@link
 * SlabDescriptor}), found through a {@link KeySlotTable}, with no Java object per page.
 *
 * <p>Accounting: {@link #usedBytes()} is the memory of the slabs allocated so far, which is what the
 * process pays; slabs are allocated lazily, one at a time, never beyond {@code capacity / slabBytes}
 * of them, and kept until {@link #close()}. {@link #storedBytes()} is the sum of the stored pages'
 * lengths.
 *
 * <p>Eviction is per size class, as in CacheLib: each class has its own policy (made by the factory
 * when the class gets its first slab, with capacity = the most slots the class could ever have), and
 * a page evicts only pages of its own class. A class that needs a slot when none is free takes, in
 * order: a new slab while the capacity allows; the victim of its own policy; and, failing both (it
 * has no slab, or every slot it has is pinned), a whole slab released from another class: the next
 * slab in round-robin order with no pinned slot, whose pages are all evicted. So a put fails only if
 * no slab can be freed because each holds a pinned page. A page's parent is passed to the policy only
 * if it is resident in the same class (policy ids are per class).
 *
 * <p>Concurrency: one lock guards all metadata. Writes copy into the slot under the lock; reads pin
 * the slot under the lock and copy outside it. A pinned slot is never evicted, overwritten or moved;
 * a replaced or deleted page that is still pinned is retired and its slot freed at its last unpin.
 * Closing with pins outstanding defers freeing the slabs to the last unpin.
 *
 * <p>The eviction listener runs under the lock (the slot is not reused before it returns) and must not
 * call back into this tier; an exception from it propagates from {@code put}, the victim being gone.
 *
 * <p>Memory comes from {@link OffHeapRegion} (direct buffers freed at close): the JVM's {@code
 * -XX:MaxDirectMemorySize} must allow the capacity.
 */
public final class DramTier implements Tier {

  private final long capacityBytes;
  private final int maxPageBytes;
  private final int slabBytes;
  private final int maxSlabs;
  private final int maxSlotsPerSlab;
  private final SizeClasses classes;
  private final IntFunction<EvictionPolicy> policyFactory;
  private final Slab[] slabs;
  private final SizeClass[] classState;
  private final KeySlotTable index;
  private final ReentrantLock lock = new ReentrantLock();
  private final IntPredicate evictable = this::isEvictable;

  private volatile EvictionListener listener = EvictionListener.DROP;
  private int slabCount;
  private int releaseCursor;
  private long storedBytes;
  private int outstandingPins;
  /** One releaser for every pin of this tier (no object made per pin for it). */
  private final SlotPin.Releaser releaser = this::release;
  private SizeClass evictingClass;
  private int excludedSlot = -1;
  private boolean closed;

  /** Starts a builder for a tier of {@code capacityBytes} holding pages up to {@code maxPageBytes}. */
  public static DramTierBuilder builder(long capacityBytes, int maxPageBytes) {
    return new DramTierBuilder(capacityBytes, maxPageBytes);
  }

  DramTier(
      long capacityBytes,
      int maxPageBytes,
      int slabBytes,
      SizeClasses classes,
      IntFunction<EvictionPolicy> policyFactory) {
    this.capacityBytes = capacityBytes;
    this.maxPageBytes = maxPageBytes;
    this.slabBytes = slabBytes;
    this.classes = classes;
    this.policyFactory = policyFactory;
    this.maxSlabs = (int) (capacityBytes / slabBytes);
    this.maxSlotsPerSlab = slabBytes / classes.smallest();
    this.slabs = new Slab[maxSlabs];
    this.classState = new SizeClass[classes.count()];
    this.index = new KeySlotTable(Math.min(1 << 16, maxSlabs * maxSlotsPerSlab));
  }

  @Override
  public TierKind kind() {
    return TierKind.DRAM;
  }

  @Override
  public long capacityBytes() {
    return capacityBytes;
  }

  @Override
  public long usedBytes() {
    lock.lock();
    try {
      return closed ? 0 : (long) slabCount * slabBytes;
    } finally {
      lock.unlock();
    }
  }

  /** Sum of the lengths of the pages stored now (at most {@link #usedBytes()}). */
  public long storedBytes() {
    lock.lock();
    try {
      return closed ? 0 : storedBytes;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public long pageCount() {
    lock.lock();
    try {
      return index.size();
    } finally {
      lock.unlock();
    }
  }

  @Override
  public int maxPageBytes() {
    return maxPageBytes;
  }

  /** Size of every slab. */
  public int slabBytes() {
    return slabBytes;
  }

  /** The slot sizes. */
  public SizeClasses sizeClasses() {
    return classes;
  }

  /** Number of slabs given to class {@code sizeClass} now. */
  public int slabsOfClass(int sizeClass) {
    lock.lock();
    try {
      SizeClass k = classState[sizeClass];
      return k == null ? 0 : k.slabCount;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void setEvictionListener(EvictionListener listener) {
    this.listener = Objects.requireNonNull(listener, "listener");
  }

  @Override
  public boolean put(ByteBuffer src) {
    int position = src.position();
    int pageLength = PageChecks.wholePageLength(src);
    if (pageLength > maxPageBytes) {
      return false;
    }
    int sizeClass = classes.classFor(pageLength);
    long hi = PageFormat.keyHi(src, position);
    long lo = PageFormat.keyLo(src, position);
    lock.lock();
    try {
      ensureOpen();
      int old = index.get(hi, lo);
      int target;
      if (old != KeySlotTable.MISSING && isOverwritable(old, sizeClass)) {
        target = old;
        removeFromPolicy(old);
        storedBytes -= slabOf(old).length[slotOf(old)];
      } else {
        target = acquireSlot(sizeClass, old);
        if (target < 0) {
          return false;
        }
        if (old != KeySlotTable.MISSING) {
          removeFromPolicy(old);
          detach(old);
        }
      }
      Slab slab = slabOf(target);
      int slot = slotOf(target);
      slab.region.buffer().putBytes(slab.offset(slot), src, position, pageLength);
      slab.length[slot] = pageLength;
      slab.state[slot] = Slab.LIVE;
      storedBytes += pageLength;
      index.put(hi, lo, target);
      SizeClass k = classState[sizeClass];
      k.policy.onInsert(k.policyId(slab, slot), parentPolicyId(src, position, target, sizeClass));
      return true;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public int get(long keyHi, long keyLo, ByteBuffer dst) {
    int slotId;
    int pageLength;
    lock.lock();
    try {
      ensureOpen();
      slotId = index.get(keyHi, keyLo);
      if (slotId == KeySlotTable.MISSING) {
        return MISS;
      }
      pageLength = slabOf(slotId).length[slotOf(slotId)];
      if (dst.remaining() < pageLength) {
        throw new IllegalArgumentException(
            "destination has " + dst.remaining() + " bytes, the page needs " + pageLength);
      }
      pinSlot(slotId);
      touch(slotId);
    } finally {
      lock.unlock();
    }
    try {
      Slab slab = slabOf(slotId);
      int position = dst.position();
      slab.region.buffer().getBytes(slab.offset(slotOf(slotId)), dst, position, pageLength);
      dst.position(position + pageLength);
    } finally {
      unpin(slotId);
    }
    return pageLength;
  }

  @Override
  public PinnedPage pin(long keyHi, long keyLo) {
    lock.lock();
    try {
      ensureOpen();
      int slotId = index.get(keyHi, keyLo);
      if (slotId == KeySlotTable.MISSING) {
        return null;
      }
      Slab slab = slabOf(slotId);
      int slot = slotOf(slotId);
      ByteBuffer view = slab.region.byteBuffer().slice(slab.offset(slot), slab.length[slot]);
      pinSlot(slotId);
      touch(slotId);
      return new SlotPin(releaser, slotId, null, view.asReadOnlyBuffer());
    } finally {
      lock.unlock();
    }
  }

  @Override
  public int length(long keyHi, long keyLo) {
    lock.lock();
    try {
      ensureOpen();
      int slotId = index.get(keyHi, keyLo);
      return slotId == KeySlotTable.MISSING ? MISS : slabOf(slotId).length[slotOf(slotId)];
    } finally {
      lock.unlock();
    }
  }

  @Override
  public boolean delete(long keyHi, long keyLo) {
    lock.lock();
    try {
      ensureOpen();
      int slotId = index.remove(keyHi, keyLo);
      if (slotId == KeySlotTable.MISSING) {
        return false;
      }
      removeFromPolicy(slotId);
      detach(slotId);
      return true;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void close() {
    lock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      index.clear();
      for (SizeClass k : classState) {
        if (k != null) {
          k.policy.reset();
        }
      }
      freeSlabsIfDone();
    } finally {
      lock.unlock();
    }
  }

  /** Releases a pin made by {@link #pin}. */
  private void release(SlotPin page) {
    lock.lock();
    try {
      if (page.markReleased()) {
        unpinLocked(page.slot());
      }
    } finally {
      lock.unlock();
    }
  }

  /** A free slot of class {@code sizeClass}, made by allocation, eviction or slab release; or -1. */
  private int acquireSlot(int sizeClass, int excluded) {
    SizeClass k = classState(sizeClass);
    if (k.hasFree()) {
      return k.popFree();
    }
    if (slabCount < maxSlabs) {
      Slab slab = new Slab(slabCount, new OffHeapRegion(slabBytes, SlabDescriptor.SLAB_ALIGNMENT), maxSlotsPerSlab);
      slabs[slabCount++] = slab;
      k.adopt(slab, maxSlotsPerSlab);
      return k.popFree();
    }
    int victim = evictFrom(k, excluded);
    if (victim >= 0) {
      return victim;
    }
    Slab released = releaseSlab(sizeClass, excluded);
    if (released == null) {
      return -1;
    }
    k.adopt(released, maxSlotsPerSlab);
    return k.popFree();
  }

  /** Evicts the victim of class {@code k}'s policy; returns its (now free) slot, or -1. */
  private int evictFrom(SizeClass k, int excluded) {
    if (k.slabCount == 0) {
      return -1;
    }
    evictingClass = k;
    excludedSlot = excluded;
    int policyId = k.policy.evict(evictable);
    evictingClass = null;
    excludedSlot = -1;
    if (policyId < 0) {
      return -1;
    }
    Slab slab = k.slabOfPolicyId(policyId);
    int slot = SizeClass.slotOfPolicyId(policyId, k.slotsPerSlab);
    int slotId = SlabDescriptor.slotId(slab.index, slot, maxSlotsPerSlab);
    try {
      evictSlot(slab, slot);
    } catch (RuntimeException | Error e) {
      k.pushFree(slotId);
      throw e;
    }
    return slotId;
  }

  /**
   * Frees a whole slab of another class, evicting its pages: the next slab (round-robin) with no
   * pinned slot that holds neither class {@code sizeClass} nor the excluded slot; or null.
   */
  private Slab releaseSlab(int sizeClass, int excluded) {
    int excludedSlab = excluded < 0 ? -1 : SlabDescriptor.slab(excluded, maxSlotsPerSlab);
    for (int i = 0; i < slabCount; i++) {
      Slab slab = slabs[(releaseCursor + i) % slabCount];
      if (slab.sizeClass == sizeClass || slab.pinnedSlots > 0 || slab.index == excludedSlab) {
        continue;
      }
      releaseCursor = slab.index + 1;
      SizeClass owner = classState[slab.sizeClass];
      for (int slot = 0; slot < slab.slotCount; slot++) {
        if (slab.state[slot] == Slab.LIVE) {
          owner.policy.onRemove(owner.policyId(slab, slot));
          // Free first, so a throwing listener leaves the slab consistent (slot free, page gone).
          owner.pushFree(SlabDescriptor.slotId(slab.index, slot, maxSlotsPerSlab));
          evictSlot(slab, slot);
        }
      }
      owner.release(slab, maxSlotsPerSlab);
      return slab;
    }
    return null;
  }

  /** Removes a live page from the index, frees its slot's state and tells the listener. */
  private void evictSlot(Slab slab, int slot) {
    UnsafeBuffer memory = slab.region.buffer();
    int offset = slab.offset(slot);
    long hi = memory.getLong(offset + PageFormat.KEY_HI_OFFSET, ByteOrder.LITTLE_ENDIAN);
    long lo = memory.getLong(offset + PageFormat.KEY_LO_OFFSET, ByteOrder.LITTLE_ENDIAN);
    int pageLength = slab.length[slot];
    index.remove(hi, lo);
    slab.state[slot] = Slab.FREE;
    storedBytes -= pageLength;
    EvictionListener current = listener;
    if (current != EvictionListener.DROP) {
      current.onEvict(hi, lo, slab.region.byteBuffer().slice(offset, pageLength).asReadOnlyBuffer());
    }
  }

  private boolean isEvictable(int policyId) {
    SizeClass k = evictingClass;
    Slab slab = k.slabOfPolicyId(policyId);
    if (slab == null) {
      return false;
    }
    int slot = SizeClass.slotOfPolicyId(policyId, k.slotsPerSlab);
    return slab.state[slot] == Slab.LIVE
        && slab.pins[slot] == 0
        && SlabDescriptor.slotId(slab.index, slot, maxSlotsPerSlab) != excludedSlot;
  }

  private SizeClass classState(int sizeClass) {
    SizeClass k = classState[sizeClass];
    if (k == null) {
      int slotBytes = classes.slotBytes(sizeClass);
      int slotsPerSlab = slabBytes / slotBytes;
      EvictionPolicy policy = policyFactory.apply(maxSlabs * slotsPerSlab);
      k = new SizeClass(sizeClass, slotBytes, slotsPerSlab, maxSlabs, Objects.requireNonNull(policy));
      classState[sizeClass] = k;
    }
    return k;
  }

  private boolean isOverwritable(int slotId, int sizeClass) {
    Slab slab = slabOf(slotId);
    return slab.sizeClass == sizeClass && slab.pins[slotOf(slotId)] == 0;
  }

  private void removeFromPolicy(int slotId) {
    Slab slab = slabOf(slotId);
    SizeClass k = classState[slab.sizeClass];
    k.policy.onRemove(k.policyId(slab, slotOf(slotId)));
  }

  private void touch(int slotId) {
    Slab slab = slabOf(slotId);
    SizeClass k = classState[slab.sizeClass];
    k.policy.onAccess(k.policyId(slab, slotOf(slotId)));
  }

  /** The slot's page left the index: retire it if pinned, else free it. */
  private void detach(int slotId) {
    Slab slab = slabOf(slotId);
    int slot = slotOf(slotId);
    storedBytes -= slab.length[slot];
    if (slab.pins[slot] > 0) {
      slab.state[slot] = Slab.RETIRED;
    } else {
      slab.state[slot] = Slab.FREE;
      classState[slab.sizeClass].pushFree(slotId);
    }
  }

  private void pinSlot(int slotId) {
    Slab slab = slabOf(slotId);
    if (slab.pins[slotOf(slotId)]++ == 0) {
      slab.pinnedSlots++;
    }
    outstandingPins++;
  }

  private void unpin(int slotId) {
    lock.lock();
    try {
      unpinLocked(slotId);
    } finally {
      lock.unlock();
    }
  }

  private void unpinLocked(int slotId) {
    Slab slab = slabOf(slotId);
    int slot = slotOf(slotId);
    outstandingPins--;
    if (--slab.pins[slot] == 0) {
      slab.pinnedSlots--;
      if (slab.state[slot] == Slab.RETIRED) {
        slab.state[slot] = Slab.FREE;
        classState[slab.sizeClass].pushFree(slotId);
      }
    }
    freeSlabsIfDone();
  }

  private void freeSlabsIfDone() {
    if (closed && outstandingPins == 0) {
      for (int i = 0; i < slabCount; i++) {
        slabs[i].region.close();
      }
    }
  }

  private int parentPolicyId(ByteBuffer page, int position, int slotId, int sizeClass) {
    long parentHi = PageFormat.parentHi(page, position);
    long parentLo = PageFormat.parentLo(page, position);
    if (BlockKey.isRoot(parentHi, parentLo)) {
      return EvictionPolicy.NO_PARENT;
    }
    int parent = index.get(parentHi, parentLo);
    if (parent == KeySlotTable.MISSING || parent == slotId) {
      return EvictionPolicy.NO_PARENT;
    }
    Slab slab = slabOf(parent);
    return slab.sizeClass == sizeClass
        ? classState[sizeClass].policyId(slab, slotOf(parent))
        : EvictionPolicy.NO_PARENT;
  }

  private Slab slabOf(int slotId) {
    return slabs[SlabDescriptor.slab(slotId, maxSlotsPerSlab)];
  }

  private int slotOf(int slotId) {
    return SlabDescriptor.slot(slotId, maxSlotsPerSlab);
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("DRAM tier is closed");
    }
  }
}
