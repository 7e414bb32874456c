package io.kvstore.bench.replay;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations on the command line: an integer with a unit, {@code ms}, {@code s}, {@code m} or {@code h}. */
public final class Durations {

  private static final Pattern DURATION = Pattern.compile("(\\d{1,12})(ms|s|m|h)");

  private Durations() {}

  /**
   * Parses {@code text} (e.g. {@code 30s}, {@code 500ms}, {@code 2m}) into nanoseconds.
   *
   * @throws IllegalArgumentException with the accepted syntax if it is not a duration
   */
  public static long parseNanos(String text) {
    Matcher m = DURATION.matcher(text == null ? "" : text.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "'" + text + "' is not a duration: expected an integer with ms, s, m or h, e.g. 30s");
    }
    long v = Long.parseLong(m.group(1));
    long unit = switch (m.group(2)) {
      case "ms" -> 1_000_000L;
      case "s" -> 1_000_000_000L;
      case "m" -> 60_000_000_000L;
      default -> 3_600_000_000_000L;
    };
    return Math.multiplyExact(v, unit);
  }
}
