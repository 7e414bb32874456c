package io.kvstore.core.memory;

import java.nio.BufferOverflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * The default {@link DeviceMemory}: slabs in off-heap host memory, one {@link OffHeapRegion} (4 KiB
 * aligned, Agrona {@code UnsafeBuffer} copies) per slab, allocated lazily by {@link #allocate} and
 * all freed by {@link #close()}. A tier therefore pays only for the slabs it has used so far, and
 * one more allocated ahead (below).
 *
 * <p>The array of regions is written by {@link #allocate} (under the calling shard's lock) and read
 * by copies that the tier orders after it; see the thread-safety note of {@link DeviceMemory}.
 *
 * <h2>Slabs allocated ahead</h2>
 *
 * Allocating a slab is slow: the JDK zeroes a new direct buffer, so every page of it is faulted in,
 * 5 to 45 ms for 16 MiB on the 2-vCPU VM this was measured on. {@link #allocate} runs under a shard's
 * lock, and for a memory put on the daemon's event loop. So a thread of this object (its
 * <em>preparer</em>, started by the constructor, stopped and joined by {@link #close()}) allocates
 * the next slab's memory ahead, one at a time: {@link #allocate} takes it and wakes the preparer for
 * the next. When the tier fills faster than the preparer can allocate, {@link #allocate} waits for
 * the slab the preparer is allocating (never allocating a second one beside it: two allocations at
 * once each took longer than one alone), so a put waits at most for the rest of one allocation
 * instead of all of it. That wait still happens where {@link #allocate} is called (under the
 * shard's lock, on the event loop for a memory put); with {@code prefault} it ends once the whole
 * tier is allocated. Slabs allocated plus the one prepared never exceed {@link #slabCount()}, so
 * the memory held stays within the tier's capacity; a tier that never fills holds at most one slab
 * more than it uses. If the preparer cannot get memory (the direct-memory limit), it stops, and
 * {@link #allocate} allocates (and fails) itself.
 */
public final class HostDeviceMemory implements DeviceMemory {

  /** Largest slab: one direct buffer must stay well below 2 GiB. */
  public static final int MAX_SLAB_BYTES = 1 << 30;
  /** Alignment of every slab's first byte (a page: friendly to DMA and huge-page backing). */
  public static final int SLAB_ALIGNMENT = 4096;

  private final int slabCount;
  private final int slabBytes;
  private final OffHeapRegion[] regions;
  private final List<OffHeapRegion> staging = new ArrayList<>();
  private volatile boolean closed;
  /** Slabs allocated ahead by the preparer, not yet taken: one at most, unless prefaulting. */
  private final ConcurrentLinkedQueue<OffHeapRegion> prepared = new ConcurrentLinkedQueue<>();
  /** Whether the preparer allocates every slab ahead, not just the next one. */
  private final boolean prefault;
  /** Slabs allocated plus the prepared ones (ready or being allocated): at most slabCount. */
  private final AtomicInteger committed = new AtomicInteger();
  private final LongAdder slabsFromPrepared = new LongAdder();
  private final LongAdder slabsAllocatedInline = new LongAdder();
  private volatile OutOfMemoryError preparerFailure;
  /** Notified when a prepared slab is added or the preparer stops. */
  private final Object ready = new Object();
  private final Thread preparer;

  /** Bytes of the slabs allocated (taken or ahead) and the staging buffers, for {@link #heldBytes}. */
  private final AtomicLong held = new AtomicLong();

  /**
   * Room for {@code slabCount} slabs of {@code slabBytes} bytes (none allocated yet).
   *
   * @throws IllegalArgumentException if either is not positive or a slab exceeds {@link
   *     #MAX_SLAB_BYTES}
   */
  public HostDeviceMemory(int slabCount, int slabBytes) {
    this(slabCount, slabBytes, false);
  }

  /**
   * Room for {@code slabCount} slabs of {@code slabBytes} bytes; with {@code prefault}, the preparer
   * allocates all of them in the background from the start (each zeroed, so its memory is touched),
   * instead of one ahead of need: the tier then holds its whole capacity soon after it is made, and
   * puts never wait for slab memory once that is done.
   *
   * @throws IllegalArgumentException if either size is not positive or a slab exceeds {@link
   *     #MAX_SLAB_BYTES}
   */
  public HostDeviceMemory(int slabCount, int slabBytes, boolean prefault) {
    if (slabCount <= 0) {
      throw new IllegalArgumentException("slab count must be positive: " + slabCount);
    }
    if (slabBytes <= 0 || slabBytes > MAX_SLAB_BYTES) {
      throw new IllegalArgumentException(
          "slab size must be in [1, " + MAX_SLAB_BYTES + "]: " + slabBytes);
    }
    this.slabCount = slabCount;
    this.slabBytes = slabBytes;
    this.regions = new OffHeapRegion[slabCount];
    this.prefault = prefault;
    this.preparer = new Thread(this::prepareAhead, "kvstore-slab-preparer");
    preparer.setDaemon(true);
    preparer.start();
  }

  @Override
  public String name() {
    return "host";
  }

  @Override
  public int slabCount() {
    return slabCount;
  }

  @Override
  public int slabBytes() {
    return slabBytes;
  }

  /**
   * Off-heap bytes of the slabs taken by {@link #allocate} so far (not the one allocated ahead, not
   * the staging buffers: {@link #heldBytes} counts those); for tests.
   */
  synchronized long allocatedBytes() {
    long bytes = 0;
    for (OffHeapRegion region : regions) {
      if (region != null && !region.isClosed()) {
        bytes += slabBytes;
      }
    }
    return bytes;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Takes the slab the preparer allocated ahead, waiting for it if the preparer is still
   * allocating it; allocates it here only when the preparer has stopped (the direct-memory limit).
   */
  @Override
  public void allocate(int slab) {
    checkSlab(slab);
    ensureOpen();
    if (regions[slab] != null) {
      return;
    }
    OffHeapRegion region = awaitPrepared();
    if (region != null) {
      slabsFromPrepared.increment();
    } else {
      // The preparer has stopped (the direct-memory limit): allocate here, and fail with the limit
      // as before. No preparation is in progress, so the count has room for this slab.
      if (!reserve()) {
        throw new IllegalStateException("slab " + slab + " has no room in the count: a bug");
      }
      try {
        region = new OffHeapRegion(slabBytes, SLAB_ALIGNMENT);
      } catch (OutOfMemoryError | RuntimeException e) {
        committed.decrementAndGet();
        throw e;
      }
      held.addAndGet(slabBytes);
      slabsAllocatedInline.increment();
    }
    regions[slab] = region;
    LockSupport.unpark(preparer);
  }

  /**
   * A slab the preparer allocated, waiting (on {@link #ready}, not spinning) while it allocates
   * one; null once the preparer has stopped without one ready.
   */
  private OffHeapRegion awaitPrepared() {
    OffHeapRegion region = prepared.poll();
    if (region != null) {
      return region;
    }
    LockSupport.unpark(preparer); // in case it parked before the last slab was taken
    boolean interrupted = false;
    try {
      synchronized (ready) {
        while ((region = prepared.poll()) == null && preparer.isAlive()
            && preparerFailure == null) {
          ensureOpen();
          try {
            ready.wait(100); // notified when a slab is ready or the preparer stops
          } catch (InterruptedException e) {
            interrupted = true; // the caller needs the slab: finish waiting, keep the flag
          }
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    return region != null ? region : prepared.poll();
  }

  /**
   * {@inheritDoc}
   *
   * <p>Counts a slab from the moment the preparer (or {@link #allocate}) has allocated it, so the
   * slab allocated ahead is in; it never exceeds {@link #slabCount()} slabs plus the staging buffers.
   */
  @Override
  public long heldBytes() {
    return closed ? 0 : held.get();
  }

  /** Slabs {@link #allocate} took ready-made from the preparer. */
  long slabsFromPrepared() {
    return slabsFromPrepared.sum();
  }

  /** Slabs {@link #allocate} allocated itself (the preparer had stopped). */
  long slabsAllocatedInline() {
    return slabsAllocatedInline.sum();
  }

  /** Whether a slab allocated ahead is ready now. */
  boolean preparedSlabReady() {
    return !prepared.isEmpty();
  }

  /** Slabs allocated ahead and not yet taken. */
  int preparedSlabs() {
    return prepared.size();
  }

  /** Why the preparer stopped allocating ahead (the direct-memory limit), or null. */
  OutOfMemoryError preparerFailure() {
    return preparerFailure;
  }

  /** Counts one more slab against {@link #slabCount}; false if every slab is taken or reserved. */
  private boolean reserve() {
    while (true) {
      int c = committed.get();
      if (c >= slabCount) {
        return false;
      }
      if (committed.compareAndSet(c, c + 1)) {
        return true;
      }
    }
  }

  /** The preparer: keeps one slab allocated ahead while the tier has slabs left to allocate. */
  private void prepareAhead() {
    try {
      while (!closed) {
        if ((!prefault && !prepared.isEmpty()) || !reserve()) {
          LockSupport.park(this); // woken by allocate() (a slab taken) or close()
          continue;
        }
        OffHeapRegion region;
        try {
          region = new OffHeapRegion(slabBytes, SLAB_ALIGNMENT);
        } catch (OutOfMemoryError e) {
          committed.decrementAndGet();
          preparerFailure = e; // allocate() allocates (and fails) itself from now on
          return;
        }
        held.addAndGet(slabBytes);
        prepared.add(region); // close() joins this thread before it frees what is here
        synchronized (ready) {
          ready.notifyAll();
        }
      }
    } finally {
      synchronized (ready) {
        ready.notifyAll(); // a waiting allocate() then allocates itself, or sees the close
      }
    }
  }

  @Override
  public void copyIn(int slab, int offset, ByteBuffer src) {
    int length = src.remaining();
    regionOf(slab, offset, length).buffer().putBytes(offset, src, src.position(), length);
  }

  @Override
  public void copyOut(int slab, int offset, int length, ByteBuffer dst) {
    OffHeapRegion region = regionOf(slab, offset, length);
    if (dst.remaining() < length) {
      throw new BufferOverflowException();
    }
    int position = dst.position();
    region.buffer().getBytes(offset, dst, position, length);
    dst.position(position + length);
  }

  @Override
  public ByteBuffer hostView(int slab) {
    return regionOf(slab, 0, 0).byteBuffer();
  }

  @Override
  public synchronized ByteBuffer allocateStaging(int bytes) {
    ensureOpen();
    OffHeapRegion region = new OffHeapRegion(bytes, OffHeapRegion.CACHE_LINE_BYTES);
    staging.add(region);
    held.addAndGet(bytes);
    return region.byteBuffer();
  }

  /**
   * Stops the preparer (waiting for an allocation it is in the middle of) and frees every slab, the
   * one prepared ahead and the staging buffers.
   */
  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      stopPreparer();
      for (OffHeapRegion region : regions) {
        if (region != null) {
          region.close();
        }
      }
      for (OffHeapRegion spare; (spare = prepared.poll()) != null; ) {
        spare.close();
      }
      staging.forEach(OffHeapRegion::close);
      staging.clear();
      held.set(0);
    }
  }

  private void stopPreparer() {
    boolean interrupted = false;
    while (preparer.isAlive()) {
      LockSupport.unpark(preparer);
      try {
        preparer.join(100);
      } catch (InterruptedException e) {
        interrupted = true; // the slab it allocates must be freed here, not leaked
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private OffHeapRegion regionOf(int slab, int offset, int length) {
    checkSlab(slab);
    if (offset < 0 || length < 0 || (long) offset + length > slabBytes) {
      throw new IndexOutOfBoundsException(
          "range [" + offset + ", " + ((long) offset + length) + ") not in a slab of " + slabBytes);
    }
    OffHeapRegion region = regions[slab];
    if (region == null) {
      throw new IndexOutOfBoundsException("slab " + slab + " is not allocated");
    }
    ensureOpen();
    return region;
  }

  private void checkSlab(int slab) {
    if (slab < 0 || slab >= slabCount) {
      throw new IndexOutOfBoundsException("slab " + slab + " not in [0, " + slabCount + ")");
    }
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("device memory " + name() + " is closed");
    }
  }
}
