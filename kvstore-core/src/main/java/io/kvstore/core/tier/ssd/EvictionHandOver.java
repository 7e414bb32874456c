package io.kvstore.core.tier.ssd;

import io.kvstore.core.tier.EvictionListener;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.ReentrantLock;
import org.agrona.BufferUtil;

/**
 * Reads an evicted page back from its segment into one scratch buffer owned by the tier and shows
 * it to the eviction listener. The SSD tier is normally the last tier (listener = DROP, nothing is
 * read); with a listener, one direct buffer, grown to the largest victim seen and freed on close,
 * serves every eviction.
 */
final class EvictionHandOver implements AutoCloseable {

  private final int maxPageBytes;
  private final ReentrantLock lock = new ReentrantLock();
  private ByteBuffer scratch;
  private ByteBuffer view;

  EvictionHandOver(int maxPageBytes) {
    this.maxPageBytes = maxPageBytes;
  }

  /**
   * Reads the page of {@code len} bytes at {@code offset} of {@code seg} and, if it verifies, calls
   * the listener with a read-only view (position 0, limit {@code len}).
   *
   * @return false if the stored page failed verification (the listener was not called)
   */
  boolean handOver(EvictionListener l, Segment seg, long offset, long hi, long lo, int len) {
    lock.lock();
    try {
      if (scratch == null || scratch.capacity() < len) {
        if (scratch != null) {
          BufferUtil.free(scratch);
        }
        // At least 1 MiB at once, so a run of small pages does not reallocate each time.
        scratch = ByteBuffer.allocateDirect(Math.max(len, Math.min(1 << 20, maxPageBytes)));
        view = scratch.asReadOnlyBuffer();
      }
      scratch.clear();
      try {
        if (!seg.read(scratch, offset, len)) {
          return false;
        }
      } catch (IOException e) {
        return false;
      }
      if (!SsdTier.pageOk(scratch, 0, len, hi, lo)) {
        return false;
      }
      view.limit(len).position(0);
      l.onEvict(hi, lo, view);
      return true;
    } finally {
      lock.unlock();
    }
  }

  /** Frees the scratch buffer. */
  @Override
  public void close() {
    lock.lock();
    try {
      if (scratch != null) {
        BufferUtil.free(scratch);
        scratch = null;
        view = null;
      }
    } finally {
      lock.unlock();
    }
  }
}
