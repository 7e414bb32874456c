package io.kvstore.server.metrics;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * A latency histogram with fixed buckets from 1 µs to 10 s in a 1-2-5 series (22 bounds, about
 * three per decade, plus +Inf), recorded in nanoseconds.
 *
 * <p>{@link #recordNanos} allocates nothing and takes no lock: a binary search over a constant
 * array of bounds, one atomic increment in an {@link AtomicLongArray} and one {@link LongAdder}
 * add for the sum. Fixed buckets (as Prometheus client libraries use) rather than an HdrHistogram,
 * because Prometheus aggregates buckets across daemons and over time, which needs the same bounds
 * everywhere.
 *
 * <p>Buckets count values {@code <= bound} (the {@code le} semantics of the format) and are kept
 * non-cumulative; {@link #snapshot} makes them cumulative. The count is derived from the same
 * bucket snapshot, so {@code _count} always equals the {@code +Inf} bucket; the sum is read
 * separately and may include a record or two that the buckets of the same scrape do not.
 */
public final class LatencyHistogram {

  private static final long US = 1_000L;
  private static final long MS = 1_000_000L;
  private static final long S = 1_000_000_000L;

  /** Upper bounds of the finite buckets, in nanoseconds, ascending. */
  private static final long[] BOUNDS_NANOS = {
    1 * US, 2 * US, 5 * US, 10 * US, 20 * US, 50 * US, 100 * US, 200 * US, 500 * US,
    1 * MS, 2 * MS, 5 * MS, 10 * MS, 20 * MS, 50 * MS, 100 * MS, 200 * MS, 500 * MS,
    1 * S, 2 * S, 5 * S, 10 * S
  };

  private final AtomicLongArray counts = new AtomicLongArray(BOUNDS_NANOS.length + 1);
  private final LongAdder sumNanos = new LongAdder();

  /** The finite bucket upper bounds in nanoseconds (a copy). */
  public static long[] boundsNanos() {
    return BOUNDS_NANOS.clone();
  }

  /** Number of buckets, the +Inf bucket included. */
  public static int bucketCount() {
    return BOUNDS_NANOS.length + 1;
  }

  /**
   * The bucket a duration falls in: the first whose bound is at least the duration, or the +Inf
   * bucket ({@code bucketCount() - 1}) past the last bound.
   *
   * @param nanos the duration; negative durations (a clock step) count as 0
   * @return the bucket index
   */
  public static int bucketIndex(long nanos) {
    int i = Arrays.binarySearch(BOUNDS_NANOS, Math.max(0, nanos));
    return i >= 0 ? i : -i - 1;
  }

  /**
   * Records one duration.
   *
   * @param nanos the duration in nanoseconds (e.g. the difference of two {@link System#nanoTime()})
   */
  public void recordNanos(long nanos) {
    long v = Math.max(0, nanos);
    counts.incrementAndGet(bucketIndex(v));
    sumNanos.add(v);
  }

  /**
   * Copies the cumulative bucket counts: element {@code i} is the number of records
   * {@code <= boundsNanos()[i]}, the last element the total.
   *
   * @param into an array of at least {@link #bucketCount()} elements, reused across scrapes
   * @return the total count (the last element)
   */
  public long snapshot(long[] into) {
    long running = 0;
    for (int i = 0; i < counts.length(); i++) {
      running += counts.get(i);
      into[i] = running;
    }
    return running;
  }

  /** Number of records so far. */
  public long count() {
    long total = 0;
    for (int i = 0; i < counts.length(); i++) {
      total += counts.get(i);
    }
    return total;
  }

  /** Sum of the recorded durations, in nanoseconds. */
  public long sumNanos() {
    return sumNanos.sum();
  }
}
