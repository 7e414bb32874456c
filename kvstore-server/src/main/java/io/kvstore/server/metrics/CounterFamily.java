package io.kvstore.server.metrics;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A counter with one label whose values appear as they are used, such as errors by code. The
 * first use of a label value creates its {@link Counter}; later uses find it without allocating.
 * Samples are written sorted by label value.
 */
public final class CounterFamily implements Collector {
  private final String name;
  private final String help;
  private final String label;
  private final ConcurrentHashMap<String, Counter> children = new ConcurrentHashMap<>();

  CounterFamily(String name, String help, String label) {
    this.name = name;
    this.help = help;
    this.label = PrometheusTextWriter.checkLabelName(label);
  }

  /**
   * The counter of one label value, created on first use.
   *
   * @param labelValue the label's value (any text; escaped on output)
   * @return the counter
   */
  public Counter labels(String labelValue) {
    Counter c = children.get(labelValue);
    return c != null ? c : children.computeIfAbsent(labelValue, k -> new Counter());
  }

  /**
   * Reads one label value's count without creating its series.
   *
   * @param labelValue the label's value
   * @return the count, 0 if the value was never used
   */
  public long value(String labelValue) {
    Counter c = children.get(labelValue);
    return c == null ? 0 : c.get();
  }

  @Override
  public void collect(PrometheusTextWriter out) {
    out.family(name, "counter", help);
    for (Map.Entry<String, Counter> e : new TreeMap<>(children).entrySet()) {
      out.sample(name, label, e.getKey(), e.getValue().get());
    }
  }
}
