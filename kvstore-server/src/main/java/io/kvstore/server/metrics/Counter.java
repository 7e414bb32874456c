package io.kvstore.server.metrics;

import java.util.concurrent.atomic.LongAdder;

/**
 * A monotonically increasing count, cheap to bump from many threads at once (a {@link LongAdder}
 * spreads contended increments over cells instead of retrying one CAS).
 */
public final class Counter {
  private final LongAdder adder = new LongAdder();

  /** Adds one. */
  public void inc() {
    adder.increment();
  }

  /**
   * Adds a non-negative amount.
   *
   * @param amount the amount; negative amounts are ignored, since a counter never goes down
   */
  public void add(long amount) {
    if (amount > 0) {
      adder.add(amount);
    }
  }

  /** The current count. */
  public long get() {
    return adder.sum();
  }
}
