package io.kvstore.client;

import java.util.random.RandomGenerator;

/**
 * Delays between reconnect attempts: exponential with "equal jitter" (Marc Brooker, "Exponential
 * Backoff And Jitter", AWS Architecture Blog, 2015). Attempt {@code n} (from 1) waits between half
 * and all of {@code min(max, base * 2^(n-1))}: growing, so a daemon that is down is not hammered;
 * bounded, so a daemon that comes back is found within {@code max}; jittered, so the connections
 * of many clients (or of one pool) that lost the same daemon do not all come back in the same
 * millisecond.
 */
final class Backoff {

  private final long baseNanos;
  private final long maxNanos;
  private final RandomGenerator random;

  /**
   * @param baseNanos the delay before the first attempt (before jitter)
   * @param maxNanos the bound on any delay
   * @param random the jitter source
   */
  Backoff(long baseNanos, long maxNanos, RandomGenerator random) {
    if (baseNanos <= 0 || maxNanos < baseNanos) {
      throw new IllegalArgumentException("need 0 < base <= max, got " + baseNanos + ", " + maxNanos);
    }
    this.baseNanos = baseNanos;
    this.maxNanos = maxNanos;
    this.random = random;
  }

  /** The delay before attempt {@code attempt} (1 = the first after a loss), in nanoseconds. */
  long delayNanos(int attempt) {
    int doublings = Math.min(Math.max(attempt, 1) - 1, 62);
    long ceiling = baseNanos > (maxNanos >> doublings) ? maxNanos : Math.min(maxNanos, baseNanos << doublings);
    long half = ceiling / 2;
    return ceiling - half + random.nextLong(half + 1);
  }

  /** The bound on every delay. */
  long maxNanos() {
    return maxNanos;
  }
}
