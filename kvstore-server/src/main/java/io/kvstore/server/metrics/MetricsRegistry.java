package io.kvstore.server.metrics;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongSupplier;

/**
 * The metrics of one daemon, written in the Prometheus text format by {@link #scrape()} in the
 * order they were registered. Registration checks names (grammar, {@code _total} on counters,
 * no family registered twice); recording into the returned objects is lock-free and, after a
 * label value's first use, allocation-free.
 */
public final class MetricsRegistry {
  private final CopyOnWriteArrayList<Collector> collectors = new CopyOnWriteArrayList<>();
  private final Set<String> names = ConcurrentHashMap.newKeySet();

  /**
   * Registers a counter without labels.
   *
   * @param name the name, ending in {@code _total}
   * @param help one line of help
   * @return the counter
   */
  public Counter counter(String name, String help) {
    reserve(counterName(name));
    Counter c = new Counter();
    collectors.add(out -> {
      out.family(name, "counter", help);
      out.sample(name, c.get());
    });
    return c;
  }

  /**
   * Registers a counter with one label whose values appear as they are used.
   *
   * @param name the name, ending in {@code _total}
   * @param help one line of help
   * @param label the label's name
   * @return the family
   */
  public CounterFamily counterFamily(String name, String help, String label) {
    CounterFamily f = new CounterFamily(counterName(name), help, label);
    reserve(name);
    collectors.add(f);
    return f;
  }

  /**
   * Registers a gauge without labels that the caller sets.
   *
   * @param name the name
   * @param help one line of help
   * @return the gauge
   */
  public Gauge gauge(String name, String help) {
    Gauge g = new Gauge();
    gauge(name, help, g::get);
    return g;
  }

  /**
   * Registers a gauge without labels whose value is read at scrape time.
   *
   * @param name the name
   * @param help one line of help
   * @param value read at every scrape
   */
  public void gauge(String name, String help, LongSupplier value) {
    reserve(PrometheusTextWriter.checkMetricName(name));
    collectors.add(out -> {
      out.family(name, "gauge", help);
      out.sample(name, value.getAsLong());
    });
  }

  /**
   * Registers latency histograms with one label and a fixed set of values.
   *
   * @param name the name (in seconds, e.g. {@code kvstore_op_latency_seconds})
   * @param help one line of help
   * @param label the label's name
   * @param labelValues every value the label takes
   * @return the family
   */
  public HistogramFamily histogramFamily(String name, String help, String label, String... labelValues) {
    HistogramFamily f = new HistogramFamily(PrometheusTextWriter.checkMetricName(name), help, label, labelValues);
    reserve(name);
    collectors.add(f);
    return f;
  }

  /**
   * Registers a collector that writes its own families (e.g. from a statistics snapshot).
   *
   * @param collector the collector
   * @param familyNames the names of the families it writes, reserved so no other registration
   *     can take them
   */
  public void register(Collector collector, String... familyNames) {
    for (String n : familyNames) {
      reserve(PrometheusTextWriter.checkMetricName(n));
    }
    collectors.add(collector);
  }

  /** Every metric in the text format, ready to serve. */
  public String scrape() {
    StringBuilder sb = new StringBuilder(16 * 1024);
    PrometheusTextWriter out = new PrometheusTextWriter(sb);
    for (Collector c : collectors) {
      c.collect(out);
    }
    return sb.toString();
  }

  private void reserve(String name) {
    if (!names.add(name)) {
      throw new IllegalArgumentException("metric family '" + name + "' is registered twice");
    }
  }

  private static String counterName(String name) {
    PrometheusTextWriter.checkMetricName(name);
    if (!name.endsWith("_total")) {
      throw new IllegalArgumentException("counter name '" + name + "' must end in _total");
    }
    return name;
  }
}
