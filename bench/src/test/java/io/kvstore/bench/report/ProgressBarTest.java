package io.kvstore.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ProgressBarTest {

  private long now = 1_000_000_000L;
  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

  @Test
  void shouldStayQuietDuringTheFirstSeconds() {
    ProgressBar bar = new ProgressBar(out, true, 100, "requests", () -> now);
    now += ProgressBar.SHOW_AFTER_NANOS - 1;
    assertFalse(bar.update(10, ""));
    bar.close();
    assertEquals("", bytes.toString(StandardCharsets.UTF_8), "a short run prints nothing");
  }

  @Test
  void shouldRedrawAtMostFourTimesASecond() {
    ProgressBar bar = new ProgressBar(out, true, 1000, "requests", () -> now);
    now += ProgressBar.SHOW_AFTER_NANOS;
    int drawn = 0;
    // 10 seconds of updates every millisecond.
    for (int i = 0; i < 10_000; i++) {
      if (bar.update(i / 10, "")) {
        drawn++;
      }
      now += 1_000_000L;
    }
    assertEquals(40, drawn);
    assertEquals(40, bar.draws());
    String text = bytes.toString(StandardCharsets.UTF_8);
    assertEquals(40, text.chars().filter(c -> c == '\r').count());
    bar.close();
    assertTrue(bytes.toString(StandardCharsets.UTF_8).endsWith("\n"));
  }

  @Test
  void shouldDrawNothingWhenDisabled() {
    ProgressBar bar = new ProgressBar(out, false, 10, "requests", () -> now);
    now += 60_000_000_000L;
    assertFalse(bar.update(5, ""));
    bar.finish(10, "");
    bar.close();
    assertEquals(0, bytes.size());
  }

  @Test
  void shouldRenderCountsShareAndEta() {
    ProgressBar bar = new ProgressBar(out, true, 3993, "requests", () -> now);
    assertEquals("[############------------]  50.0%  1,996/3,993 requests  12.0 s  eta 12.0 s"
        + "  1.24 GB/s", bar.line(1996, 12_000_000_000L, "1.24 GB/s"));
    assertEquals("[########################] 100.0%  10/10 s  3.0 s",
        new ProgressBar(out, true, 10, "s", () -> now).line(12, 3_000_000_000L, ""));
  }

  @Test
  void shouldPadOverALongerPreviousLine() {
    ProgressBar bar = new ProgressBar(out, true, 100, "requests", () -> now);
    now += ProgressBar.SHOW_AFTER_NANOS;
    bar.update(1, "a long extra text here");
    now += ProgressBar.MIN_INTERVAL_NANOS;
    bar.update(2, "");
    String[] draws = bytes.toString(StandardCharsets.UTF_8).split("\r");
    assertEquals(draws[1].length(), draws[2].length());
  }
}
