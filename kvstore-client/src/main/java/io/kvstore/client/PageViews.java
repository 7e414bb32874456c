package io.kvstore.client;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.common.PageFormat;
import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The answer to a GET whose pages the caller reads in place ({@link
 * KvStoreClient#getViewsAsync(long[], boolean)}): per key, a read-only view of the whole page
 * (header + payload, {@code spec/2-page-format.md}), a miss, or an error for that key.
 *
 * <h2>Where the bytes are</h2>
 *
 * On a connection with a shared region ({@code spec/4-shared-memory.md}) a view is a slice of the
 * region's GET area, where the daemon copied the page: no copy on the SDK's side, the region's
 * units stay leased to this client until {@link #close()}. A page that came over the socket (no
 * region: another host, shared memory off, a region too small; or the daemon sent it inline
 * because the GET area was full) is viewed in the SDK's pooled direct memory it was received into,
 * also without a copy, held until {@link #close()}. {@link #inRegion(int)} says which. Either way
 * the page's key was checked and, unless checksums are off in the builder, both its checksums, in
 * place, before the view was handed out; a page that failed is no view but an {@link
 * #error(int)}.
 *
 * <h2>Releasing</h2>
 *
 * {@link #close()} gives everything back: the region leases go to the daemon in one SHM_RELEASE
 * (spec/4 §4.3), the socket buffers to the pool. Close promptly: while views are held their units
 * stay leased, and once the connection's GET area is full the daemon sends further pages inline
 * over the socket instead (slower, never an error, never a stall); over TCP, held views hold their
 * memory. A client's {@link KvStoreClient#close()} closes every result not yet closed, and a lost
 * connection frees its leases in the daemon.
 *
 * <h2>After release</h2>
 *
 * {@link #close()} sets the limit of every view it handed out to 0, so a read through a view after
 * its release throws {@link IndexOutOfBoundsException} (absolute or relative gets alike) instead of
 * reading bytes that may by then belong to another page; {@link #page(int)} throws {@link
 * IllegalStateException}. Duplicates or slices the caller made of a view, and native code holding
 * its address, are beyond this check: do not keep them past {@link #close()}. Closing while another
 * thread still reads a view is the caller's race to avoid.
 *
 * <p>Thread-safe; {@link #close()} is idempotent.
 */
public final class PageViews implements AutoCloseable {

  private final ByteBuffer[] views;
  private final int[] errors;
  private final int found;
  /** Per key: the region lease behind the view, two longs (offset, generation << 32 | length). */
  private final long[] leases;
  private final int leaseCount;
  /** Per key: the received frame slice behind an inline view (null otherwise). */
  private final ByteBuf[] frames;
  private final ClientShm shm;
  private final AtomicBoolean closed = new AtomicBoolean();
  /** The client's results not yet closed (this one is in it until closed), or null. */
  private final Set<PageViews> open;

  PageViews(ByteBuffer[] views, int[] errors, int found, long[] leases, int leaseCount,
      ByteBuf[] frames, ClientShm shm, Set<PageViews> open) {
    this.views = views;
    this.errors = errors;
    this.found = found;
    this.leases = leases;
    this.leaseCount = leaseCount;
    this.frames = frames;
    this.shm = shm;
    this.open = open;
    if (open != null) {
      open.add(this);
    }
  }

  /** Number of keys requested. */
  public int keyCount() {
    return views.length;
  }

  /** Number of keys with a view. */
  public int found() {
    return found;
  }

  /** Whether key {@code i} has a view. */
  public boolean isHit(int i) {
    return views[i] != null;
  }

  /** Number of keys, from the first, that all have views. */
  public int leadingRun() {
    int run = 0;
    while (run < views.length && views[run] != null) {
      run++;
    }
    return run;
  }

  /**
   * The page of key {@code i}: a read-only buffer, position 0, limit the page length (header +
   * payload), or null for a miss or an error. The same buffer on every call.
   *
   * @throws IllegalStateException once the views are released
   */
  public ByteBuffer page(int i) {
    if (closed.get()) {
      throw new IllegalStateException("page views were released");
    }
    return views[i];
  }

  /** Length of key {@code i}'s page, or {@link GetResult#MISS}. */
  public int length(int i) {
    ByteBuffer v = views[i];
    return v == null || closed.get() ? GetResult.MISS : v.capacity();
  }

  /**
   * {@link ErrorCode#OK}, or why key {@code i}'s page was refused: {@link ErrorCode#BAD_CHECKSUM}
   * (a checksum did not match: corrupted on the way or in the region) or {@link
   * ErrorCode#MALFORMED_PAGE} (not a page of the requested key: bad magic, version, length, key).
   * A refused page has no view, and its lease, if any, is already given back.
   */
  public int error(int i) {
    return errors == null ? ErrorCode.OK : errors[i];
  }

  /** Whether key {@code i}'s view lies in the shared region (false: SDK memory, or no view). */
  public boolean inRegion(int i) {
    return views[i] != null && leases != null && leases[2 * i + 1] != 0;
  }

  /** Whether {@link #close()} has run. */
  public boolean isClosed() {
    return closed.get();
  }

  /**
   * Releases every view: region leases back to the daemon (one SHM_RELEASE), socket buffers back
   * to the pool, and each handed-out buffer made unreadable (limit 0). Idempotent; never throws.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    for (ByteBuffer v : views) {
      if (v != null) {
        v.limit(0);
      }
    }
    if (shm != null && leaseCount > 0) {
      long[] packed = new long[2 * leaseCount];
      int n = 0;
      for (int i = 0; i < views.length; i++) {
        if (leases[2 * i + 1] != 0) {
          packed[2 * n] = leases[2 * i];
          packed[2 * n + 1] = leases[2 * i + 1];
          n++;
        }
      }
      shm.releaseLater(packed, n);
    }
    if (frames != null) {
      for (ByteBuf f : frames) {
        if (f != null) {
          f.release();
        }
      }
    }
    if (open != null) {
      open.remove(this);
    }
  }

  /** A page check result of the SDK's own: the page is another key's. */
  static final int WRONG_KEY = -1;

  /** Maps a {@link PageFormat#verify} result (or {@link #WRONG_KEY}) to the key's error. */
  static int errorOf(int pageCheck) {
    return pageCheck == PageFormat.ERR_HEADER_CRC || pageCheck == PageFormat.ERR_PAYLOAD_CRC
        ? ErrorCode.BAD_CHECKSUM
        : ErrorCode.MALFORMED_PAGE;
  }

  @Override
  public String toString() {
    return "PageViews[keys=" + views.length + ", found=" + found + ", closed=" + closed.get() + "]";
  }
}
