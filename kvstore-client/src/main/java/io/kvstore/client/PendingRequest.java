package io.kvstore.client;

import io.kvstore.client.protocol.ErrorCode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.CompletableFuture;

/**
 * One attempt of one request on one connection. Written to the channel as a message; the
 * {@link ClientHandler} gives it a request id, encodes it, keeps it in its pending map and feeds it
 * the response frames on the connection's event loop.
 *
 * <h2>Who may touch the caller's buffers, and until when</h2>
 *
 * The request is <em>settled</em> exactly once: by its final response, an error, its timeout, a
 * lost connection, or an abort from any thread (cancel, interrupt, client close). Everything that
 * reads or writes the caller's buffers runs under this object's monitor and only while the request
 * is not settled: encoding the frame (which reads the keys and wraps PUT pages) and copying a
 * GET_PAGE into its destination. Settling takes the same monitor, so a copy that has started
 * finishes before the request settles, and none starts after: a late page is discarded.
 *
 * <p>A PUT frame wraps the caller's pages without copying; Netty reads them while it writes the
 * frame, outside any lock of ours. Such a request is {@code writing} until the write's
 * {@code ChannelFuture} is done (written, or failed because the connection closed, which releases
 * the wrapped pages). {@link #future} is completed only once the request is settled <em>and</em>
 * not writing, so when it completes nothing will touch the caller's buffers again. A PUT that
 * times out mid-write has its connection closed by the handler, which fails the write and so
 * releases the pages (see {@link ClientHandler}).
 *
 * <p>Completing {@link #future} also releases the bytes reserved on the connection for it.
 */
abstract class PendingRequest<T> {

  /** Completes with the outcome once the caller's buffers are free again; never completed elsewhere. */
  final CompletableFuture<T> future = new CompletableFuture<>();
  final int opcode;
  final long timeoutNanos;
  /**
   * When the request's time is up ({@link System#nanoTime()}): {@code timeoutNanos} from its
   * creation, whatever part of it went to waiting for a connection.
   */
  final long deadlineNanos;

  // Guarded by this.
  private boolean settled;
  private boolean writing;
  private boolean delivered;
  private T value;
  private Throwable failure;
  private long requestId;
  private ScheduledFuture<?> timeout;
  private Connection connection;
  /** A caller-driven connection's region (set before encoding; null on the pipelined path). */
  private ClientShm callerRegion;
  private long reservedBytes;

  PendingRequest(int opcode, long timeoutNanos) {
    this.opcode = opcode;
    this.timeoutNanos = timeoutNanos;
    this.deadlineNanos = System.nanoTime() + timeoutNanos;
  }

  /** Encodes the request frame with the id the handler chose. Called under the monitor. */
  abstract ByteBuf encode(ByteBufAllocator alloc, long requestId);

  /** Bytes this request may hold in flight: its frame plus a bound on its responses. */
  abstract long inFlightBytes();

  /**
   * Handles one response frame (not ERROR) for this request, under the monitor and only while the
   * request is not settled; returns true when it was the final one, having called {@link
   * #complete}. The frame is released by the caller. Throws {@link KvStoreException} on a protocol
   * violation, which fails the request.
   */
  abstract boolean onFrame(ByteBuf frame, int opcode, ResponseFlyweights flyweights);

  /** Whether the encoded frame wraps the caller's buffers (zero-copy PUT) instead of copying them. */
  boolean wrapsCallerBuffers() {
    return false;
  }

  /** Whether {@code opcode} ends this request (used to drop a settled request's late frames). */
  boolean isFinal(int opcode) {
    return true;
  }

  /**
   * Records the connection and the bytes reserved on it, released on completion. Returns false,
   * having released them at once, when the request was already settled (aborted before it could be
   * sent): it must not be sent.
   */
  boolean reserved(Connection connection, long bytes) {
    synchronized (this) {
      if (!settled) {
        this.connection = connection;
        this.reservedBytes = bytes;
        return true;
      }
    }
    connection.release(bytes);
    return false;
  }

  /**
   * Encodes the frame unless the request is already settled (then null: nothing is sent). Called by
   * the handler on the event loop.
   */
  synchronized ByteBuf encodeForSend(ByteBufAllocator alloc, long id) {
    if (settled) {
      return null;
    }
    ByteBuf frame = encode(alloc, id);
    requestId = id;
    writing = wrapsCallerBuffers();
    return frame;
  }

  /** The scheduled timeout; cancelled at once if the request has already completed. */
  void timeout(ScheduledFuture<?> scheduled) {
    synchronized (this) {
      if (!delivered) {
        timeout = scheduled;
        return;
      }
    }
    scheduled.cancel(false);
  }

  /** The connection the request was reserved on (null before); read under the monitor by encode. */
  synchronized Connection boundConnection() {
    return connection;
  }

  /**
   * A caller-driven connection ({@link SyncConnection}) sends this request and has a shared region
   * attached: pages may move through it. Set before {@link #encodeForSend}.
   */
  synchronized void useRegion(ClientShm region) {
    this.callerRegion = region;
  }

  /**
   * The shared region of the connection this request is sent on, or null (TCP): the pipelined
   * connection's when reserved on one, else the caller-driven connection's. Read by encode.
   */
  synchronized ClientShm attachedShm() {
    return connection != null ? connection.shm() : callerRegion;
  }

  /** Called once, after {@link #future} is completed or about to be, whatever the outcome. */
  void onDelivered() {}

  /** The id on the wire (0 before it is sent). */
  synchronized long requestId() {
    return requestId;
  }

  /** Whether Netty may still be reading the caller's buffers for this request's frame. */
  synchronized boolean isWriting() {
    return writing;
  }

  synchronized boolean isSettled() {
    return settled;
  }

  /** {@link #handle} result bit: the frame ended the request (the handler forgets it). */
  static final int LAST = 1;
  /** {@link #handle} result bit: the request was settled, so the frame was discarded unread. */
  static final int DISCARDED = 2;

  /**
   * Feeds a response frame: under the monitor, and only if the request is not settled (a settled
   * request's frames are discarded unread). Returns {@link #LAST} and {@link #DISCARDED} bits.
   */
  final int handle(ByteBuf frame, int frameOpcode, ResponseFlyweights flyweights) {
    boolean last;
    synchronized (this) {
      if (settled) {
        return DISCARDED | (isFinal(frameOpcode) ? LAST : 0);
      }
      try {
        last = onFrame(frame, frameOpcode, flyweights);
      } catch (KvStoreException e) {
        settle(null, e);
        last = true;
      }
    }
    deliverIfReady();
    return last ? LAST : 0;
  }

  /** Records success; only from {@link #onFrame} (under the monitor), delivered by {@link #handle}. */
  void complete(T result) {
    settle(result, null);
  }

  /** Settles with a failure (no-op if already settled); completes {@link #future} unless writing. */
  void fail(Throwable cause) {
    synchronized (this) {
      settle(null, cause);
    }
    deliverIfReady();
  }

  void fail(int code, String message) {
    fail(new KvStoreException(code, message));
  }

  /**
   * Stops the request from any thread: from now on nothing is copied into or encoded from the
   * caller's buffers. {@link #future} completes with {@code reason} (unless an outcome was already
   * recorded) as soon as no write holds the buffers. The handler is told to forget the id.
   */
  void abort(Throwable reason) {
    Connection c;
    long id;
    synchronized (this) {
      settle(null, reason);
      c = connection;
      id = requestId;
    }
    deliverIfReady();
    if (c != null && id != 0) {
      c.forget(this);
    }
  }

  /** The write of the frame finished (written or failed): the caller's buffers are Netty's no more. */
  void writeCompleted() {
    synchronized (this) {
      writing = false;
    }
    deliverIfReady();
  }

  private void settle(T result, Throwable cause) {
    if (!settled) {
      settled = true;
      value = result;
      failure = cause;
    }
  }

  private void deliverIfReady() {
    ScheduledFuture<?> t;
    Connection c;
    long bytes;
    T result;
    Throwable cause;
    synchronized (this) {
      if (!settled || writing || delivered) {
        return;
      }
      delivered = true;
      t = timeout;
      c = connection;
      bytes = reservedBytes;
      result = value;
      cause = failure;
    }
    // Outside the monitor: continuations of the future run here.
    if (t != null) {
      t.cancel(false);
    }
    if (c != null) {
      c.release(bytes);
    }
    onDelivered();
    if (cause != null) {
      future.completeExceptionally(cause);
    } else {
      future.complete(result);
    }
  }

  /** A protocol violation by the daemon: fails this request and names what was wrong. */
  static KvStoreException violation(String message) {
    return new KvStoreException(ErrorCode.MALFORMED_FRAME, "daemon sent " + message);
  }
}
