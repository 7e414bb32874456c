package io.kvstore.core.tier.hot;

import io.kvstore.common.BlockKey;
import io.kvstore.common.PageFormat;
import io.kvstore.core.memory.DeviceMemory;
import io.kvstore.core.memory.HostDeviceMemory;
import io.kvstore.core.memory.KeySlotTable;
import io.kvstore.core.policy.EvictionPolicy;
import io.kvstore.core.policy.LruPolicy;
import io.kvstore.core.tier.EvictionListener;
import io.kvstore.core.tier.PinnedPage;
import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.TierKind;
import io.kvstore.core.tier.internal.PageChecks;
import io.kvstore.core.tier.internal.SlotPin;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntFunction;
import java.util.function.IntPredicate;

/**
 * The hot tier: each page in one fixed-size frame of a {@link DeviceMemory}, found by key through a
 * {@link KeySlotTable} and reachable by {@link MemoryHandle}s (frame + generation) that are checked
 * for staleness before every use.
 *
 * <p>Accounting: {@link #usedBytes()} is the number of occupied frames × the frame size (a page
 * takes a whole frame whatever its length); {@link #capacityBytes()} is frames × frame size.
 *
 * <p>Concurrency: one lock guards all metadata (index, policy, per-frame arrays). Writes copy into
 * the frame under the lock. Reads pin the frame under the lock and copy outside it, so concurrent
 * reads of large pages overlap; a frame with pins is never evicted or overwritten: a replaced or
 * deleted page that is still pinned is retired and its frame freed at its last unpin. Closing with
 * pins outstanding defers freeing the memory to the last unpin.
 *
 * <p>The eviction listener runs under the lock (the frame is not reused before it returns): it must
 * not call back into this tier. If it throws, the exception propagates from {@code put}; the victim
 * is gone and its frame is free.
 *
 * <p>After {@link #close()} every operation throws {@link IllegalStateException}, and {@link
 * #usedBytes()} and {@link #pageCount()} are 0.
 */
public final class HotTier implements Tier {

  /** Staging buffers kept for pins when the backend's frames are not host-visible. */
  public static final int DEFAULT_STAGING_BUFFERS = 4;

  private static final byte FREE = 0;
  private static final byte LIVE = 1;
  private static final byte RETIRED = 2;

  private final DeviceMemory memory;
  private final int frameCount;
  private final int frameBytes;
  private final EvictionPolicy policy;
  private final KeySlotTable index;
  private final long[] keyHi;
  private final long[] keyLo;
  private final int[] length;
  private final int[] generation;
  private final int[] pins;
  private final byte[] state;
  private final int[] freeFrames;
  private final StagingPool stagingPool;
  private final ReentrantLock lock = new ReentrantLock();
  private final IntPredicate evictable = this::isEvictable;

  private volatile EvictionListener listener = EvictionListener.DROP;
  private int freeCount;
  private int usedFrames;
  private int outstandingPins;
  /** One releaser for every pin of this tier (no object made per pin for it). */
  private final SlotPin.Releaser releaser = this::release;
  private int excludedFrame = -1;
  private boolean closed;

  /**
   * A hot tier of {@code capacityBytes / frameBytes} frames of host memory, evicting by LRU.
   *
   * @throws IllegalArgumentException if the capacity holds no frame
   */
  public static HotTier create(long capacityBytes, int frameBytes) {
    return create(capacityBytes, frameBytes, LruPolicy::new);
  }

  /** As {@link #create(long, int)}, with the given eviction policy factory (capacity → policy). */
  public static HotTier create(
      long capacityBytes, int frameBytes, IntFunction<EvictionPolicy> policyFactory) {
    if (frameBytes < PageFormat.HEADER_LENGTH) {
      throw new IllegalArgumentException(
          "frame size " + frameBytes + " is below the page header length " + PageFormat.HEADER_LENGTH);
    }
    long frames = capacityBytes / frameBytes;
    if (frames < 1 || frames > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(
          "capacity " + capacityBytes + " must hold between 1 and 2^31 frames of " + frameBytes);
    }
    return new HotTier(new HostDeviceMemory((int) frames, frameBytes), policyFactory);
  }

  /** A hot tier over {@code memory}, which it owns (closes) from now on. */
  public HotTier(DeviceMemory memory, IntFunction<EvictionPolicy> policyFactory) {
    this(memory, policyFactory, DEFAULT_STAGING_BUFFERS);
  }

  /**
   * A hot tier over {@code memory}, which it owns (closes) from now on.
   *
   * @param maxStagingBuffers how many pins may be served at once by staged copies when {@link
   *     DeviceMemory#hostView} is null; beyond that {@link #pin} returns null (callers use get)
   */
  public HotTier(
      DeviceMemory memory, IntFunction<EvictionPolicy> policyFactory, int maxStagingBuffers) {
    this.memory = Objects.requireNonNull(memory, "memory");
    Objects.requireNonNull(policyFactory, "policyFactory");
    if (memory.frameBytes() < PageFormat.HEADER_LENGTH) {
      throw new IllegalArgumentException("frames smaller than a page header: " + memory.frameBytes());
    }
    this.frameCount = memory.frameCount();
    this.frameBytes = memory.frameBytes();
    this.stagingPool = new StagingPool(memory, maxStagingBuffers);
    this.policy = Objects.requireNonNull(policyFactory.apply(frameCount), "policy");
    this.index = new KeySlotTable(frameCount);
    this.keyHi = new long[frameCount];
    this.keyLo = new long[frameCount];
    this.length = new int[frameCount];
    this.generation = new int[frameCount];
    this.pins = new int[frameCount];
    this.state = new byte[frameCount];
    this.freeFrames = new int[frameCount];
    for (int f = 0; f < frameCount; f++) {
      freeFrames[f] = frameCount - 1 - f;
    }
    this.freeCount = frameCount;
  }

  @Override
  public TierKind kind() {
    return TierKind.HOT;
  }

  @Override
  public long capacityBytes() {
    return (long) frameCount * frameBytes;
  }

  @Override
  public long usedBytes() {
    lock.lock();
    try {
      return closed ? 0 : (long) usedFrames * frameBytes;
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
    return frameBytes;
  }

  /** The backend holding the frames. */
  public DeviceMemory memory() {
    return memory;
  }

  /** The eviction policy's name. */
  public String policyName() {
    return policy.name();
  }

  @Override
  public void setEvictionListener(EvictionListener listener) {
    this.listener = Objects.requireNonNull(listener, "listener");
  }

  @Override
  public boolean put(ByteBuffer src) {
    int position = src.position();
    int pageLength = PageChecks.wholePageLength(src);
    if (pageLength > frameBytes) {
      return false;
    }
    long hi = PageFormat.keyHi(src, position);
    long lo = PageFormat.keyLo(src, position);
    lock.lock();
    try {
      ensureOpen();
      int old = index.get(hi, lo);
      int frame;
      if (old != KeySlotTable.MISSING && pins[old] == 0) {
        // Nobody reads the old version: overwrite it in place, but old handles must go stale.
        frame = old;
        policy.onRemove(old);
        generation[old]++;
      } else {
        frame = acquireFrame(old);
        if (frame < 0) {
          return false;
        }
        if (old != KeySlotTable.MISSING) {
          policy.onRemove(old);
          detach(old);
        }
      }
      memory.copyIn(frame, src);
      keyHi[frame] = hi;
      keyLo[frame] = lo;
      length[frame] = pageLength;
      state[frame] = LIVE;
      index.put(hi, lo, frame);
      policy.onInsert(frame, parentFrame(src, position, frame));
      return true;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public int get(long keyHi, long keyLo, ByteBuffer dst) {
    int frame;
    int pageLength;
    lock.lock();
    try {
      ensureOpen();
      frame = index.get(keyHi, keyLo);
      if (frame == KeySlotTable.MISSING) {
        return MISS;
      }
      pageLength = beginRead(frame, dst);
    } finally {
      lock.unlock();
    }
    return finishRead(frame, pageLength, dst);
  }

  @Override
  public PinnedPage pin(long keyHi, long keyLo) {
    lock.lock();
    try {
      ensureOpen();
      int frame = index.get(keyHi, keyLo);
      return frame == KeySlotTable.MISSING ? null : pinLocked(frame);
    } finally {
      lock.unlock();
    }
  }

  @Override
  public int length(long keyHi, long keyLo) {
    lock.lock();
    try {
      ensureOpen();
      int frame = index.get(keyHi, keyLo);
      return frame == KeySlotTable.MISSING ? MISS : length[frame];
    } finally {
      lock.unlock();
    }
  }

  @Override
  public boolean delete(long keyHi, long keyLo) {
    lock.lock();
    try {
      ensureOpen();
      int frame = index.remove(keyHi, keyLo);
      if (frame == KeySlotTable.MISSING) {
        return false;
      }
      policy.onRemove(frame);
      detach(frame);
      return true;
    } finally {
      lock.unlock();
    }
  }

  /** A handle to the page with this key now, or {@link MemoryHandle#NONE} on a miss. */
  public long handle(long keyHi, long keyLo) {
    lock.lock();
    try {
      ensureOpen();
      int frame = index.get(keyHi, keyLo);
      return frame == KeySlotTable.MISSING ? MemoryHandle.NONE : MemoryHandle.of(frame, generation[frame]);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Whether {@code handle} no longer names a stored page (none, out of range, or its frame was
   * deleted, evicted, replaced or reused since the handle was taken).
   */
  public boolean isStale(long handle) {
    lock.lock();
    try {
      ensureOpen();
      return !isCurrent(handle);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Copies the page named by {@code handle} into {@code dst} at its position, advancing it.
   *
   * @return the page length, or {@link #MISS} if the handle is stale (nothing is read then)
   * @throws IllegalArgumentException if {@code dst} has less room than the page; nothing is copied
   */
  public int read(long handle, ByteBuffer dst) {
    int frame = MemoryHandle.frame(handle);
    int pageLength;
    lock.lock();
    try {
      ensureOpen();
      if (!isCurrent(handle)) {
        return MISS;
      }
      pageLength = beginRead(frame, dst);
    } finally {
      lock.unlock();
    }
    return finishRead(frame, pageLength, dst);
  }

  /**
   * Pins the page named by {@code handle}: a read-only view over its frame, or over a staged copy
   * when the backend's frames are not host-visible.
   *
   * @return the pin, or null if the handle is stale or no staging buffer is free
   */
  public PinnedPage pin(long handle) {
    lock.lock();
    try {
      ensureOpen();
      return isCurrent(handle) ? pinLocked(MemoryHandle.frame(handle)) : null;
    } finally {
      lock.unlock();
    }
  }

  /** Length of the page named by {@code handle}, or {@link #MISS} if the handle is stale. */
  public int length(long handle) {
    lock.lock();
    try {
      ensureOpen();
      return isCurrent(handle) ? length[MemoryHandle.frame(handle)] : MISS;
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
      policy.reset();
      if (outstandingPins == 0) {
        memory.close();
      }
    } finally {
      lock.unlock();
    }
  }

  /** Releases a pin made by {@link #pin(long)}. */
  private void release(SlotPin page) {
    lock.lock();
    try {
      if (!page.markReleased()) {
        return;
      }
      if (page.staging() != null) {
        stagingPool.give(page.staging());
      }
      unpinLocked(page.slot());
    } finally {
      lock.unlock();
    }
  }

  /** Under the lock: checks room in {@code dst}, pins the frame, records the access; the length. */
  private int beginRead(int frame, ByteBuffer dst) {
    int pageLength = length[frame];
    if (dst.remaining() < pageLength) {
      throw new IllegalArgumentException(
          "destination has " + dst.remaining() + " bytes, the page needs " + pageLength);
    }
    pinFrame(frame);
    policy.onAccess(frame);
    return pageLength;
  }

  /** Outside the lock: copies the pinned frame (nothing writes it while pinned), then unpins. */
  private int finishRead(int frame, int pageLength, ByteBuffer dst) {
    try {
      memory.copyOut(frame, pageLength, dst);
    } finally {
      unpinFrame(frame);
    }
    return pageLength;
  }

  /** Under the lock: a pin on a live frame, zero-copy or staged; null if no staging buffer is free. */
  private PinnedPage pinLocked(int frame) {
    int pageLength = length[frame];
    ByteBuffer view = memory.hostView(frame);
    ByteBuffer staging = null;
    if (view == null) {
      staging = stagingPool.take();
      if (staging == null) {
        return null;
      }
      memory.copyOut(frame, pageLength, staging);
      view = staging;
    }
    // A staged copy keeps its frame pinned too: a pinned page is never evicted nor reused.
    pinFrame(frame);
    policy.onAccess(frame);
    return new SlotPin(releaser, frame, staging, view.slice(0, pageLength).asReadOnlyBuffer());
  }

  private void pinFrame(int frame) {
    pins[frame]++;
    outstandingPins++;
  }

  private void unpinFrame(int frame) {
    lock.lock();
    try {
      unpinLocked(frame);
    } finally {
      lock.unlock();
    }
  }

  private void unpinLocked(int frame) {
    pins[frame]--;
    outstandingPins--;
    if (pins[frame] == 0 && state[frame] == RETIRED) {
      free(frame);
    }
    closeMemoryIfDone();
  }

  private void closeMemoryIfDone() {
    if (closed && outstandingPins == 0) {
      memory.close();
    }
  }

  /** A frame for a new page: a free one, or the policy's victim (evicted here), or -1. */
  private int acquireFrame(int excluded) {
    if (freeCount > 0) {
      int frame = freeFrames[--freeCount];
      usedFrames++;
      return frame;
    }
    excludedFrame = excluded;
    int victim = policy.evict(evictable);
    excludedFrame = -1;
    if (victim < 0) {
      return -1;
    }
    long hi = keyHi[victim];
    long lo = keyLo[victim];
    index.remove(hi, lo);
    generation[victim]++;
    state[victim] = FREE;
    try {
      notifyEvicted(victim, hi, lo);
    } catch (RuntimeException | Error e) {
      freeFrames[freeCount++] = victim;
      usedFrames--;
      throw e;
    }
    return victim;
  }

  private void notifyEvicted(int frame, long hi, long lo) {
    EvictionListener current = listener;
    if (current == EvictionListener.DROP) {
      return;
    }
    int pageLength = length[frame];
    ByteBuffer view = memory.hostView(frame);
    if (view != null) {
      current.onEvict(hi, lo, view.slice(0, pageLength).asReadOnlyBuffer());
      return;
    }
    ByteBuffer staging = stagingPool.forEviction();
    memory.copyOut(frame, pageLength, staging);
    current.onEvict(hi, lo, staging.slice(0, pageLength).asReadOnlyBuffer());
  }

  /** The frame's page left the index: retire it if pinned, else free it. */
  private void detach(int frame) {
    generation[frame]++;
    if (pins[frame] > 0) {
      state[frame] = RETIRED;
    } else {
      free(frame);
    }
  }

  private void free(int frame) {
    generation[frame]++;
    state[frame] = FREE;
    freeFrames[freeCount++] = frame;
    usedFrames--;
  }

  private boolean isEvictable(int frame) {
    return state[frame] == LIVE && pins[frame] == 0 && frame != excludedFrame;
  }

  private boolean isCurrent(long handle) {
    int frame = MemoryHandle.frame(handle);
    return frame >= 0
        && frame < frameCount
        && state[frame] == LIVE
        && generation[frame] == MemoryHandle.generation(handle);
  }

  private int parentFrame(ByteBuffer page, int position, int frame) {
    long parentHi = PageFormat.parentHi(page, position);
    long parentLo = PageFormat.parentLo(page, position);
    if (BlockKey.isRoot(parentHi, parentLo)) {
      return EvictionPolicy.NO_PARENT;
    }
    int parent = index.get(parentHi, parentLo);
    return parent == KeySlotTable.MISSING || parent == frame ? EvictionPolicy.NO_PARENT : parent;
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("hot tier is closed");
    }
  }
}
