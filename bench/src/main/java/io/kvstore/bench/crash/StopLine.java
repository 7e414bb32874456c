package io.kvstore.bench.crash;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads what a graceful stop says it did not keep from the daemon's log: the store's close line
 * ({@code store closed in N ms: ...}) names the dirty pages and queued pages it could not write and
 * the dirty pages the write-back policy dropped while the store ran. No such line, or one without
 * those counts, means none.
 */
final class StopLine {

  private static final Pattern NOT_WRITTEN =
      Pattern.compile("([0-9][0-9.,'\u00a0\u202f]*) dirty pages and ([0-9][0-9.,'\u00a0\u202f]*)"
          + " queued pages were not written");
  private static final Pattern DROPPED =
      Pattern.compile("([0-9][0-9.,'\u00a0\u202f]*) dirty pages had been dropped by the write-back"
          + " policy while the store ran");

  private StopLine() {}

  /**
   * Pages the last close logged after byte {@code from} of {@code log} says a restart will not
   * find.
   */
  static long pagesNotKept(Path log, long from) throws IOException {
    String text;
    try (InputStream in = Files.newInputStream(log)) {
      in.skipNBytes(Math.min(from, Files.size(log)));
      text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    String line = null;
    for (String l : text.split("\n")) {
      if (l.contains("store closed in ")) {
        line = l;
      }
    }
    return line == null ? 0 : pagesNotKept(line);
  }

  /** The pages one close line says a restart will not find. */
  static long pagesNotKept(String line) {
    long n = 0;
    Matcher m = NOT_WRITTEN.matcher(line);
    if (m.find()) {
      n += number(m.group(1)) + number(m.group(2));
    }
    m = DROPPED.matcher(line);
    if (m.find()) {
      n += number(m.group(1));
    }
    return n;
  }

  /** A count as the log prints it, grouping separators of any locale dropped. */
  private static long number(String printed) {
    return Long.parseLong(printed.replaceAll("[^0-9]", ""));
  }
}
