package io.kvstore.core.memory;

import java.nio.ByteBuffer;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * One aligned block of off-heap memory, owned by exactly one object and freed deterministically by
 * {@link #close()}.
 *
 * <p>How the memory is obtained and freed (the one mechanism used by every memory tier): a direct
 * {@link ByteBuffer} of {@code bytes + alignment} is allocated with {@link
 * ByteBuffer#allocateDirect}; the region is the aligned slice of it. {@link #close()} releases the
 * original (unsliced) buffer at once with Agrona's {@link BufferUtil#free(ByteBuffer)}, which runs the
 * buffer's cleaner, instead of waiting for the garbage collector. Direct buffers were chosen over
 * {@code Unsafe.allocateMemory} because the tiers must hand out {@link ByteBuffer} views (pins,
 * eviction callbacks, zero-copy sends) and the JDK offers no supported way to wrap a raw address in
 * one. The cost: direct memory counts against {@code -XX:MaxDirectMemorySize} (by default the heap
 * size), so a process that runs large memory tiers must raise that limit to at least the sum of
 * their capacities.
 *
 * <p>Not thread-safe: the owner must stop every access before closing.
 */
public final class OffHeapRegion implements AutoCloseable {

  /** A cache line: the default alignment, so that slots and frames never share one by accident. */
  public static final int CACHE_LINE_BYTES = 64;

  private static final byte[] NO_BYTES = new byte[0];

  private final ByteBuffer allocation;
  private final ByteBuffer region;
  private final UnsafeBuffer buffer;
  private boolean closed;

  /**
   * Allocates {@code bytes} of zeroed off-heap memory starting at a multiple of {@code alignment}.
   *
   * @throws IllegalArgumentException if {@code bytes} is not positive, the alignment is not a power of
   *     two, or the total does not fit in one direct buffer
   * @throws OutOfMemoryError if the direct memory limit is reached
   */
  public OffHeapRegion(int bytes, int alignment) {
    if (bytes <= 0) {
      throw new IllegalArgumentException("region size must be positive: " + bytes);
    }
    if (alignment <= 0 || Integer.bitCount(alignment) != 1) {
      throw new IllegalArgumentException("alignment must be a power of two: " + alignment);
    }
    if ((long) bytes + alignment > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "region of " + bytes + " bytes (+" + alignment + " alignment) exceeds one direct buffer");
    }
    allocation = ByteBuffer.allocateDirect(bytes + alignment);
    long address = BufferUtil.address(allocation);
    int skew = (int) (((alignment - (address & (alignment - 1))) & (alignment - 1)));
    region = allocation.slice(skew, bytes);
    buffer = new UnsafeBuffer(region);
  }

  /** Size of the region in bytes (excluding the alignment slack). */
  public int capacity() {
    return region.capacity();
  }

  /**
   * The region as a read-write buffer (position 0, limit {@link #capacity()}). Shared: use only
   * absolute accessors or {@code slice(index, length)} on it, never its position.
   */
  public ByteBuffer byteBuffer() {
    return region;
  }

  /** The region as an Agrona buffer, for copies and little-endian field reads without objects. */
  public UnsafeBuffer buffer() {
    return buffer;
  }

  /** Whether {@link #close()} was called. */
  public boolean isClosed() {
    return closed;
  }

  /** Frees the memory now. Idempotent. Every view of the region is invalid afterwards. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      buffer.wrap(NO_BYTES);
      BufferUtil.free(allocation);
    }
  }
}
