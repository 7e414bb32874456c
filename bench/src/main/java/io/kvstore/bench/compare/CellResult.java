package io.kvstore.bench.compare;

import io.kvstore.bench.report.LatencySummary;
import org.HdrHistogram.Histogram;

/**
 * What one target did in one cell, over the measured window (after the warm-up).
 *
 * @param target the target's name
 * @param cell the cell
 * @param calls calls completed
 * @param pages pages moved (verified pages for a get)
 * @param bytes their bytes, headers included
 * @param elapsedNanos the measured window
 * @param latency latency of one call
 * @param histogram the samples behind {@code latency} (for plots), nanoseconds
 * @param errors pages fetched whose bytes did not verify
 * @param misses keys of the working set that a get did not find (a store that lost a page), or
 *     pages a put was refused
 */
public record CellResult(
    String target,
    Cell cell,
    long calls,
    long pages,
    long bytes,
    long elapsedNanos,
    LatencySummary latency,
    Histogram histogram,
    long errors,
    long misses) {

  /**
   * This result and a later one of the same target and cell taken together, as if one window:
   * counts and measured times summed, latencies from both histograms.
   *
   * @throws IllegalArgumentException if {@code later} is of another target or cell
   */
  public CellResult plus(CellResult later) {
    if (!target.equals(later.target) || !cell.equals(later.cell)) {
      throw new IllegalArgumentException("cannot add " + later.target + " in " + later.cell.name()
          + " to " + target + " in " + cell.name());
    }
    Histogram h = histogram.copy();
    h.add(later.histogram);
    return new CellResult(target, cell, calls + later.calls, pages + later.pages,
        bytes + later.bytes, elapsedNanos + later.elapsedNanos, LatencySummary.of(h), h,
        errors + later.errors, misses + later.misses);
  }

  /** Calls per second. */
  public double opsPerSecond() {
    return elapsedNanos <= 0 ? 0 : calls / (elapsedNanos / 1e9);
  }

  /** Pages per second. */
  public double pagesPerSecond() {
    return elapsedNanos <= 0 ? 0 : pages / (elapsedNanos / 1e9);
  }

  /** GB/s (10^9 bytes per second). */
  public double gigabytesPerSecond() {
    return elapsedNanos <= 0 ? 0 : bytes / (elapsedNanos / 1e9) / 1e9;
  }
}
