package io.kvstore.core.tier.internal;

import io.kvstore.common.BlockKey;
import io.kvstore.common.PageFormat;
import io.kvstore.core.memory.DeviceMemory;
import io.kvstore.core.memory.KeySlotTable;
import io.kvstore.core.policy.EvictionPolicy;
import io.kvstore.core.tier.EvictionListener;
import io.kvstore.core.tier.PinnedPage;
import io.kvstore.core.tier.Tier;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntPredicate;

/**
 * One shard of a {@link SlotEngine}: the pages whose keys hash to it, in the slabs of its fixed
 * share, under its own lock, with its own key table, size classes and policies. Everything here
 * runs under {@link #lock} unless a method says otherwise; nothing slow runs under it except the
 * eviction listener (which the tier's users must keep to a memcpy).
 */
final class Shard {

  final ReentrantLock lock = new ReentrantLock();
  private final SlotEngine engine;
  private final DeviceMemory memory;
  private final SlabLayout layout;
  private final int maxSlotsPerSlab;
  private final int firstSlab;
  private final Slab[] slabs;
  private final ShardClass[] classState;
  private final KeySlotTable table;
  private final IntPredicate evictable = this::isEvictable;

  private int slabCount;
  private int releaseCursor;
  private int outstandingPins;
  private ShardClass evictingClass;
  private int excludedSlot = -1;
  private boolean closed;
  private boolean drained;
  /** Host buffers for eviction callbacks and key reads when the backend is not host-visible. */
  private ByteBuffer evictionStaging;
  private ByteBuffer headerStaging;

  // Statistics, written under the lock and read without it (plain counters mirror them).
  private long storedBytes;
  private long occupiedBytes;
  private long heldBytes;
  private volatile long heldBytesView;
  private volatile long storedBytesView;
  private volatile long occupiedBytesView;
  private volatile int slabCountView;
  private volatile int pageCountView;

  Shard(SlotEngine engine, int shard) {
    this.engine = engine;
    this.memory = engine.memory;
    this.layout = engine.layout;
    this.maxSlotsPerSlab = layout.maxSlotsPerSlab();
    this.firstSlab = layout.firstSlabOfShard(shard);
    this.slabs = new Slab[layout.slabsOfShard(shard)];
    this.classState = new ShardClass[layout.classes().count()];
    this.table = new KeySlotTable(Math.min(1 << 12, slabs.length * maxSlotsPerSlab));
  }

  long storedBytes() {
    return storedBytesView;
  }

  long occupiedBytes() {
    return occupiedBytesView;
  }

  int slabCount() {
    return slabCountView;
  }

  int pageCount() {
    return pageCountView;
  }

  long heldBytes() {
    return heldBytesView;
  }

  int slabsOfClass(int sizeClass) {
    lock.lock();
    try {
      ShardClass k = classState[sizeClass];
      return k == null ? 0 : k.slabCount;
    } finally {
      lock.unlock();
    }
  }

  /** Stores the page {@code src[position, position + pageLength)} of class {@code sizeClass}. */
  boolean put(ByteBuffer src, int position, int pageLength, int sizeClass, long hi, long lo) {
    // src[position, limit) is exactly the page (checked by the engine).
    lock.lock();
    try {
      ensureOpen();
      int old = table.get(hi, lo);
      boolean inPlace = old != KeySlotTable.MISSING && isOverwritable(old, sizeClass);
      int target;
      if (inPlace) {
        // Nobody reads the old version: overwrite it in place (old handles go stale).
        target = old;
        removeFromPolicy(old);
        storedBytes -= lengthOf(old);
        slabOf(old).bumpGeneration(slotOf(old));
      } else {
        target = acquireSlot(sizeClass, old);
        if (target < 0) {
          publish();
          return false;
        }
      }
      Slab slab = slabOf(target);
      int slot = slotOf(target);
      try {
        memory.copyIn(slab.index, slab.offset(slot), src);
      } catch (RuntimeException | Error e) {
        // The target holds nothing valid: give it back free (an overwritten old page is gone).
        if (inPlace) {
          table.remove(hi, lo);
        }
        freeSlot(slab, slot, target);
        publish();
        throw e;
      }
      if (!inPlace && old != KeySlotTable.MISSING) {
        removeFromPolicy(old);
        detach(old);
      }
      slab.length[slot] = pageLength;
      slab.state[slot] = Slab.LIVE;
      storedBytes += pageLength;
      table.put(hi, lo, target);
      ShardClass k = classState[sizeClass];
      k.policy.onInsert(k.policyId(slab, slot), parentPolicyId(src, position, target, sizeClass));
      publish();
      return true;
    } finally {
      lock.unlock();
    }
  }

  // ---- reservations: reserve a slot, fill it outside the lock, then commit or abort -----------

  /**
   * Reserves a free slot of class {@code sizeClass} for a page of {@code pageLength} bytes with
   * this key, evicting as {@link #put} would (sparing the key's current slot, which stays served
   * until the commit). The slot is pinned, so it is neither evicted nor re-carved, and is in no key
   * table: nobody reads it until {@link #commit}. Returns its slot id, or -1 when no slot can be
   * made free (everything evictable is pinned) or the backend's slabs are not host-visible (then
   * the engine stops offering reservations, see {@link SlotEngine#reservable()}).
   */
  int reserve(long hi, long lo, int pageLength, int sizeClass) {
    lock.lock();
    try {
      ensureOpen();
      // Checked before anything is evicted: a hidden backend cannot be filled through a view.
      if (slabCount > 0 && !engine.checkHostVisible(slabs[0].index)) {
        return -1;
      }
      int target = acquireSlot(sizeClass, table.get(hi, lo));
      if (target < 0) {
        publish();
        return -1;
      }
      Slab slab = slabOf(target);
      int slot = slotOf(target);
      slab.state[slot] = Slab.RESERVED;
      slab.length[slot] = pageLength;
      pinSlot(target);
      if (!engine.checkHostVisible(slab.index)) {
        endReservation(slab, slot, target);
        return -1;
      }
      publish();
      return target;
    } finally {
      lock.unlock();
    }
  }

  /**
   * A writable view of exactly the reserved slot (position 0, limit the reserved length). Only the
   * reserver writes it, without the lock: the slot is pinned and in no table until committed.
   */
  ByteBuffer reservedView(int slotId) {
    lock.lock();
    try {
      Slab slab = reservedSlab(slotId);
      int slot = slotOf(slotId);
      return memory.hostView(slab.index).slice(slab.offset(slot), slab.length[slot]);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Publishes a filled reservation under the key in its header (which must map to this shard),
   * replacing the key's current page if any, as {@link #put} does. False, and the slot freed, if
   * the tier was closed meanwhile.
   */
  boolean commit(int slotId) {
    lock.lock();
    try {
      Slab slab = reservedSlab(slotId);
      int slot = slotOf(slotId);
      if (closed) {
        endReservation(slab, slot, slotId);
        return false;
      }
      ByteBuffer host = memory.hostView(slab.index);
      int offset = slab.offset(slot);
      long hi = PageFormat.keyHi(host, offset);
      long lo = PageFormat.keyLo(host, offset);
      if (!engine.isShardOf(this, hi, lo)) {
        endReservation(slab, slot, slotId);
        throw new IllegalStateException(
            engine.name + ": a reservation was filled with a page of a key of another shard");
      }
      int old = table.get(hi, lo);
      if (old != KeySlotTable.MISSING) {
        removeFromPolicy(old);
        detach(old);
      }
      slab.state[slot] = Slab.LIVE;
      storedBytes += slab.length[slot];
      table.put(hi, lo, slotId);
      ShardClass k = classState[slab.sizeClass];
      k.policy.onInsert(k.policyId(slab, slot), parentPolicyId(host, offset, slotId, slab.sizeClass));
      unpinLocked(slotId);
      publish();
      return true;
    } finally {
      lock.unlock();
    }
  }

  /** Gives a reservation back: its slot is freed (or just dropped if the tier was closed). */
  void abort(int slotId) {
    lock.lock();
    try {
      endReservation(reservedSlab(slotId), slotOf(slotId), slotId);
    } finally {
      lock.unlock();
    }
  }

  private Slab reservedSlab(int slotId) {
    Slab slab = slabOf(slotId);
    if (slab == null || slab.state[slotOf(slotId)] != Slab.RESERVED) {
      throw new IllegalStateException(engine.name + ": slot " + slotId + " is not reserved");
    }
    return slab;
  }

  /** Ends a reservation without publishing it: retired, so its last unpin frees the slot. */
  private void endReservation(Slab slab, int slot, int slotId) {
    slab.state[slot] = Slab.RETIRED;
    unpinLocked(slotId);
    publish();
  }

  /** The slot id holding the key, pinned, after checking {@code dst} has room; or -1 on a miss. */
  int pinForCopy(long hi, long lo, ByteBuffer dst) {
    lock.lock();
    try {
      ensureOpen();
      int slotId = table.get(hi, lo);
      if (slotId == KeySlotTable.MISSING) {
        return -1;
      }
      pinForCopyLocked(slotId, dst);
      return slotId;
    } finally {
      lock.unlock();
    }
  }

  /** As {@link #pinForCopy} for a handle's slot and generation; -1 if the handle is stale. */
  int pinHandleForCopy(int slotId, int generation, ByteBuffer dst) {
    lock.lock();
    try {
      ensureOpen();
      if (!isCurrent(slotId, generation)) {
        return -1;
      }
      pinForCopyLocked(slotId, dst);
      return slotId;
    } finally {
      lock.unlock();
    }
  }

  private void pinForCopyLocked(int slotId, ByteBuffer dst) {
    int pageLength = lengthOf(slotId);
    if (dst.remaining() < pageLength) {
      throw new IllegalArgumentException(
          "destination has " + dst.remaining() + " bytes, the page needs " + pageLength);
    }
    pinSlot(slotId);
    touch(slotId);
  }

  /**
   * Outside the lock: copies the slot pinned by {@link #pinForCopy} into {@code dst} (nothing writes
   * a pinned slot, and its slab cannot be re-carved), then unpins it.
   */
  int copyPinned(int slotId, ByteBuffer dst) {
    try {
      // The slab entry was written before the pin was taken under the lock: read it directly.
      Slab slab = slabs[SlabDescriptor.slab(slotId, maxSlotsPerSlab) - firstSlab];
      int slot = slotOf(slotId);
      int pageLength = slab.length[slot];
      memory.copyOut(slab.index, slab.offset(slot), pageLength, dst);
      return pageLength;
    } finally {
      unpin(slotId);
    }
  }

  /** A pin on the key's page, or null on a miss or when no staging buffer is free. */
  PinnedPage pin(long hi, long lo) {
    lock.lock();
    try {
      ensureOpen();
      int slotId = table.get(hi, lo);
      return slotId == KeySlotTable.MISSING ? null : pinLocked(slotId);
    } finally {
      lock.unlock();
    }
  }

  /** A pin on a handle's page, or null if the handle is stale or no staging buffer is free. */
  PinnedPage pinHandle(int slotId, int generation) {
    lock.lock();
    try {
      ensureOpen();
      return isCurrent(slotId, generation) ? pinLocked(slotId) : null;
    } finally {
      lock.unlock();
    }
  }

  private PinnedPage pinLocked(int slotId) {
    Slab slab = slabOf(slotId);
    int slot = slotOf(slotId);
    int pageLength = slab.length[slot];
    ByteBuffer host = memory.hostView(slab.index);
    ByteBuffer staging = null;
    ByteBuffer view;
    if (host != null) {
      view = host.slice(slab.offset(slot), pageLength);
    } else {
      staging = engine.staging.take();
      if (staging == null) {
        return null;
      }
      memory.copyOut(slab.index, slab.offset(slot), pageLength, staging);
      view = staging.slice(0, pageLength);
    }
    // A staged copy keeps its slot pinned too: a pinned page is never evicted nor reused.
    pinSlot(slotId);
    touch(slotId);
    return new SlotPin(engine.releaser, slotId, staging, view.asReadOnlyBuffer());
  }

  /** Undoes a pin made by {@link #pin}, once. */
  void release(SlotPin pin) {
    lock.lock();
    try {
      if (pin.markReleased()) {
        if (pin.staging() != null) {
          engine.staging.give(pin.staging());
        }
        unpinLocked(pin.slot());
      }
    } finally {
      lock.unlock();
    }
  }

  int length(long hi, long lo) {
    lock.lock();
    try {
      ensureOpen();
      int slotId = table.get(hi, lo);
      return slotId == KeySlotTable.MISSING ? Tier.MISS : lengthOf(slotId);
    } finally {
      lock.unlock();
    }
  }

  boolean delete(long hi, long lo) {
    lock.lock();
    try {
      ensureOpen();
      int slotId = table.remove(hi, lo);
      if (slotId == KeySlotTable.MISSING) {
        return false;
      }
      removeFromPolicy(slotId);
      detach(slotId);
      publish();
      return true;
    } finally {
      lock.unlock();
    }
  }

  /** The key's slot id and its generation packed as a {@code MemoryHandle}, or -1 on a miss. */
  long handle(long hi, long lo) {
    lock.lock();
    try {
      ensureOpen();
      int slotId = table.get(hi, lo);
      if (slotId == KeySlotTable.MISSING) {
        return -1L;
      }
      int[] generation = slabOf(slotId).generation;
      int current = generation == null ? 0 : generation[slotOf(slotId)];
      return ((long) current << 32) | (slotId & 0xFFFF_FFFFL);
    } finally {
      lock.unlock();
    }
  }

  boolean isCurrentLocked(int slotId, int generation) {
    lock.lock();
    try {
      ensureOpen();
      return isCurrent(slotId, generation);
    } finally {
      lock.unlock();
    }
  }

  int lengthOfHandle(int slotId, int generation) {
    lock.lock();
    try {
      ensureOpen();
      return isCurrent(slotId, generation) ? lengthOf(slotId) : Tier.MISS;
    } finally {
      lock.unlock();
    }
  }

  /** Closes the shard: forgets every page; memory is freed once no shard has pins left. */
  void close() {
    lock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      table.clear();
      for (ShardClass k : classState) {
        if (k != null) {
          k.policy.reset();
        }
      }
      storedBytes = 0;
      occupiedBytes = 0;
      publish();
      drainIfDone();
    } finally {
      lock.unlock();
    }
  }

  // ---- slots: acquisition, eviction, release ------------------------------------------------

  /**
   * A free slot of class {@code sizeClass}, made by allocation, eviction or slab release; or -1.
   * Then keeps the class's hold-ahead room ({@link #evictAhead}).
   */
  private int acquireSlot(int sizeClass, int excluded) {
    ShardClass k = classState(sizeClass);
    int slotId;
    if (k.hasFree()) {
      slotId = k.popFree();
    } else if (slabCount < slabs.length) {
      Slab slab = new Slab(firstSlab + slabCount, maxSlotsPerSlab, engine.generations);
      memory.allocate(slab.index);
      slabs[slabCount++] = slab;
      k.adopt(slab, layout.slabBytes(), maxSlotsPerSlab);
      slotId = k.popFree();
    } else {
      // No slot free: the victim's slot is reused at once (the listener copies it, never holds).
      slotId = evictFrom(k, excluded, false);
      if (slotId < 0) {
        Slab released = releaseSlab(sizeClass, excluded);
        if (released == null) {
          return -1;
        }
        k.adopt(released, layout.slabBytes(), maxSlotsPerSlab);
        slotId = k.popFree();
      }
    }
    occupiedBytes += k.slotBytes;
    try {
      evictAhead(k, excluded);
    } catch (RuntimeException | Error e) {
      // The listener failed on the page evicted ahead (it is gone, its slot free): give this slot
      // back too, the put fails as an eviction failure does.
      occupiedBytes -= k.slotBytes;
      k.pushFree(slotId);
      publish();
      throw e;
    }
    return slotId;
  }

  /**
   * With a listener that holds evicted pages ({@link EvictionListener#holdAheadBytes()} above 0)
   * and every slab of the shard in use: while fewer of the class's slots than its target are free
   * or held, evicts one page ahead of need, which the listener may keep in its slot until written
   * (held) instead of copying it. So a put finds a free slot, freed by an earlier page's write,
   * and the page it displaces is handed over without a copy. The target: the shard's share of the
   * hold-ahead bytes in slots of this class (at least two: a shard's share may be less than one
   * large page), at most an eighth of the class's possible slots in the shard, at least one.
   */
  private void evictAhead(ShardClass k, int excluded) {
    long bytes = engine.holdAheadBytesPerShard();
    if (bytes == 0 || slabCount < slabs.length) {
      return;
    }
    long target =
        Math.max(
            1, Math.min((long) slabs.length * k.slotsPerSlab / 8, Math.max(2, bytes / k.slotBytes)));
    if (k.freeCount() + k.held >= target) {
      return;
    }
    int victim = evictFrom(k, excluded, true);
    if (victim >= 0) {
      k.pushFree(victim); // not held (clean, or copied): free at once
      publish();
    }
  }

  /**
   * Evicts the victim of class {@code k}'s policy; returns its (now free, not pushed) slot, or -1
   * if there is none or the listener holds it ({@code allowHold}: see {@link #evictSlot}).
   */
  private int evictFrom(ShardClass k, int excluded, boolean allowHold) {
    if (k.slabCount == 0) {
      return -1;
    }
    evictingClass = k;
    excludedSlot = excluded;
    int policyId;
    try {
      policyId = k.policy.evict(evictable);
    } finally {
      evictingClass = null;
      excludedSlot = -1;
    }
    if (policyId < 0) {
      return -1;
    }
    Slab slab = k.slabOfPolicyId(policyId);
    int slot = k.slotOfPolicyId(policyId);
    int slotId = SlabDescriptor.slotId(slab.index, slot, maxSlotsPerSlab);
    boolean held;
    try {
      held = evictSlot(slab, slot, allowHold);
    } catch (RuntimeException | Error e) {
      k.pushFree(slotId);
      publish();
      throw e;
    }
    return held ? -1 : slotId;
  }

  /**
   * Frees a whole slab of another class of this shard, evicting its pages: the next slab
   * (round-robin) with no pinned slot that holds neither class {@code sizeClass} nor the excluded
   * slot; or null.
   */
  private Slab releaseSlab(int sizeClass, int excluded) {
    int excludedSlab = excluded < 0 ? -1 : SlabDescriptor.slab(excluded, maxSlotsPerSlab);
    for (int i = 0; i < slabCount; i++) {
      Slab slab = slabs[(releaseCursor + i) % slabCount];
      if (slab.sizeClass == sizeClass || slab.pinnedSlots > 0 || slab.index == excludedSlab) {
        continue;
      }
      releaseCursor = slab.index - firstSlab + 1;
      ShardClass owner = classState[slab.sizeClass];
      for (int slot = 0; slot < slab.slotCount; slot++) {
        if (slab.state[slot] == Slab.LIVE) {
          owner.policy.onRemove(owner.policyId(slab, slot));
          // Free first, so a throwing listener leaves the slab consistent (slot free, page gone).
          owner.pushFree(SlabDescriptor.slotId(slab.index, slot, maxSlotsPerSlab));
          evictSlot(slab, slot, false);
        }
      }
      owner.release(slab, maxSlotsPerSlab);
      return slab;
    }
    return null;
  }

  /**
   * Removes a live page from the table, frees its slot's state and tells the listener (under the
   * lock: the slot is not reused before the listener returns). With {@code allowHold} and a
   * host-visible slab the listener is offered the page to keep ({@link
   * EvictionListener#onEvictHeld}, the slot id as the hold): if it keeps it, the slot is {@link
   * Slab#HELD}, pinned and still occupied until {@link #releaseHeld}.
   *
   * @return whether the listener holds the page
   */
  private boolean evictSlot(Slab slab, int slot, boolean allowHold) {
    int offset = slab.offset(slot);
    int pageLength = slab.length[slot];
    EvictionListener listener = engine.listener();
    ByteBuffer page = memory.hostView(slab.index);
    int pageOffset = offset;
    boolean hostVisible = page != null;
    if (page == null) {
      // Not host-visible: the page (or just its header, to learn the key) comes through staging.
      if (listener != EvictionListener.DROP) {
        if (evictionStaging == null) {
          evictionStaging = memory.allocateStaging(layout.classes().largest());
        }
        page = evictionStaging.clear();
        memory.copyOut(slab.index, offset, pageLength, page);
      } else {
        if (headerStaging == null) {
          headerStaging = memory.allocateStaging(PageFormat.HEADER_LENGTH);
        }
        page = headerStaging.clear();
        memory.copyOut(slab.index, offset, PageFormat.HEADER_LENGTH, page);
      }
      pageOffset = 0;
    }
    long hi = PageFormat.keyHi(page, pageOffset);
    long lo = PageFormat.keyLo(page, pageOffset);
    table.remove(hi, lo);
    slab.state[slot] = Slab.FREE;
    slab.bumpGeneration(slot);
    storedBytes -= pageLength;
    occupiedBytes -= slab.slotBytes;
    if (listener == EvictionListener.DROP) {
      return false;
    }
    ByteBuffer view = page.slice(pageOffset, pageLength).asReadOnlyBuffer();
    if (!allowHold || !hostVisible) {
      listener.onEvict(hi, lo, view);
      return false;
    }
    int slotId = SlabDescriptor.slotId(slab.index, slot, maxSlotsPerSlab);
    if (!listener.onEvictHeld(hi, lo, view, slotId)) {
      return false;
    }
    slab.state[slot] = Slab.HELD;
    pinSlot(slotId);
    occupiedBytes += slab.slotBytes;
    heldBytes += slab.slotBytes;
    classState[slab.sizeClass].held++;
    return true;
  }

  /**
   * Hands a held slot back ({@link SlotEngine#releaseHeld}): retired and unpinned, so it is free
   * now (or its memory drained, if the tier was closed meanwhile).
   */
  void releaseHeld(int slotId) {
    lock.lock();
    try {
      Slab slab = slabOf(slotId);
      int slot = slotOf(slotId);
      if (slab == null || slot >= slab.slotCount || slab.state[slot] != Slab.HELD) {
        throw new IllegalStateException(engine.name + ": slot " + slotId + " is not held");
      }
      slab.state[slot] = Slab.RETIRED;
      heldBytes -= slab.slotBytes;
      classState[slab.sizeClass].held--;
      unpinLocked(slotId);
      publish();
    } finally {
      lock.unlock();
    }
  }

  private boolean isEvictable(int policyId) {
    ShardClass k = evictingClass;
    Slab slab = k.slabOfPolicyId(policyId);
    if (slab == null) {
      return false;
    }
    int slot = k.slotOfPolicyId(policyId);
    return slab.state[slot] == Slab.LIVE
        && slab.pins[slot] == 0
        && SlabDescriptor.slotId(slab.index, slot, maxSlotsPerSlab) != excludedSlot;
  }

  private ShardClass classState(int sizeClass) {
    ShardClass k = classState[sizeClass];
    if (k == null) {
      int slotBytes = layout.classes().slotBytes(sizeClass);
      int slotsPerSlab = layout.slabBytes() / slotBytes;
      EvictionPolicy policy = engine.policyFactory.apply(slabs.length * slotsPerSlab);
      k = new ShardClass(
          sizeClass, slotBytes, slotsPerSlab, slabs.length, Objects.requireNonNull(policy, "policy"));
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
    ShardClass k = classState[slab.sizeClass];
    k.policy.onRemove(k.policyId(slab, slotOf(slotId)));
  }

  private void touch(int slotId) {
    Slab slab = slabOf(slotId);
    ShardClass k = classState[slab.sizeClass];
    k.policy.onAccess(k.policyId(slab, slotOf(slotId)));
  }

  /** The slot's page left the table: retire it if pinned, else free it. */
  private void detach(int slotId) {
    Slab slab = slabOf(slotId);
    int slot = slotOf(slotId);
    storedBytes -= slab.length[slot];
    slab.bumpGeneration(slot);
    if (slab.pins[slot] > 0) {
      slab.state[slot] = Slab.RETIRED;
    } else {
      freeSlot(slab, slot, slotId);
    }
  }

  private void freeSlot(Slab slab, int slot, int slotId) {
    slab.state[slot] = Slab.FREE;
    slab.bumpGeneration(slot);
    occupiedBytes -= slab.slotBytes;
    classState[slab.sizeClass].pushFree(slotId);
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
        if (closed) {
          slab.state[slot] = Slab.FREE;
        } else {
          freeSlot(slab, slot, slotId);
          publish();
        }
      }
    }
    drainIfDone();
  }

  /** Once closed with no pin left, tells the engine (which frees the memory after every shard). */
  private void drainIfDone() {
    if (closed && outstandingPins == 0 && !drained) {
      drained = true;
      engine.shardDrained();
    }
  }

  private boolean isCurrent(int slotId, int generation) {
    Slab slab = slabOf(slotId);
    if (slab == null || slab.generation == null) {
      return false;
    }
    int slot = slotOf(slotId);
    return slot < slab.slotCount && slab.state[slot] == Slab.LIVE && slab.generation[slot] == generation;
  }

  private int parentPolicyId(ByteBuffer page, int position, int slotId, int sizeClass) {
    long parentHi = PageFormat.parentHi(page, position);
    long parentLo = PageFormat.parentLo(page, position);
    if (BlockKey.isRoot(parentHi, parentLo)) {
      return EvictionPolicy.NO_PARENT;
    }
    int parent = table.get(parentHi, parentLo);
    if (parent == KeySlotTable.MISSING || parent == slotId) {
      return EvictionPolicy.NO_PARENT;
    }
    Slab slab = slabOf(parent);
    return slab.sizeClass == sizeClass
        ? classState[sizeClass].policyId(slab, slotOf(parent))
        : EvictionPolicy.NO_PARENT;
  }

  private int lengthOf(int slotId) {
    return slabOf(slotId).length[slotOf(slotId)];
  }

  /** The slab of a slot id of this shard, or null if that slab is not in use yet. */
  private Slab slabOf(int slotId) {
    int local = SlabDescriptor.slab(slotId, maxSlotsPerSlab) - firstSlab;
    return local < slabCount ? slabs[local] : null;
  }

  private int slotOf(int slotId) {
    return SlabDescriptor.slot(slotId, maxSlotsPerSlab);
  }

  private void publish() {
    heldBytesView = heldBytes;
    storedBytesView = storedBytes;
    occupiedBytesView = occupiedBytes;
    slabCountView = slabCount;
    pageCountView = table.size();
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException(engine.name + " is closed");
    }
  }
}
