package io.kvstore.bench.targets;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte sizes on the command line, in the daemon's syntax ({@code docs/configuration.md}): an integer
 * with an optional unit, {@code B}, binary {@code KiB MiB GiB TiB} or decimal {@code KB MB GB TB},
 * case-insensitive. Single letters ({@code 64k}) are refused: tools disagree on whether they are
 * powers of 1000 or 1024.
 */
public final class ByteSize {

  private static final Pattern SIZE = Pattern.compile("(\\d{1,19})\\s?([a-zA-Z]*)");

  private ByteSize() {}

  /**
   * Parses {@code text}.
   *
   * @throws IllegalArgumentException with the accepted syntax if it is not a size
   */
  public static long parse(String text) {
    Matcher m = SIZE.matcher(text == null ? "" : text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "'" + text + "' is not a size: expected an integer with an optional unit"
              + " (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB), e.g. 64KiB");
    }
    long multiplier;
    switch (m.group(2).toLowerCase(Locale.ROOT)) {
      case "":
      case "b":
        multiplier = 1;
        break;
      case "kib":
        multiplier = 1L << 10;
        break;
      case "mib":
        multiplier = 1L << 20;
        break;
      case "gib":
        multiplier = 1L << 30;
        break;
      case "tib":
        multiplier = 1L << 40;
        break;
      case "kb":
        multiplier = 1_000L;
        break;
      case "mb":
        multiplier = 1_000_000L;
        break;
      case "gb":
        multiplier = 1_000_000_000L;
        break;
      case "tb":
        multiplier = 1_000_000_000_000L;
        break;
      default:
        throw new IllegalArgumentException(
            "'" + text + "' has an unknown unit '" + m.group(2)
                + "': use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB");
    }
    try {
      return Math.multiplyExact(Long.parseLong(m.group(1)), multiplier);
    } catch (ArithmeticException | NumberFormatException e) {
      throw new IllegalArgumentException("'" + text + "' is too large", e);
    }
  }

  /**
   * Parses a page payload size: at least 1 byte, and small enough that the page (64-byte header +
   * payload) is at most 256 MiB + 64 B, the page format's limit.
   */
  public static int parsePageBytes(String text) {
    long v = parse(text);
    if (v < 1 || v > io.kvstore.common.PageFormat.MAX_PAYLOAD_LENGTH) {
      throw new IllegalArgumentException(
          "page size must be 1 B to 256 MiB, got " + text);
    }
    return (int) v;
  }
}
