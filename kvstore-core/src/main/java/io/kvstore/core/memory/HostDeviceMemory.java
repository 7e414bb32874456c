package io.kvstore.core.memory;

import java.nio.BufferOverflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The default {@link DeviceMemory}: slabs in off-heap host memory, one {@link OffHeapRegion} (4 KiB
 * aligned, Agrona {@code UnsafeBuffer} copies) per slab, allocated lazily by {@link #allocate} and
 * all freed by {@link #close()}. A tier therefore pays only for the slabs it has used so far.
 *
 * <p>The array of regions is written by {@link #allocate} (under the calling shard's lock) and read
 * by copies that the tier orders after it; see the thread-safety note of {@link DeviceMemory}.
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

  /**
   * Room for {@code slabCount} slabs of {@code slabBytes} bytes (none allocated yet).
   *
   * @throws IllegalArgumentException if either is not positive or a slab exceeds {@link
   *     #MAX_SLAB_BYTES}
   */
  public HostDeviceMemory(int slabCount, int slabBytes) {
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

  /** Off-heap bytes taken by the slabs allocated so far (excluding staging buffers). */
  public synchronized long allocatedBytes() {
    long bytes = 0;
    for (OffHeapRegion region : regions) {
      if (region != null && !region.isClosed()) {
        bytes += slabBytes;
      }
    }
    return bytes;
  }

  @Override
  public void allocate(int slab) {
    checkSlab(slab);
    ensureOpen();
    if (regions[slab] == null) {
      regions[slab] = new OffHeapRegion(slabBytes, SLAB_ALIGNMENT);
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
    return region.byteBuffer();
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      for (OffHeapRegion region : regions) {
        if (region != null) {
          region.close();
        }
      }
      staging.forEach(OffHeapRegion::close);
      staging.clear();
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
