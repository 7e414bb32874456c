package io.kvstore.core.store;

import java.nio.ByteBuffer;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.agrona.BufferUtil;

/**
 * A bounded pool of direct buffers of the largest page size, used to move a page up from the SSD
 * tier when the caller gave no buffer of its own (prefetch, pinned gets). Owned by the store: every
 * buffer is allocated lazily, at most {@code max} of them, and freed on {@link #close()}.
 */
final class StagingPool implements AutoCloseable {

  private final int bufferBytes;
  private final ArrayBlockingQueue<ByteBuffer> free;
  private final ByteBuffer[] all;
  private int allocated;
  private boolean closed;

  StagingPool(int max, int bufferBytes) {
    this.bufferBytes = bufferBytes;
    this.free = new ArrayBlockingQueue<>(max);
    this.all = new ByteBuffer[max];
  }

  /** Takes a cleared buffer, allocating one if fewer than max exist, else waiting for one. */
  ByteBuffer acquire() throws InterruptedException {
    ByteBuffer b = free.poll();
    if (b == null) {
      synchronized (this) {
        if (closed) {
          throw new IllegalStateException("store is closed");
        }
        if (allocated < all.length) {
          b = ByteBuffer.allocateDirect(bufferBytes);
          all[allocated++] = b;
        }
      }
      if (b == null) {
        b = free.poll(1, TimeUnit.DAYS);
      }
    }
    b.clear();
    return b;
  }

  /** {@link #acquire()}, keeping the thread's interrupt status for later instead of throwing. */
  ByteBuffer acquireUninterruptibly() {
    boolean interrupted = false;
    try {
      while (true) {
        try {
          return acquire();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  void release(ByteBuffer b) {
    free.offer(b);
  }

  /** Buffers a caller could take now without waiting (free, or not allocated yet). */
  synchronized int available() {
    return free.size() + all.length - allocated;
  }

  @Override
  public synchronized void close() {
    closed = true;
    for (int i = 0; i < allocated; i++) {
      BufferUtil.free(all[i]);
      all[i] = null;
    }
    allocated = 0;
    free.clear();
  }
}
