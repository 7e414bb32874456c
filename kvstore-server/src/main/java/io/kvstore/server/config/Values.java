package io.kvstore.server.config;

import io.kvstore.core.policy.Policies;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Locale;

/** Parsers for the value forms of {@link ConfigKey}; each failure says what was expected. */
final class Values {

  static final String BOOLEAN_FORM = "true or false";
  static final String HOST_FORM = "a host name or IP address without spaces, e.g. 127.0.0.1 or 0.0.0.0";
  static final String PATH_FORM = "a file system path";
  static final String NAME_FORM = "a name of 1 to 64 characters from a-z, 0-9, '_' and '-'";

  private Values() {}

  static String integerForm(long min, long max) {
    return "an integer from " + min + " to " + max;
  }

  static int parseInt(String raw, int min, int max) {
    String s = raw.strip();
    if (!s.matches("-?[0-9]{1,10}")) {
      throw new IllegalArgumentException("expected " + integerForm(min, max));
    }
    long v = Long.parseLong(s);
    if (v < min || v > max) {
      throw new IllegalArgumentException("out of range; expected " + integerForm(min, max));
    }
    return (int) v;
  }

  static long parseBytes(String raw, long min, long max) {
    long v = Sizes.parseBytes(raw);
    if (v < min || v > max) {
      throw new IllegalArgumentException("out of range; expected " + sizeForm(min, max));
    }
    return v;
  }

  static String sizeForm(long min, long max) {
    return max == Long.MAX_VALUE
        ? Sizes.EXPECTED_FORM + ", at least " + Sizes.format(min)
        : Sizes.EXPECTED_FORM + ", from " + Sizes.format(min) + " to " + Sizes.format(max);
  }

  static boolean parseBoolean(String raw) {
    String s = raw.strip().toLowerCase(Locale.ROOT);
    if (s.equals("true")) {
      return true;
    }
    if (s.equals("false")) {
      return false;
    }
    throw new IllegalArgumentException("expected " + BOOLEAN_FORM);
  }

  static String parseHost(String raw) {
    String s = raw.strip();
    if (s.isEmpty() || !s.matches("[^\\s/]+")) {
      throw new IllegalArgumentException("expected " + HOST_FORM);
    }
    return s;
  }

  static Path parsePath(String raw) {
    String s = raw.strip();
    if (s.isEmpty()) {
      throw new IllegalArgumentException("expected " + PATH_FORM + ", got an empty string");
    }
    try {
      return Path.of(s);
    } catch (InvalidPathException e) {
      throw new IllegalArgumentException("expected " + PATH_FORM + ": " + e.getMessage(), e);
    }
  }

  static String policyForm() {
    return "one of " + String.join(", ", Policies.names());
  }

  static String parsePolicy(String raw) {
    String s = raw.strip();
    if (!Policies.names().contains(s)) {
      throw new IllegalArgumentException("expected " + policyForm());
    }
    return s;
  }

  static String parseName(String raw) {
    String s = raw.strip();
    if (!s.matches("[a-z0-9][a-z0-9_-]{0,63}")) {
      throw new IllegalArgumentException("expected " + NAME_FORM);
    }
    return s;
  }
}
