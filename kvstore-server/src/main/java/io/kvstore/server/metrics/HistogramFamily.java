package io.kvstore.server.metrics;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Latency histograms with one label and a fixed set of label values (such as the protocol's
 * operations), all written at every scrape, zeros included, so dashboards see every series from
 * the start. Values in seconds, as Prometheus recommends.
 */
public final class HistogramFamily implements Collector {
  private final String name;
  private final String help;
  private final String label;
  private final Map<String, LatencyHistogram> children = new LinkedHashMap<>();

  HistogramFamily(String name, String help, String label, String... labelValues) {
    this.name = name;
    this.help = help;
    this.label = PrometheusTextWriter.checkLabelName(label);
    if ("le".equals(label)) {
      throw new IllegalArgumentException("label 'le' is reserved for histogram buckets");
    }
    if (labelValues.length == 0) {
      throw new IllegalArgumentException("histogram family " + name + " needs at least one label value");
    }
    for (String v : labelValues) {
      if (children.put(v, new LatencyHistogram()) != null) {
        throw new IllegalArgumentException("label value '" + v + "' given twice for " + name);
      }
    }
  }

  /**
   * The histogram of one label value. Look it up once and keep it: the map lookup is not free.
   *
   * @param labelValue one of the values given at registration
   * @return the histogram
   * @throws IllegalArgumentException for any other value
   */
  public LatencyHistogram labels(String labelValue) {
    LatencyHistogram h = children.get(labelValue);
    if (h == null) {
      throw new IllegalArgumentException(
          "unknown " + label + " '" + labelValue + "' for " + name + "; known: " + children.keySet());
    }
    return h;
  }

  @Override
  public void collect(PrometheusTextWriter out) {
    out.family(name, "histogram", help);
    long[] bounds = LatencyHistogram.boundsNanos();
    long[] cumulative = new long[LatencyHistogram.bucketCount()];
    String bucket = name + "_bucket";
    for (Map.Entry<String, LatencyHistogram> e : children.entrySet()) {
      String value = e.getKey();
      long total = e.getValue().snapshot(cumulative);
      for (int i = 0; i < bounds.length; i++) {
        out.sample(bucket, label, value, "le", PrometheusTextWriter.seconds(bounds[i]),
            Long.toString(cumulative[i]));
      }
      out.sample(bucket, label, value, "le", "+Inf", Long.toString(total));
      out.sample(name + "_sum", label, value, null, null,
          PrometheusTextWriter.seconds(e.getValue().sumNanos()));
      out.sample(name + "_count", label, value, null, null, Long.toString(total));
    }
  }
}
