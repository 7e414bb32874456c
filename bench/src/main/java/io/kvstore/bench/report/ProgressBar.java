package io.kvstore.bench.report;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * A one-line progress bar redrawn in place with a carriage return, for runs longer than a few
 * seconds. Nothing is drawn during the first {@link #SHOW_AFTER_NANOS} (a short run prints no bar at
 * all), then at most once per {@link #MIN_INTERVAL_NANOS} (4 Hz), however often {@link #update} is
 * called: drawing is cheap to ask for and rate-limited here, so callers need not throttle.
 *
 * <pre>
 *   [##########----------]  50.0%  1,996/3,993 requests  12.3 s  eta 12.2 s  1.24 GB/s
 * </pre>
 *
 * <p>Not thread-safe: one thread (the run's coordinator) updates it.
 */
public final class ProgressBar implements AutoCloseable {

  /** A run shorter than this shows no bar. */
  public static final long SHOW_AFTER_NANOS = 2_000_000_000L;
  /** Least time between two redraws: 250 ms, at most 4 redraws a second. */
  public static final long MIN_INTERVAL_NANOS = 250_000_000L;

  private static final int WIDTH = 24;

  private final PrintStream out;
  private final boolean enabled;
  private final long total;
  private final String unit;
  private final LongSupplier nanoClock;
  private final long startNanos;
  private long lastDrawNanos;
  private int draws;
  private int lastLineLength;

  /**
   * @param out where to draw (stderr)
   * @param enabled false makes every call a no-op (stderr is not a terminal and no --progress)
   * @param total the amount of work that is 100%, in {@code unit}s (> 0)
   * @param unit what is counted, e.g. "requests" or "s"
   * @param nanoClock a {@link System#nanoTime()}-like clock
   */
  public ProgressBar(PrintStream out, boolean enabled, long total, String unit, LongSupplier nanoClock) {
    if (total <= 0) {
      throw new IllegalArgumentException("progress total must be > 0, got " + total);
    }
    this.out = out;
    this.enabled = enabled;
    this.total = total;
    this.unit = unit;
    this.nanoClock = nanoClock;
    this.startNanos = nanoClock.getAsLong();
    this.lastDrawNanos = startNanos - MIN_INTERVAL_NANOS;
  }

  /** Whether a bar should be drawn on this process's stderr by default: when it is a terminal. */
  public static boolean stderrIsTerminal() {
    // Java 17 cannot ask about stderr alone; a console exists when stdin and stdout are terminals,
    // which is the interactive case; --progress forces the bar for anything else.
    return System.console() != null;
  }

  /**
   * Reports progress; draws if enabled, past {@link #SHOW_AFTER_NANOS} and at least {@link
   * #MIN_INTERVAL_NANOS} since the last draw.
   *
   * @param done work done, in units of the total (clamped to it)
   * @param extra text after the counts (e.g. the current throughput), or "" for none
   * @return whether it drew
   */
  public boolean update(long done, String extra) {
    if (!enabled) {
      return false;
    }
    long now = nanoClock.getAsLong();
    if (now - startNanos < SHOW_AFTER_NANOS || now - lastDrawNanos < MIN_INTERVAL_NANOS) {
      return false;
    }
    draw(done, extra, now);
    return true;
  }

  /** Draws the final state, if a bar was drawn at all, and ends its line. */
  @Override
  public void close() {
    if (enabled && draws > 0) {
      out.print('\n');
      out.flush();
    }
  }

  /** Draws the bar once more with {@code done} regardless of the rate limit, if one is showing. */
  public void finish(long done, String extra) {
    if (enabled && draws > 0) {
      draw(done, extra, nanoClock.getAsLong());
    }
  }

  /** Number of times the bar was drawn. */
  public int draws() {
    return draws;
  }

  /** The line for {@code done} after {@code elapsedNanos}, without carriage return. */
  public String line(long done, long elapsedNanos, String extra) {
    long d = Math.max(0, Math.min(done, total));
    double share = (double) d / total;
    int filled = (int) Math.round(share * WIDTH);
    StringBuilder sb = new StringBuilder(96);
    sb.append('[').append("#".repeat(filled)).append("-".repeat(WIDTH - filled)).append(']');
    double elapsedS = elapsedNanos / 1e9;
    sb.append(String.format(Locale.ROOT, " %5.1f%%  %,d/%,d %s  %.1f s", share * 100, d, total, unit,
        elapsedS));
    if (d > 0 && d < total) {
      sb.append(String.format(Locale.ROOT, "  eta %.1f s", elapsedS * (total - d) / d));
    }
    if (!extra.isEmpty()) {
      sb.append("  ").append(extra);
    }
    return sb.toString();
  }

  private void draw(long done, String extra, long now) {
    String line = line(done, now - startNanos, extra);
    // Pad over the tail of a longer previous line, which \r alone would leave on screen.
    int pad = Math.max(0, lastLineLength - line.length());
    out.print('\r' + line + " ".repeat(pad));
    out.flush();
    lastLineLength = line.length();
    lastDrawNanos = now;
    draws++;
  }
}
