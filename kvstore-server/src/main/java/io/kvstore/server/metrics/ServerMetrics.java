package io.kvstore.server.metrics;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The daemon's own metrics, recorded by the network layer: per-operation latency, connections,
 * errors by code and bytes on the wire, all Prometheus client metrics in one {@link
 * MetricsRegistry}. The store's numbers are added by {@link StoreMetrics}, read at scrape time;
 * other components register counters they keep themselves with {@link #registerCounter} and
 * {@link #registerGauge}. Every recording method is safe to call from any I/O thread and takes no
 * lock.
 */
public final class ServerMetrics {

  /** The protocol operations, as the {@code op} label of {@code kvstore_op_latency_seconds}. */
  public enum Op {
    /** How many leading blocks of a key chain are present. */
    LOOKUP,
    /** Fetch pages. */
    GET,
    /** Store pages. */
    PUT,
    /** Promote pages ahead of need. */
    PREFETCH,
    /** Remove pages. */
    DELETE,
    /** Store statistics. */
    STATS,
    /** Liveness round trip. */
    PING;

    private final String label = name().toLowerCase(Locale.ROOT);

    /** The label value, e.g. {@code get}. */
    public String label() {
      return label;
    }
  }

  /**
   * Bucket bounds of {@code kvstore_op_latency_seconds}: 1 µs to 10 s in a 1-2-5 series. Classic
   * fixed buckets (not the library's native histograms) because Prometheus sums buckets across
   * daemons and over time, which needs the same bounds everywhere, and every Prometheus version
   * reads them.
   */
  static final double[] LATENCY_BOUNDS_SECONDS = {
    1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4,
    1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5,
    1, 2, 5, 10
  };

  private final MetricsRegistry registry;
  private final LatencyHistogram[] latency = new LatencyHistogram[Op.values().length];
  private final Gauge connections;
  private final Counter connectionsAccepted;
  private final Counter errors;
  private final Counter bytesIn;
  private final Counter bytesOut;

  /**
   * Registers the daemon's metrics in a registry.
   *
   * @param registry the registry to register in (usually a fresh one)
   */
  public ServerMetrics(MetricsRegistry registry) {
    this.registry = registry;
    Histogram h = Histogram.builder()
        .name("kvstore_op_latency_seconds")
        .help("Time from a request's arrival to its reply being written, by operation.")
        .labelNames("op")
        .classicOnly()
        .classicUpperBounds(LATENCY_BOUNDS_SECONDS)
        .withoutExemplars()
        .register(registry.prometheus());
    for (Op op : Op.values()) {
      // Every op present from the start, with zeros, so rate() has a series before the first use.
      latency[op.ordinal()] = new LatencyHistogram(h.labelValues(op.label()));
    }
    connections = Gauge.builder().name("kvstore_connections")
        .help("Client connections open now.").register(registry.prometheus());
    connectionsAccepted = Counter.builder().name("kvstore_connections_accepted_total")
        .help("Client connections accepted since start.").withoutExemplars()
        .register(registry.prometheus());
    errors = Counter.builder().name("kvstore_errors_total")
        .help("Error replies sent, by protocol error code.").labelNames("code").withoutExemplars()
        .register(registry.prometheus());
    bytesIn = Counter.builder().name("kvstore_bytes_in_total")
        .help("Protocol bytes received from clients.").withoutExemplars()
        .register(registry.prometheus());
    bytesOut = Counter.builder().name("kvstore_bytes_out_total")
        .help("Protocol bytes sent to clients.").withoutExemplars()
        .register(registry.prometheus());
  }

  /**
   * Registers the process-wide metrics: the JVM's (memory areas and pools, buffer pools {@code
   * direct} and {@code mapped}, GC, threads, classes, JIT, process CPU and file descriptors, from
   * the Prometheus client's {@code instrumentation-jvm}) and Netty's allocators and direct memory.
   * Once per registry; the daemon calls it, tests that make many registries need not.
   */
  public void registerJvmAndNettyMetrics() {
    JvmMetrics.builder().register(registry.prometheus());
    NettyAllocatorMetrics.register(registry);
  }

  /** The registry these metrics are in, to add more and to scrape. */
  public MetricsRegistry registry() {
    return registry;
  }

  /**
   * Registers a counter that some component keeps itself (e.g. a {@code LongAdder}), read at each
   * scrape.
   *
   * @param name the name, ending in {@code _total} (e.g. {@code kvstore_auth_failures_total})
   * @param help one line of help
   * @param value read at every scrape; must be cheap and never block (a field read)
   * @throws IllegalArgumentException if the name is invalid, lacks {@code _total} or is taken
   */
  public void registerCounter(String name, String help, LongSupplier value) {
    CounterWithCallback.builder().name(counterName(name)).help(help)
        .callback(cb -> cb.call(value.getAsLong()))
        .register(registry.prometheus());
  }

  /**
   * Registers a counter with one label and a fixed set of label values, each read at every scrape
   * from its own supplier (e.g. refused connections by reason).
   *
   * @param name the name, ending in {@code _total}
   * @param help one line of help
   * @param label the label's name, e.g. {@code reason}
   * @param values the value of each label value, in the order to write them
   * @throws IllegalArgumentException if the name is invalid, lacks {@code _total} or is taken
   */
  public void registerCounter(
      String name, String help, String label, Map<String, ? extends LongSupplier> values) {
    Map<String, LongSupplier> copy = new LinkedHashMap<>(values);
    CounterWithCallback.builder().name(counterName(name)).help(help).labelNames(label)
        .callback(cb -> copy.forEach((labelValue, v) -> cb.call(v.getAsLong(), labelValue)))
        .register(registry.prometheus());
  }

  /**
   * Registers a gauge read at each scrape.
   *
   * @param name the name (no {@code _total})
   * @param help one line of help
   * @param value read at every scrape; must be cheap and never block
   * @throws IllegalArgumentException if the name is invalid or taken
   */
  public void registerGauge(String name, String help, LongSupplier value) {
    GaugeWithCallback.builder().name(name).help(help)
        .callback(cb -> cb.call(value.getAsLong()))
        .register(registry.prometheus());
  }

  /**
   * Registers a gauge with one label and a fixed set of label values, each read at every scrape.
   *
   * @param name the name (no {@code _total})
   * @param help one line of help
   * @param label the label's name
   * @param values the value of each label value, in the order to write them
   * @throws IllegalArgumentException if the name is invalid or taken
   */
  public void registerGauge(
      String name, String help, String label, Map<String, ? extends LongSupplier> values) {
    Map<String, LongSupplier> copy = new LinkedHashMap<>(values);
    GaugeWithCallback.builder().name(name).help(help).labelNames(label)
        .callback(cb -> copy.forEach((labelValue, v) -> cb.call(v.getAsLong(), labelValue)))
        .register(registry.prometheus());
  }

  private static String counterName(String name) {
    if (!name.endsWith("_total")) {
      throw new IllegalArgumentException("counter name '" + name + "' must end in _total");
    }
    return name;
  }

  /**
   * Records how long one request took.
   *
   * @param op the operation
   * @param nanos the duration in nanoseconds
   */
  public void recordLatencyNanos(Op op, long nanos) {
    latency[op.ordinal()].recordNanos(nanos);
  }

  /**
   * The latency histogram of one operation.
   *
   * @param op the operation
   * @return its histogram
   */
  public LatencyHistogram latency(Op op) {
    return latency[op.ordinal()];
  }

  /** Counts a new client connection (accepted and open). */
  public void connectionOpened() {
    connectionsAccepted.inc();
    connections.inc();
  }

  /** Counts a client connection closed (by either side). */
  public void connectionClosed() {
    connections.dec();
  }

  /** Client connections open now. */
  public long connections() {
    return (long) connections.get();
  }

  /** Client connections accepted since start. */
  public long connectionsAccepted() {
    return (long) connectionsAccepted.get();
  }

  /**
   * Counts one error reply.
   *
   * @param code the protocol error code's name as in {@code spec/3-wire-protocol.md}, e.g.
   *     {@code FRAME_TOO_LARGE}; keep the set small and fixed, since each distinct code becomes a
   *     time series
   */
  public void recordError(String code) {
    errors.labelValues(code).inc();
  }

  /**
   * Errors counted for one code (reads a snapshot; for tests and tools, not for hot paths).
   *
   * @param code the code
   * @return the count, 0 if never seen
   */
  public long errors(String code) {
    for (CounterDataPointSnapshot p : errors.collect().getDataPoints()) {
      if (code.equals(p.getLabels().get("code"))) {
        return (long) p.getValue();
      }
    }
    return 0;
  }

  /**
   * Counts bytes received.
   *
   * @param bytes the number of bytes
   */
  public void addBytesIn(long bytes) {
    bytesIn.inc(bytes);
  }

  /**
   * Counts bytes sent.
   *
   * @param bytes the number of bytes
   */
  public void addBytesOut(long bytes) {
    bytesOut.inc(bytes);
  }

  /** Protocol bytes received so far. */
  public long bytesIn() {
    return (long) bytesIn.get();
  }

  /** Protocol bytes sent so far. */
  public long bytesOut() {
    return (long) bytesOut.get();
  }
}
