package io.kvstore.server.config;

import java.util.Locale;

/**
 * Byte sizes as people write them in configuration: {@code 64MiB}, {@code 1GiB}, {@code 500MB}.
 *
 * <p>Grammar (case-insensitive, no spaces inside the number):
 *
 * <pre>
 *   size   = digits [ " " ] [ unit ]
 *   digits = "0".."9" { "0".."9" }
 *   unit   = "B"                                   (bytes, the same as no unit)
 *          | "KiB" | "MiB" | "GiB" | "TiB"          (powers of 1024)
 *          | "KB"  | "MB"  | "GB"  | "TB"           (powers of 1000)
 * </pre>
 *
 * <p>Single-letter units such as {@code 512k} or {@code 1G} are rejected on purpose: whether they
 * mean powers of 1000 or of 1024 differs between tools, and a cache sized 7% too large can fail to
 * fit the machine.
 */
public final class Sizes {

  /** What a size looks like, for error messages. */
  public static final String EXPECTED_FORM =
      "a size: a non-negative integer with an optional unit B, KiB, MiB, GiB, TiB (powers of 1024)"
          + " or KB, MB, GB, TB (powers of 1000), case-insensitive, e.g. 64MiB";

  private static final String[] UNITS = {"b", "kib", "mib", "gib", "tib", "kb", "mb", "gb", "tb"};
  private static final long[] MULTIPLIERS = {
    1L, 1L << 10, 1L << 20, 1L << 30, 1L << 40, 1_000L, 1_000_000L, 1_000_000_000L, 1_000_000_000_000L
  };
  private static final String[] BINARY_NAMES = {"TiB", "GiB", "MiB", "KiB"};
  private static final int[] BINARY_SHIFTS = {40, 30, 20, 10};

  private Sizes() {}

  /**
   * Parses a size in the grammar above.
   *
   * @param text the size as written
   * @return the number of bytes
   * @throws IllegalArgumentException naming the expected form if {@code text} does not match the
   *     grammar or the size exceeds {@link Long#MAX_VALUE} bytes
   */
  public static long parseBytes(String text) {
    if (text == null) {
      throw new IllegalArgumentException("expected " + EXPECTED_FORM + ", got nothing");
    }
    String s = text.strip();
    int end = 0;
    while (end < s.length() && s.charAt(end) >= '0' && s.charAt(end) <= '9') {
      end++;
    }
    if (end == 0) {
      throw new IllegalArgumentException("expected " + EXPECTED_FORM);
    }
    String unit = s.substring(end).strip().toLowerCase(Locale.ROOT);
    long multiplier = 1;
    if (!unit.isEmpty()) {
      int index = indexOf(unit);
      if (index < 0) {
        throw new IllegalArgumentException(
            "unknown unit '" + s.substring(end).strip() + "'; expected " + EXPECTED_FORM);
      }
      multiplier = MULTIPLIERS[index];
    }
    long number;
    try {
      number = Long.parseLong(s.substring(0, end));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("number too large; expected " + EXPECTED_FORM, e);
    }
    try {
      return Math.multiplyExact(number, multiplier);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("size too large (over 2^63-1 bytes)", e);
    }
  }

  /**
   * Formats a size for people: the largest binary unit that divides it exactly ({@code 64MiB},
   * which {@link #parseBytes} reads back), else the exact byte count followed by an approximation
   * in parentheses ({@code 2097216 (2.00MiB)}).
   *
   * @param bytes a non-negative number of bytes
   * @return the human form
   */
  public static String format(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("negative size: " + bytes);
    }
    if (bytes == 0) {
      return "0B";
    }
    for (int i = 0; i < BINARY_SHIFTS.length; i++) {
      long unit = 1L << BINARY_SHIFTS[i];
      if (bytes % unit == 0) {
        return (bytes / unit) + BINARY_NAMES[i];
      }
    }
    for (int i = 0; i < BINARY_SHIFTS.length; i++) {
      long unit = 1L << BINARY_SHIFTS[i];
      if (bytes >= unit) {
        return bytes + " (" + String.format(Locale.ROOT, "%.2f", (double) bytes / unit)
            + BINARY_NAMES[i] + ")";
      }
    }
    return bytes + "B";
  }

  private static int indexOf(String unit) {
    for (int i = 0; i < UNITS.length; i++) {
      if (UNITS[i].equals(unit)) {
        return i;
      }
    }
    return -1;
  }
}
