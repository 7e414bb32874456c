package io.kvstore.server.metrics;

import java.util.concurrent.atomic.AtomicLong;

/** A value that goes up and down, such as open connections. */
public final class Gauge {
  private final AtomicLong value = new AtomicLong();

  /** Adds one. */
  public void inc() {
    value.incrementAndGet();
  }

  /** Subtracts one. */
  public void dec() {
    value.decrementAndGet();
  }

  /**
   * Sets the value.
   *
   * @param v the new value
   */
  public void set(long v) {
    value.set(v);
  }

  /** The current value. */
  public long get() {
    return value.get();
  }
}
