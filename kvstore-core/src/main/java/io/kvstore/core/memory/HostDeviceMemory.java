package io.kvstore.core.memory;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The default {@link DeviceMemory}: frames in off-heap host memory, in a few large {@link
 * OffHeapRegion}s (at most about 1 GiB each, so that no single direct buffer nears the 2 GiB limit),
 * allocated up front and freed by {@link #close()}.
 *
 * <p>Every frame starts on a cache-line boundary: the frame stride is {@link #frameBytes()} rounded
 * up to 64 bytes, so the memory taken is {@link #allocatedBytes()}, at most 63 bytes per frame above
 * {@code frameCount × frameBytes}.
 */
public final class HostDeviceMemory implements DeviceMemory {

  private static final int MAX_REGION_BYTES = 1 << 30;

  private final int frameCount;
  private final int frameBytes;
  private final int stride;
  private final int framesPerRegion;
  private final OffHeapRegion[] regions;
  private final List<OffHeapRegion> staging = new ArrayList<>();
  private volatile boolean closed;

  /**
   * Allocates {@code frameCount} frames of {@code frameBytes} bytes.
   *
   * @throws IllegalArgumentException if either is not positive or a frame exceeds one region
   */
  public HostDeviceMemory(int frameCount, int frameBytes) {
    if (frameCount <= 0) {
      throw new IllegalArgumentException("frame count must be positive: " + frameCount);
    }
    if (frameBytes <= 0 || frameBytes > MAX_REGION_BYTES) {
      throw new IllegalArgumentException(
          "frame size must be in [1, " + MAX_REGION_BYTES + "]: " + frameBytes);
    }
    this.frameCount = frameCount;
    this.frameBytes = frameBytes;
    this.stride = align(frameBytes, OffHeapRegion.CACHE_LINE_BYTES);
    this.framesPerRegion = Math.max(1, Math.min(frameCount, MAX_REGION_BYTES / stride));
    int regionCount = (frameCount + framesPerRegion - 1) / framesPerRegion;
    regions = new OffHeapRegion[regionCount];
    try {
      for (int r = 0; r < regionCount; r++) {
        int frames = Math.min(framesPerRegion, frameCount - r * framesPerRegion);
        regions[r] = new OffHeapRegion(frames * stride, OffHeapRegion.CACHE_LINE_BYTES);
      }
    } catch (RuntimeException | Error e) {
      freeRegions();
      throw e;
    }
  }

  @Override
  public String name() {
    return "host";
  }

  @Override
  public int frameCount() {
    return frameCount;
  }

  @Override
  public int frameBytes() {
    return frameBytes;
  }

  /** Off-heap bytes taken by the frames (excluding staging buffers). */
  public long allocatedBytes() {
    return (long) frameCount * stride;
  }

  @Override
  public void copyIn(int frame, ByteBuffer src) {
    int length = src.remaining();
    checkLength(length);
    regionOf(frame).buffer().putBytes(offsetOf(frame), src, src.position(), length);
  }

  @Override
  public void copyOut(int frame, int length, ByteBuffer dst) {
    checkLength(length);
    if (dst.remaining() < length) {
      throw new java.nio.BufferOverflowException();
    }
    int position = dst.position();
    regionOf(frame).buffer().getBytes(offsetOf(frame), dst, position, length);
    dst.position(position + length);
  }

  @Override
  public ByteBuffer hostView(int frame) {
    return regionOf(frame).byteBuffer().slice(offsetOf(frame), frameBytes);
  }

  @Override
  public synchronized ByteBuffer allocateStaging() {
    ensureOpen();
    OffHeapRegion region = new OffHeapRegion(frameBytes, OffHeapRegion.CACHE_LINE_BYTES);
    staging.add(region);
    return region.byteBuffer();
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      freeRegions();
      staging.forEach(OffHeapRegion::close);
      staging.clear();
    }
  }

  private void freeRegions() {
    for (OffHeapRegion region : regions) {
      if (region != null) {
        region.close();
      }
    }
  }

  private OffHeapRegion regionOf(int frame) {
    if (frame < 0 || frame >= frameCount) {
      throw new IndexOutOfBoundsException("frame " + frame + " not in [0, " + frameCount + ")");
    }
    ensureOpen();
    return regions[frame / framesPerRegion];
  }

  private int offsetOf(int frame) {
    return (frame % framesPerRegion) * stride;
  }

  private void checkLength(int length) {
    if (length < 0 || length > frameBytes) {
      throw new IndexOutOfBoundsException(
          "length " + length + " not in [0, " + frameBytes + "] (the frame size)");
    }
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("device memory " + name() + " is closed");
    }
  }

  static int align(int value, int alignment) {
    return (value + alignment - 1) & -alignment;
  }
}
