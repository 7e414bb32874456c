package io.kvstore.client.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayList;
import java.util.List;

/**
 * Reusable direct memory for large frames (1 MiB and up) while {@link FrameDecoder} accumulates
 * them, shared by the connections of one daemon or one client.
 *
 * <h2>Why</h2>
 *
 * A large frame is accumulated in one buffer sized for it. Fresh memory of that size costs more
 * than the copy into it: the allocator zeroes it or the kernel faults in and zeroes each page on
 * first touch. On the development host a fresh 64 MiB buffer stalled its event loop for ~40 ms, a
 * third of the whole frame's time, on every PUT. Memory used once is already mapped; this pool hands
 * it out again.
 *
 * <h2>How</h2>
 *
 * The pool holds one reference to each of its buffers and lends a {@link ByteBuf#retainedSlice
 * retained slice} of one; the frame sliced from it by the decoder retains the same buffer, so a
 * buffer is free again exactly when its {@link ByteBuf#refCnt()} is back to 1 (only the pool's
 * reference), whichever thread released the last slice. Lending scans the few buffers it holds
 * for the smallest free one that fits. The pooled bytes are bounded by {@code maxPooledBytes}: a
 * free buffer is dropped to make room for a larger one, and a frame that finds no room gets plain
 * allocator memory ({@link #lend} returns null). The decoder never reallocates a lent slice (its
 * capacity is fixed), so a frame handed to another thread never sees its memory move.
 *
 * <p>Thread-safe. {@link #close()} drops the pool's references: lent buffers are freed when their
 * last slice is released.
 */
public final class FrameBufferPool implements AutoCloseable {

  /** Frames below this use the channel's allocator, which pools small buffers itself. */
  public static final int MIN_POOLED_FRAME_BYTES = 1 << 20;
  /** Pooled buffers are sized in steps of this, so frames of nearly one size share buffers. */
  static final int SIZE_STEP_BYTES = 1 << 20;

  private final ByteBufAllocator alloc;
  private final long maxPooledBytes;
  private final List<ByteBuf> buffers = new ArrayList<>();
  private long pooledBytes;
  private boolean closed;

  /**
   * @param alloc where the pooled buffers come from (direct buffers)
   * @param maxPooledBytes the most bytes the pool holds, lent and free together
   */
  public FrameBufferPool(ByteBufAllocator alloc, long maxPooledBytes) {
    if (maxPooledBytes < 0) {
      throw new IllegalArgumentException("maxPooledBytes must be >= 0, got " + maxPooledBytes);
    }
    this.alloc = alloc;
    this.maxPooledBytes = maxPooledBytes;
  }

  /**
   * An empty buffer of exactly {@code capacity} bytes of reused memory, or null when the frame is
   * too small to pool or the pool has no room (then the caller allocates as usual). The caller owns
   * the returned slice and releases it like any buffer.
   */
  public synchronized ByteBuf lend(int capacity) {
    if (closed || capacity < MIN_POOLED_FRAME_BYTES) {
      return null;
    }
    ByteBuf best = null;
    for (ByteBuf b : buffers) {
      if (b.refCnt() == 1 && b.capacity() >= capacity
          && (best == null || b.capacity() < best.capacity())) {
        best = b;
      }
    }
    if (best == null) {
      best = grow(roundUp(capacity));
      if (best == null) {
        return null;
      }
    }
    return best.retainedSlice(0, capacity).clear();
  }

  /** Bytes the pool holds now, lent and free. */
  public synchronized long pooledBytes() {
    return pooledBytes;
  }

  /** Buffers lent now (a slice of them not yet released). */
  public synchronized int lentBuffers() {
    int n = 0;
    for (ByteBuf b : buffers) {
      if (b.refCnt() > 1) {
        n++;
      }
    }
    return n;
  }

  /** Drops the pool's buffers; lent ones are freed when released. Idempotent. */
  @Override
  public synchronized void close() {
    closed = true;
    for (ByteBuf b : buffers) {
      b.release();
    }
    buffers.clear();
    pooledBytes = 0;
  }

  /** Adds a buffer of {@code size}, dropping free ones if that makes room; null if it cannot. */
  private ByteBuf grow(int size) {
    if (size > maxPooledBytes) {
      return null;
    }
    for (int i = buffers.size() - 1; i >= 0 && pooledBytes + size > maxPooledBytes; i--) {
      ByteBuf b = buffers.get(i);
      if (b.refCnt() == 1) {
        buffers.remove(i);
        pooledBytes -= b.capacity();
        b.release();
      }
    }
    if (pooledBytes + size > maxPooledBytes) {
      return null;
    }
    ByteBuf b = alloc.directBuffer(size, size);
    buffers.add(b);
    pooledBytes += size;
    return b;
  }

  private static int roundUp(int capacity) {
    long rounded = ((long) capacity + SIZE_STEP_BYTES - 1) / SIZE_STEP_BYTES * SIZE_STEP_BYTES;
    return (int) Math.min(rounded, Integer.MAX_VALUE);
  }
}
