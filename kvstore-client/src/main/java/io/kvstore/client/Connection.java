package io.kvstore.client;

import io.kvstore.client.shm.ClientRegion;
import java.io.IOException;
import java.lang.System.Logger.Level;
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

  private static final System.Logger LOG = System.getLogger(Connection.class.getName());

  private final Channel channel;
  private final ClientHandler handler;
  private final long clientMaxInFlightBytes;
  private final AtomicLong inFlightBytes = new AtomicLong();
  private final AtomicInteger inFlightRequests = new AtomicInteger();
  private volatile ServerLimits limits;
  private volatile PipelinedShm shm;

  private Connection(Channel channel, long clientMaxInFlightBytes) {
    this.channel = channel;
    this.handler = channel.pipeline().get(ClientHandler.class);
    this.clientMaxInFlightBytes = clientMaxInFlightBytes;
  }

  /** Connects, sends HELLO and completes with the connection once HELLO_OK arrives (TCP only). */
  static CompletableFuture<Connection> open(
      Bootstrap bootstrap, InetSocketAddress address, Requests.Hello hello, long maxInFlightBytes) {
    return open(bootstrap, address, hello, maxInFlightBytes, false);
  }

  /**
   * Connects, sends HELLO and completes with the connection once HELLO_OK arrives; with {@code
   * sharedMemory}, first negotiates a shared region (spec/4 §4.1) and completes over TCP alone
   * when the daemon offers none or the region cannot be mapped and proven (fallback).
   */
  static CompletableFuture<Connection> open(Bootstrap bootstrap, InetSocketAddress address,
      Requests.Hello hello, long maxInFlightBytes, boolean sharedMemory) {
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
          // Usable over TCP at once; a region, if one is negotiated, is used from when it attaches.
          result.complete(connection);
          if (sharedMemory) {
            connection.negotiateShm(hello.timeoutNanos);
          }
        }
      });
      connection.send(hello);
    });
    return result;
  }

  /**
   * SHM_OPEN, map the file, SHM_ATTACH with its nonce, in the background of a connection already
   * in use over TCP; whatever fails leaves it on TCP (the region, if created, is unlinked by the
   * daemon when refused or when the connection closes). Requests encoded before the region is
   * attached simply go over TCP.
   */
  private void negotiateShm(long timeoutNanos) {
    channel.closeFuture().addListener(f -> {
      PipelinedShm attached = shm; // both this and the attach run on the event loop
      if (attached != null) {
        attached.region.close(); // its mapping goes once no copy runs and no view is out
      }
    });
    Requests.ShmOpen open = new Requests.ShmOpen(timeoutNanos);
    open.future.whenComplete((offer, e) -> {
      if (e != null) {
        LOG.log(Level.DEBUG, "no shared memory, using TCP: {0}", e.toString());
        return;
      }
      ClientRegion region;
      try {
        region = ClientRegion.mapForPages(offer.path(), offer.length(), limits.maxPageLength());
      } catch (IOException | RuntimeException ex) {
        // Another host or another user (the file is not ours to read), or too small: TCP.
        LOG.log(Level.DEBUG, "cannot use the daemon''s shared region, using TCP: {0}", ex.toString());
        return;
      }
      Requests.ShmAttach attach = new Requests.ShmAttach(region.nonce(), timeoutNanos);
      attach.future.whenComplete((ok, ex) -> {
        if (ex == null) {
          PipelinedShm attached = new PipelinedShm(region, this, timeoutNanos);
          try {
            channel.eventLoop().execute(() -> {
              if (!channel.isActive()) {
                region.close(); // closed meanwhile: its close listener found no region to close
                return;
              }
              handler.shm(attached);
              shm = attached;
            });
          } catch (RejectedExecutionException rejected) {
            region.close(); // the client is closing: nothing will use the region
          }
        } else {
          region.close();
          LOG.log(Level.DEBUG, "shared region refused, using TCP: {0}", ex.toString());
        }
      });
      send(attach);
    });
    send(open);
  }

  /** The attached shared region, or null when this connection moves pages over TCP. */
  PipelinedShm shm() {
    return shm;
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

  /**
   * Runs {@code task} on the connection's event loop (at once when called there).
   *
   * @throws RejectedExecutionException when the client is closing
   */
  void execute(Runnable task) {
    if (channel.eventLoop().inEventLoop()) {
      task.run();
    } else {
      channel.eventLoop().execute(task);
    }
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
