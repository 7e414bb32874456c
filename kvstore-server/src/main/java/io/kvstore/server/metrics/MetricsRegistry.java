package io.kvstore.server.metrics;

import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.OpenMetricsTextFormatWriter;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The metrics of one daemon: a {@link PrometheusRegistry} of the Prometheus Java client (each
 * daemon, and each test, its own rather than the library's global default, so that two daemons in
 * one JVM do not collide), plus the two ways the daemon writes it out: {@link #write} for
 * {@code GET /metrics} (the library's own writers) and {@link #scrape()} for the STATS verb and
 * tests.
 */
public final class MetricsRegistry {

  /** The content type of the Prometheus text format 0.0.4, served unless OpenMetrics is asked. */
  public static final String TEXT_CONTENT_TYPE = PrometheusTextFormatWriter.CONTENT_TYPE;

  private static final PrometheusTextFormatWriter TEXT = PrometheusTextFormatWriter.create();
  private static final OpenMetricsTextFormatWriter OPEN_METRICS = OpenMetricsTextFormatWriter.create();

  private final PrometheusRegistry registry = new PrometheusRegistry();

  /** The library registry, to register metrics in (names must be unique; it throws otherwise). */
  public PrometheusRegistry prometheus() {
    return registry;
  }

  /**
   * The writer for a request's {@code Accept} header: OpenMetrics text when the scraper asks for
   * it, else the Prometheus text format 0.0.4 (what every Prometheus version reads).
   *
   * @param accept the header, or null
   * @return the writer; its {@link ExpositionFormatWriter#getContentType()} is the answer's type
   */
  public static ExpositionFormatWriter writerFor(String accept) {
    return accept != null && OPEN_METRICS.accepts(accept) ? OPEN_METRICS : TEXT;
  }

  /**
   * Writes every metric with a writer.
   *
   * @param out where to write
   * @param writer from {@link #writerFor}
   * @throws IOException if the stream fails
   */
  public void write(OutputStream out, ExpositionFormatWriter writer) throws IOException {
    writer.write(out, registry.scrape());
  }

  /**
   * Every metric in the Prometheus text format 0.0.4, with each sample value that is a whole
   * number written as an integer ({@code 8388608}, not the library's {@code 8388608.0} or
   * {@code 6.7108864E7}): the STATS verb's body is this text without comments, and its readers
   * (and people) parse counts as integers. The format allows both spellings.
   */
  public String scrape() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(16 * 1024);
    try {
      write(bytes, TEXT);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
    }
    String text = bytes.toString(StandardCharsets.UTF_8);
    StringBuilder sb = new StringBuilder(text.length());
    int start = 0;
    while (start < text.length()) {
      int end = text.indexOf('\n', start);
      if (end < 0) {
        end = text.length();
      }
      appendLine(sb, text, start, end);
      start = end + 1;
    }
    return sb.toString();
  }

  /** Appends one line, its value rewritten as an integer when it is a sample with a whole value. */
  private static void appendLine(StringBuilder sb, String text, int start, int end) {
    int space = text.lastIndexOf(' ', end - 1);
    if (text.charAt(start) != '#' && space > start) {
      String value = text.substring(space + 1, end);
      double v = parseOrNaN(value);
      // 2^53: beyond it a double no longer holds every integer, so the library's spelling stays.
      if (v == Math.rint(v) && Math.abs(v) < 9.007199254740992E15) {
        sb.append(text, start, space + 1).append((long) v).append('\n');
        return;
      }
    }
    sb.append(text, start, end).append('\n');
  }

  private static double parseOrNaN(String value) {
    try {
      return Double.parseDouble(value);
    } catch (NumberFormatException e) {
      return Double.NaN; // +Inf, a label with a space, anything not a plain number: left as it is
    }
  }
}
