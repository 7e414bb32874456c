package io.kvstore.client;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.LongFunction;

/**
 * The caller-driven connections of a client ({@link SyncConnection}), each lent to one blocking
 * call at a time. At most {@code max} are open; when all are lent, or none can be opened, {@link
 * #acquire()} returns null and the call takes the pipelined path instead, so the pool never makes a
 * caller wait for another caller. Idle ones are kept most-recently-used first (the warmest socket
 * and buffer first) and closed when found stale: idle longer than the PING interval (the pipelined
 * connections' keepalive does not cover them) or closed by the daemon.
 */
final class SyncPool {

  private final ConcurrentLinkedDeque<SyncConnection> idle = new ConcurrentLinkedDeque<>();
  private final Set<SyncConnection> all = ConcurrentHashMap.newKeySet();
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicInteger lent = new AtomicInteger();
  private final int max;
  private final LongFunction<SyncConnection> opener;
  private final BooleanSupplier daemonReachable;
  private final long maxIdleNanos;
  private final long retryOpenNanos;
  private volatile long nextOpenNanos = System.nanoTime();
  private volatile boolean closed;

  /**
   * @param max connections open at most
   * @param opener connects and handshakes one within the nanoseconds it is given (throws {@link
   *     KvStoreException})
   * @param daemonReachable whether opening one is worth trying now (the pipelined pool has a live
   *     connection), so that a call to a daemon that is down does not wait for a connect first
   * @param maxIdleNanos an idle connection older than this is closed instead of used
   * @param retryOpenNanos after a failed open, no other is tried for this long
   */
  SyncPool(int max, LongFunction<SyncConnection> opener, BooleanSupplier daemonReachable,
      long maxIdleNanos, long retryOpenNanos) {
    this.max = max;
    this.opener = opener;
    this.daemonReachable = daemonReachable;
    this.maxIdleNanos = maxIdleNanos;
    this.retryOpenNanos = retryOpenNanos;
  }

  /**
   * A connection lent to the caller, or null: use the pipelined path. Opening one takes at most
   * {@code timeoutNanos} (the caller's call has no more time than that).
   */
  SyncConnection acquire(long timeoutNanos) {
    if (closed) {
      return null;
    }
    SyncConnection c;
    while ((c = idle.pollFirst()) != null) {
      if (System.nanoTime() - c.idleSinceNanos() < maxIdleNanos && c.isReusable() && c.lend()) {
        lent.incrementAndGet();
        return c;
      }
      discard(c);
    }
    int n;
    do {
      n = open.get();
      if (n >= max || closed || System.nanoTime() - nextOpenNanos < 0
          || !daemonReachable.getAsBoolean()) {
        return null;
      }
    } while (!open.compareAndSet(n, n + 1));
    try {
      c = opener.apply(timeoutNanos);
    } catch (KvStoreException e) {
      open.decrementAndGet();
      nextOpenNanos = System.nanoTime() + retryOpenNanos;
      return null; // the pipelined path reports the outage and reconnects with backoff
    }
    all.add(c);
    if (closed || !c.lend()) {
      discard(c);
      return null;
    }
    lent.incrementAndGet();
    return c;
  }

  /** Gives a connection back after its call: kept if it can serve another, closed otherwise. */
  void release(SyncConnection c, boolean reusable) {
    c.release();
    lent.decrementAndGet();
    if (reusable && !closed) {
      idle.offerFirst(c);
    } else {
      discard(c);
    }
  }

  private void discard(SyncConnection c) {
    if (all.remove(c)) {
      open.decrementAndGet();
    }
    c.close();
  }

  /** Connections open now (for tests). */
  int openConnections() {
    return open.get();
  }

  /** Connections open now with a shared region attached (for tests). */
  int withRegion() {
    int n = 0;
    for (SyncConnection c : all) {
      n += c.shm() != null ? 1 : 0;
    }
    return n;
  }

  /**
   * Closes every connection, lent ones too (their calls fail with CONNECTION_CLOSED at once), and
   * waits up to {@code waitNanos} for the lent ones to come back, so that no caller's buffer is
   * touched after the client's close returns.
   */
  void close(long waitNanos) {
    closed = true;
    for (SyncConnection c : all) {
      c.close();
    }
    idle.clear();
    long deadline = System.nanoTime() + waitNanos;
    while (lent.get() > 0 && System.nanoTime() - deadline < 0) {
      try {
        TimeUnit.MILLISECONDS.sleep(1);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
