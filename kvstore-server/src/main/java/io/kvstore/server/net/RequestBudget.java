package io.kvstore.server.net;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The daemon-wide budget for request memory ({@code net.request.memory.bytes}): the memory of
 * requests received and not yet answered, over every connection, whether still arriving in a
 * frame decoder (the capacity of the buffer a partial frame is in) or handed on as whole frames. Each connection's {@link MemoryBudgetHandler}
 * reports what it holds; when the total is above the limit, connections holding more than {@link
 * #RESERVE_BYTES} stop reading (back-pressure: TCP pushes back on their clients) and wait here
 * until answers bring the total back to the limit.
 *
 * <p>A connection holding at most {@link #RESERVE_BYTES} is never stopped, so small requests
 * (HELLO, PING, LOOKUP, a GET of a few keys) are still served while big PUTs wait: the total may go
 * above the limit by at most that reserve plus one socket read per connection.
 *
 * <p>Thread-safe: connections on every event loop add and take bytes; waiters are woken on
 * whichever thread frees the bytes and must hand themselves to their own event loop.
 */
final class RequestBudget {

  /** Bytes a connection may always hold, budget or not (a HELLO, small requests). */
  static final long RESERVE_BYTES = 64 << 10;

  private final long limit;
  private final AtomicLong used = new AtomicLong();
  private final ConcurrentLinkedQueue<Runnable> waiters = new ConcurrentLinkedQueue<>();

  RequestBudget(long limit) {
    if (limit <= 0) {
      throw new IllegalArgumentException("request memory budget must be > 0, got " + limit);
    }
    this.limit = limit;
  }

  /** The limit in bytes. */
  long limit() {
    return limit;
  }

  /** Bytes held now over every connection. */
  long used() {
    return used.get();
  }

  /** Whether the total is above the limit. */
  boolean exhausted() {
    return used.get() > limit;
  }

  /** Adds (or, negative, takes back) bytes; wakes the waiters once the total is back in budget. */
  void add(long delta) {
    if (delta == 0) {
      return;
    }
    long now = used.addAndGet(delta);
    if (delta < 0 && now <= limit) {
      wake();
    }
  }

  /**
   * Runs {@code resume} (on the calling thread, so it must only hand work to an event loop) once
   * the total is back within the limit: at once if it already is.
   */
  void await(Runnable resume) {
    waiters.add(resume);
    if (!exhausted()) {
      wake(); // freed between the caller's check and the add: nobody else would wake it
    }
  }

  /** Waiting connections now. */
  int waiting() {
    return waiters.size();
  }

  private void wake() {
    Runnable r;
    while (!exhausted() && (r = waiters.poll()) != null) {
      r.run();
    }
  }
}
