package io.kvstore.client;

import io.kvstore.client.protocol.ErrorCode;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;

/**
 * A fixed number of connection slots to one daemon. A request goes to the ready connection with the
 * fewest requests in flight that has room for it (ties broken round-robin), so a slow GET on one
 * connection does not delay a LOOKUP behind it; a connection whose liveness probe is unanswered
 * ({@link Connection#isSuspect()}) is used only when no other has room.
 *
 * <p>A slot whose connection closed (the daemon died or restarted, a keepalive PING went
 * unanswered) reconnects by itself, with {@link Backoff exponential backoff and jitter} between
 * failed attempts, until it succeeds or the pool closes. Each handshake re-reads the daemon's
 * limits ({@link #limits()}), so a daemon restarted with other limits is followed.
 */
final class ConnectionPool {

  private static final System.Logger LOG = System.getLogger(ConnectionPool.class.getName());

  private final AtomicReferenceArray<Connection> ready;
  private final AtomicReferenceArray<CompletableFuture<Connection>> connecting;
  private final long[] nextAttemptNanos;
  private final int[] failures;
  private final int[] flaps;
  private final long[] connectedAtNanos;
  private final Supplier<CompletableFuture<Connection>> connector;
  private final Backoff backoff;
  private final ScheduledExecutorService scheduler;
  private final String peer;
  private final AtomicInteger rotor = new AtomicInteger();
  private volatile ServerLimits limits;
  private volatile Throwable lastConnectFailure;
  private boolean unreachable; // guarded by nextAttemptNanos: an outage was logged
  private volatile boolean closed;

  /**
   * @param size the number of slots
   * @param connector opens and handshakes one connection
   * @param backoff delays between failed attempts of a slot
   * @param scheduler runs the reconnect attempts (the client's event loops)
   * @param peer the daemon's address, for messages
   */
  ConnectionPool(int size, Supplier<CompletableFuture<Connection>> connector, Backoff backoff,
      ScheduledExecutorService scheduler, String peer) {
    this.ready = new AtomicReferenceArray<>(size);
    this.connecting = new AtomicReferenceArray<>(size);
    this.nextAttemptNanos = new long[size];
    this.failures = new int[size];
    this.flaps = new int[size];
    this.connectedAtNanos = new long[size];
    this.connector = connector;
    this.backoff = backoff;
    this.scheduler = scheduler;
    this.peer = peer;
  }

  /** Opens every slot and waits for all handshakes; the first failure is thrown. */
  void connectAll(long timeoutNanos) {
    CompletableFuture<?>[] all = new CompletableFuture<?>[ready.length()];
    for (int i = 0; i < all.length; i++) {
      all[i] = connect(i, false);
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

  /** The limits of the latest handshake (a restarted daemon may announce others). */
  ServerLimits limits() {
    return limits;
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
          connect(i, false);
          continue;
        }
        anyReady = true;
        if (best == null || better(c, best)) {
          best = c;
        }
      }
      if (!anyReady) {
        return awaitAnyConnecting(bytes);
      }
      if (best.tryReserve(bytes)) {
        return CompletableFuture.completedFuture(best);
      }
      // The best one is full; any other with room will do, a live one first.
      for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < n; k++) {
          Connection c = ready.get(k);
          if (c != null && c != best && c.isReady() && c.isSuspect() == (pass == 1)
              && c.tryReserve(bytes)) {
            return CompletableFuture.completedFuture(c);
          }
        }
      }
    }
    return CompletableFuture.failedFuture(new KvStoreException(ErrorCode.OVERLOADED,
        "every connection is at its in-flight limit; request of " + bytes + " bytes not sent"));
  }

  /** A live connection beats a suspect one; then fewer requests in flight wins. */
  private static boolean better(Connection c, Connection best) {
    if (c.isSuspect() != best.isSuspect()) {
      return !c.isSuspect();
    }
    return c.inFlightRequests() < best.inFlightRequests();
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
        "no connection to the daemon at " + peer + " (reconnecting with backoff)"
            + (last == null ? "" : ": " + last.getMessage()), last));
  }

  /**
   * Starts connecting slot {@code i} unless it is connected, connecting, closed, or ({@code
   * scheduled} false) waiting out its backoff: the scheduled attempt will come.
   */
  private CompletableFuture<Connection> connect(int i, boolean scheduled) {
    synchronized (nextAttemptNanos) {
      CompletableFuture<Connection> current = connecting.get(i);
      if (closed || (current != null && !current.isDone())) {
        return current;
      }
      Connection c = ready.get(i);
      if (c != null && c.isReady()) {
        return current;
      }
      if (!scheduled && current != null && System.nanoTime() - nextAttemptNanos[i] < 0) {
        return current;
      }
      // The slot is filled before the returned future completes, so a caller waiting on it
      // finds the connection in place.
      CompletableFuture<Connection> attempt = connector.get().whenComplete((opened, e) -> {
        if (e != null) {
          lastConnectFailure = e;
          attemptFailed(i, e);
        } else {
          connected(i, opened);
        }
      });
      connecting.set(i, attempt);
      return attempt;
    }
  }

  private void connected(int i, Connection c) {
    int failed;
    synchronized (nextAttemptNanos) {
      if (closed) {
        c.close();
        return;
      }
      failed = failures[i];
      failures[i] = 0;
      if (!unreachable) {
        failed = 0;
      }
      unreachable = false;
      limits = c.limits();
      connectedAtNanos[i] = System.nanoTime();
      ready.set(i, c);
    }
    if (failed > 0) {
      LOG.log(Level.INFO, "reconnected to {0} after {1} failed attempts", peer, failed);
    }
    c.closeFuture().addListener(f -> lost(i, c));
  }

  /**
   * A ready connection closed: reconnect at once (the daemon may have closed just this one, or be
   * back already); backoff starts if that attempt fails. A connection that closes soon after its
   * handshake a second time in a row (a daemon that accepts, then drops it) backs off as failed
   * attempts do, so the pool never reconnects in a tight loop.
   */
  private void lost(int i, Connection c) {
    synchronized (nextAttemptNanos) {
      if (closed || ready.get(i) != c) {
        return;
      }
      failures[i] = 0;
      boolean shortLived = System.nanoTime() - connectedAtNanos[i] < backoff.maxNanos();
      flaps[i] = shortLived ? flaps[i] + 1 : 0;
      scheduleAttempt(i, flaps[i] <= 1 ? 0 : backoff.delayNanos(flaps[i] - 1));
    }
  }

  private void attemptFailed(int i, Throwable e) {
    boolean firstOfOutage;
    synchronized (nextAttemptNanos) {
      if (closed) {
        return;
      }
      int n = ++failures[i];
      firstOfOutage = !unreachable; // one line per outage, not one per slot and attempt
      unreachable = true;
      // A refused handshake (bad token, namespace not granted) will not heal in milliseconds:
      // try again only at the longest delay, which also keeps clear of the daemon's auth throttle.
      boolean refused = !KvStoreClient.asKvStoreException(e).isRetryable();
      scheduleAttempt(i, refused ? backoff.maxNanos() : backoff.delayNanos(n));
    }
    if (firstOfOutage) {
      LOG.log(Level.INFO, "cannot connect to {0}, reconnecting with backoff (up to {1} ms between"
          + " attempts): {2}", peer, TimeUnit.NANOSECONDS.toMillis(backoff.maxNanos()), e.getMessage());
    }
  }

  /** Holds under the lock: no attempt of slot {@code i} before the delay, then one by itself. */
  private void scheduleAttempt(int i, long delayNanos) {
    long due = System.nanoTime() + delayNanos;
    nextAttemptNanos[i] = due;
    try {
      scheduler.schedule(() -> {
        synchronized (nextAttemptNanos) {
          if (nextAttemptNanos[i] == due) { // not superseded by a later failure's schedule
            connect(i, true);
          }
        }
      }, delayNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // The client is closing.
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

  /** Closes every connection; later acquires fail, no reconnect is attempted. */
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
