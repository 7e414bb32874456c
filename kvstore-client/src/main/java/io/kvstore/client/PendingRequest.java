package io.kvstore.client;

import io.kvstore.client.protocol.ErrorCode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.CompletableFuture;

/**
 * One attempt of one request on one connection. Written to the channel as a message; the
 * {@link ClientHandler} gives it a request id, encodes it, keeps it in its pending map and feeds it
 * the response frames, all on the connection's event loop.
 *
 * <p>Completion happens exactly once (the future is the guard), and releases the bytes reserved on
 * the connection for it.
 */
abstract class PendingRequest<T> {

  final CompletableFuture<T> future = new CompletableFuture<>();
  final int opcode;
  final long timeoutNanos;

  /** Set by the handler on the event loop. */
  long requestId;
  /** Set by the handler on the event loop. */
  ScheduledFuture<?> timeout;

  private Connection connection;
  private long reservedBytes;

  PendingRequest(int opcode, long timeoutNanos) {
    this.opcode = opcode;
    this.timeoutNanos = timeoutNanos;
  }

  /** Encodes the request frame with the id the handler chose. */
  abstract ByteBuf encode(ByteBufAllocator alloc, long requestId);

  /** Bytes this request may hold in flight: its frame plus a bound on its responses. */
  abstract long inFlightBytes();

  /**
   * Handles one response frame (not ERROR) for this request; returns true when it was the final
   * one. The frame is released by the caller. Throws {@link KvStoreException} on a protocol
   * violation, which fails the request.
   */
  abstract boolean onFrame(ByteBuf frame, int opcode, ResponseFlyweights flyweights);

  /** Records the connection and the bytes reserved on it, released on completion. */
  void reserved(Connection connection, long bytes) {
    this.connection = connection;
    this.reservedBytes = bytes;
  }

  void complete(T value) {
    if (future.complete(value)) {
      finished();
    }
  }

  void fail(Throwable cause) {
    if (future.completeExceptionally(cause)) {
      finished();
    }
  }

  void fail(int code, String message) {
    fail(new KvStoreException(code, message));
  }

  boolean isDone() {
    return future.isDone();
  }

  private void finished() {
    if (timeout != null) {
      timeout.cancel(false);
    }
    if (connection != null) {
      connection.release(reservedBytes);
    }
  }

  /** A protocol violation by the daemon: fails this request and names what was wrong. */
  static KvStoreException violation(String message) {
    return new KvStoreException(ErrorCode.MALFORMED_FRAME, "daemon sent " + message);
  }
}
