package io.kvstore.server.net;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;

/**
 * One kind of WARN line that a client can cause at will (a refused connection, a failed HELLO, a
 * timeout), written at most once per interval: a flood of refusals must not become a flood of log
 * lines. The next line written says how many were left out since the last one. Thread-safe,
 * allocation-free when a line is left out.
 */
final class RateLimitedLog {

  /** Default interval between two lines of one kind. */
  static final long INTERVAL_NANOS_DEFAULT = TimeUnit.SECONDS.toNanos(10);

  private final Logger log;
  private final long intervalNanos;
  private final AtomicLong nextAllowed;
  private final AtomicLong suppressed = new AtomicLong();

  RateLimitedLog(Logger log, long intervalNanos) {
    this.log = log;
    this.intervalNanos = intervalNanos;
    this.nextAllowed = new AtomicLong(System.nanoTime() - 1);
  }

  RateLimitedLog(Logger log) {
    this(log, INTERVAL_NANOS_DEFAULT);
  }

  /**
   * Writes {@code message} (an SLF4J pattern with up to two arguments) at WARN unless a line of
   * this kind was written less than an interval ago.
   *
   * @return whether the line was written
   */
  boolean warn(String message, Object a, Object b) {
    long now = System.nanoTime();
    long next = nextAllowed.get();
    if (now - next < 0 || !nextAllowed.compareAndSet(next, now + intervalNanos)) {
      suppressed.incrementAndGet();
      return false;
    }
    long left = suppressed.getAndSet(0);
    if (left == 0) {
      log.warn(message, a, b);
    } else if (log.isWarnEnabled()) {
      log.warn(message + " (" + left + " more like this since the last such line)", a, b);
    }
    return true;
  }

  /** Lines left out since the last one written. */
  long suppressed() {
    return suppressed.get();
  }
}
