package io.kvstore.server.metrics;

import java.math.BigDecimal;
import java.util.regex.Pattern;

/**
 * Writes the Prometheus text exposition format, version 0.0.4: for each metric family a
 * {@code # HELP} and a {@code # TYPE} line, then its samples, one per line:
 *
 * <pre>
 *   # HELP kvstore_tier_hits_total Pages found, by the tier they were found in.
 *   # TYPE kvstore_tier_hits_total counter
 *   kvstore_tier_hits_total{tier="dram"} 1027
 * </pre>
 *
 * <p>Escaping follows the format: in help text a backslash becomes {@code \\} and a line feed
 * {@code \n}; in label values the double quote also becomes {@code \"}. Values are written as
 * integers or, for seconds, as exact decimals, so the output is deterministic and testable.
 *
 * <p>Not thread-safe: one writer per scrape.
 */
public final class PrometheusTextWriter {

  /** Content type of the format, for the HTTP response. */
  public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private static final Pattern METRIC_NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

  private final StringBuilder out;

  /**
   * Makes a writer that appends to a builder.
   *
   * @param out where the text goes
   */
  public PrometheusTextWriter(StringBuilder out) {
    this.out = out;
  }

  /**
   * Checks a metric name against the format's grammar.
   *
   * @param name the name
   * @return the name
   * @throws IllegalArgumentException if it is not a valid metric name
   */
  public static String checkMetricName(String name) {
    if (name == null || !METRIC_NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("bad metric name '" + name + "': expected [a-zA-Z_:][a-zA-Z0-9_:]*");
    }
    return name;
  }

  /**
   * Checks a label name against the format's grammar ({@code le} is reserved for histograms).
   *
   * @param name the name
   * @return the name
   * @throws IllegalArgumentException if it is not a valid label name
   */
  public static String checkLabelName(String name) {
    if (name == null || !LABEL_NAME.matcher(name).matches() || name.startsWith("__")) {
      throw new IllegalArgumentException("bad label name '" + name + "': expected [a-zA-Z_][a-zA-Z0-9_]*, not starting with __");
    }
    return name;
  }

  /**
   * Starts a metric family.
   *
   * @param name the family's name (for counters, including {@code _total})
   * @param type {@code counter}, {@code gauge} or {@code histogram}
   * @param help one line of help; escaped here
   */
  public void family(String name, String type, String help) {
    out.append("# HELP ").append(name).append(' ');
    escape(help, false);
    out.append('\n').append("# TYPE ").append(name).append(' ').append(type).append('\n');
  }

  /**
   * Writes a sample without labels.
   *
   * @param name the sample's name
   * @param value the value
   */
  public void sample(String name, long value) {
    out.append(name).append(' ').append(value).append('\n');
  }

  /**
   * Writes a sample with one label.
   *
   * @param name the sample's name
   * @param label the label's name
   * @param labelValue the label's value; escaped here
   * @param value the value
   */
  public void sample(String name, String label, String labelValue, long value) {
    out.append(name).append('{').append(label).append("=\"");
    escape(labelValue, true);
    out.append("\"} ").append(value).append('\n');
  }

  /**
   * Writes a sample with an optional label and a textual value (already in the format's number
   * syntax), as histograms need.
   *
   * @param name the sample's name
   * @param label the label's name, or null for none
   * @param labelValue the label's value (escaped here), or null for none
   * @param extraLabel a second label's name (e.g. {@code le}), or null for none
   * @param extraValue the second label's value (escaped here), or null for none
   * @param value the value, e.g. {@code 0.25} or {@code +Inf}
   */
  public void sample(String name, String label, String labelValue, String extraLabel,
      String extraValue, String value) {
    out.append(name);
    if (label != null || extraLabel != null) {
      out.append('{');
      if (label != null) {
        out.append(label).append("=\"");
        escape(labelValue, true);
        out.append('"');
      }
      if (extraLabel != null) {
        out.append(label != null ? "," : "").append(extraLabel).append("=\"");
        escape(extraValue, true);
        out.append('"');
      }
      out.append('}');
    }
    out.append(' ').append(value).append('\n');
  }

  /**
   * Formats nanoseconds as seconds, exactly and without exponent: {@code 1500} → {@code 0.0000015}.
   *
   * @param nanos a duration in nanoseconds
   * @return seconds as a decimal string
   */
  public static String seconds(long nanos) {
    return BigDecimal.valueOf(nanos, 9).stripTrailingZeros().toPlainString();
  }

  private void escape(String s, boolean labelValue) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\') {
        out.append("\\\\");
      } else if (c == '\n') {
        out.append("\\n");
      } else if (c == '"' && labelValue) {
        out.append("\\\"");
      } else {
        out.append(c);
      }
    }
  }
}
