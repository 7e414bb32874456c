package io.kvstore.client;

import io.kvstore.client.protocol.ErrorCode;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One handshaken connection to a daemon, with the bytes and requests it has in flight. The counts
 * are reserved by the pool before a request is sent and released when the request completes, so
 * the client never has more unanswered bytes on a connection than the daemon's announced limit
 * (spec §3.6) — except one request alone, which is always allowed so that a large PUT can go.
 */
final class Connection {

  private final Channel channel;
  private final ClientHandler handler;
  private final long clientMaxInFlightBytes;
  private final AtomicLong inFlightBytes = new AtomicLong();
  private final AtomicInteger inFlightRequests = new AtomicInteger();
  private volatile ServerLimits limits;

  private Connection(Channel channel, long clientMaxInFlightBytes) {
    this.channel = channel;
    this.handler = channel.pipeline().get(ClientHandler.class);
    this.clientMaxInFlightBytes = clientMaxInFlightBytes;
  }

  /** Connects, sends HELLO and completes with the connection once HELLO_OK arrives. */
  static CompletableFuture<Connection> open(
      Bootstrap bootstrap, InetSocketAddress address, Requests.Hello hello, long maxInFlightBytes) {
    CompletableFuture<Connection> result = new CompletableFuture<>();
    ChannelFuture connect = bootstrap.connect(address);
    connect.addListener(f -> {
      if (!f.isSuccess()) {
        result.completeExceptionally(new KvStoreException(
            ErrorCode.CONNECTION_CLOSED, "cannot connect to " + address + ": " + f.cause(),
            f.cause()));
        return;
      }
      Connection connection = new Connection(connect.channel(), maxInFlightBytes);
      hello.future.whenComplete((limits, e) -> {
        if (e != null) {
          connection.channel.close();
          result.completeExceptionally(e);
        } else {
          connection.limits = limits;
          connection.handler.handshaken();
          result.complete(connection);
        }
      });
      connection.send(hello);
    });
    return result;
  }

  /**
   * Writes a request; a failed write fails the request. Reservation is the caller's job. The
   * request learns when the write is done (written or failed), which is when Netty has let go of
   * any caller buffer the frame wraps.
   */
  <T> void send(PendingRequest<T> request) {
    channel.writeAndFlush(request).addListener(f -> {
      if (!f.isSuccess()) {
        handler.writeFailed(request, f.cause());
      }
      request.writeCompleted();
    });
  }

  /** Has the handler drop an aborted request from its pending map (on the event loop). */
  void forget(PendingRequest<?> request) {
    try {
      channel.eventLoop().execute(() -> handler.forget(request));
    } catch (RejectedExecutionException e) {
      // The client is closing: the map goes with the connection.
    }
  }

  /** Whether the connection is open and handshaken. */
  boolean isReady() {
    return limits != null && channel.isActive();
  }

  /** Whether a liveness probe is unanswered on it (the pool prefers other connections). */
  boolean isSuspect() {
    return handler.isSuspect();
  }

  /** Completes when the channel has closed. */
  ChannelFuture closeFuture() {
    return channel.closeFuture();
  }

  /** The daemon's limits (null before the handshake). */
  ServerLimits limits() {
    return limits;
  }

  /** Requests in flight. */
  int inFlightRequests() {
    return inFlightRequests.get();
  }

  /** Reserves room for a request of {@code bytes}; false when the connection is full. */
  boolean tryReserve(long bytes) {
    long limit = Math.min(limits.maxInFlightBytes(), clientMaxInFlightBytes);
    while (true) {
      long current = inFlightBytes.get();
      if (current != 0 && current + bytes > limit) {
        return false;
      }
      if (inFlightBytes.compareAndSet(current, current + bytes)) {
        inFlightRequests.incrementAndGet();
        return true;
      }
    }
  }

  /** Releases what {@link #tryReserve} took, when the request completes. */
  void release(long bytes) {
    inFlightBytes.addAndGet(-bytes);
    inFlightRequests.decrementAndGet();
  }

  /** Closes the channel; pending requests fail with CONNECTION_CLOSED. */
  ChannelFuture close() {
    return channel.close();
  }
}
