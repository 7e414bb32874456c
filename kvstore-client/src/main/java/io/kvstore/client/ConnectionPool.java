package io.kvstore.client;

import io.kvstore.client.protocol.ErrorCode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;

/**
 * A fixed number of connection slots to one daemon. A request goes to the ready connection with the
 * fewest requests in flight that has room for it (ties broken round-robin), so a slow GET on one
 * connection does not delay a LOOKUP behind it. A slot whose connection died is reconnected the
 * next time it is looked at, at most once per reconnect delay.
 */
final class ConnectionPool {

  private final AtomicReferenceArray<Connection> ready;
  private final AtomicReferenceArray<CompletableFuture<Connection>> connecting;
  private final long[] nextAttemptNanos;
  private final Supplier<CompletableFuture<Connection>> connector;
  private final long reconnectDelayNanos;
  private final AtomicInteger rotor = new AtomicInteger();
  private volatile Throwable lastConnectFailure;
  private volatile boolean closed;

  ConnectionPool(int size, Supplier<CompletableFuture<Connection>> connector, long reconnectDelayNanos) {
    this.ready = new AtomicReferenceArray<>(size);
    this.connecting = new AtomicReferenceArray<>(size);
    this.nextAttemptNanos = new long[size];
    this.connector = connector;
    this.reconnectDelayNanos = reconnectDelayNanos;
  }

  /** Opens every slot and waits for all handshakes; the first failure is thrown. */
  void connectAll(long timeoutNanos) {
    CompletableFuture<?>[] all = new CompletableFuture<?>[ready.length()];
    for (int i = 0; i < all.length; i++) {
      all[i] = connect(i);
    }
    try {
      CompletableFuture.allOf(all).get(timeoutNanos, TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      throw KvStoreClient.asKvStoreException(e.getCause());
    } catch (TimeoutException e) {
      throw new KvStoreException(ErrorCode.CLIENT_TIMEOUT, "no handshake within "
          + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KvStoreException(ErrorCode.CLIENT_TIMEOUT, "interrupted while connecting");
    }
  }

  /**
   * A connection with {@code bytes} reserved on it, or a failure: OVERLOADED when every ready
   * connection is full, CONNECTION_CLOSED when none can be reached.
   */
  CompletableFuture<Connection> acquire(long bytes) {
    if (closed) {
      return CompletableFuture.failedFuture(
          new KvStoreException(ErrorCode.CONNECTION_CLOSED, "client is closed"));
    }
    int n = ready.length();
    for (int attempt = 0; attempt < 3; attempt++) {
      int start = Math.floorMod(rotor.getAndIncrement(), n);
      Connection best = null;
      boolean anyReady = false;
      for (int k = 0; k < n; k++) {
        int i = (start + k) % n;
        Connection c = ready.get(i);
        if (c == null || !c.isReady()) {
          connect(i);
          continue;
        }
        anyReady = true;
        if (best == null || c.inFlightRequests() < best.inFlightRequests()) {
          best = c;
        }
      }
      if (!anyReady) {
        return awaitAnyConnecting(bytes);
      }
      if (best.tryReserve(bytes)) {
        return CompletableFuture.completedFuture(best);
      }
      // The least loaded one is full; any other with room will do.
      for (int k = 0; k < n; k++) {
        Connection c = ready.get(k);
        if (c != null && c != best && c.isReady() && c.tryReserve(bytes)) {
          return CompletableFuture.completedFuture(c);
        }
      }
    }
    return CompletableFuture.failedFuture(new KvStoreException(ErrorCode.OVERLOADED,
        "every connection is at its in-flight limit; request of " + bytes + " bytes not sent"));
  }

  private CompletableFuture<Connection> awaitAnyConnecting(long bytes) {
    for (int i = 0; i < connecting.length(); i++) {
      CompletableFuture<Connection> pendingConnect = connecting.get(i);
      if (pendingConnect != null && !pendingConnect.isDone()) {
        return pendingConnect.thenCompose(c -> c.tryReserve(bytes)
            ? CompletableFuture.completedFuture(c)
            : CompletableFuture.failedFuture(new KvStoreException(ErrorCode.OVERLOADED,
                "new connection already full")));
      }
    }
    Throwable last = lastConnectFailure;
    return CompletableFuture.failedFuture(new KvStoreException(ErrorCode.CONNECTION_CLOSED,
        "no connection to the daemon" + (last == null ? "" : ": " + last.getMessage()), last));
  }

  /** Starts connecting slot {@code i} unless it is connecting, closed, or in its reconnect delay. */
  private CompletableFuture<Connection> connect(int i) {
    synchronized (nextAttemptNanos) {
      CompletableFuture<Connection> current = connecting.get(i);
      if (closed || (current != null && !current.isDone())) {
        return current;
      }
      long now = System.nanoTime();
      if (current != null && now - nextAttemptNanos[i] < 0) {
        return current;
      }
      nextAttemptNanos[i] = now + reconnectDelayNanos;
      // The slot is filled before the returned future completes, so a caller waiting on it
      // finds the connection in place.
      CompletableFuture<Connection> attempt = connector.get().whenComplete((c, e) -> {
        if (e != null) {
          lastConnectFailure = e;
        } else if (closed) {
          c.close();
        } else {
          ready.set(i, c);
        }
      });
      connecting.set(i, attempt);
      return attempt;
    }
  }

  /** The connections now ready (a snapshot, for stats and tests). */
  List<Connection> readyConnections() {
    List<Connection> list = new ArrayList<>();
    for (int i = 0; i < ready.length(); i++) {
      Connection c = ready.get(i);
      if (c != null && c.isReady()) {
        list.add(c);
      }
    }
    return list;
  }

  /** Closes every connection; later acquires fail. */
  void close() {
    synchronized (nextAttemptNanos) {
      closed = true;
    }
    for (int i = 0; i < ready.length(); i++) {
      Connection c = ready.getAndSet(i, null);
      if (c != null) {
        c.close().awaitUninterruptibly();
      }
    }
  }
}
