package io.kvstore.server.metrics;

import java.util.Locale;

/**
 * The daemon's own metrics, recorded by the network layer: per-operation latency, connections,
 * errors by code and bytes on the wire. The store's numbers are added by {@link StoreMetrics},
 * read at scrape time. Every method here is safe to call from any I/O thread and allocates nothing
 * (an error code's first occurrence excepted).
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

  private final MetricsRegistry registry;
  private final LatencyHistogram[] latency = new LatencyHistogram[Op.values().length];
  private final Gauge connections;
  private final Counter connectionsAccepted;
  private final CounterFamily errors;
  private final Counter bytesIn;
  private final Counter bytesOut;

  /**
   * Registers the daemon's metrics in a registry.
   *
   * @param registry the registry to register in (usually a fresh one)
   */
  public ServerMetrics(MetricsRegistry registry) {
    this.registry = registry;
    String[] ops = new String[Op.values().length];
    for (Op op : Op.values()) {
      ops[op.ordinal()] = op.label();
    }
    HistogramFamily h = registry.histogramFamily("kvstore_op_latency_seconds",
        "Time from a request's arrival to its reply being written, by operation.", "op", ops);
    for (Op op : Op.values()) {
      latency[op.ordinal()] = h.labels(op.label());
    }
    connections = registry.gauge("kvstore_connections", "Client connections open now.");
    connectionsAccepted = registry.counter("kvstore_connections_accepted_total",
        "Client connections accepted since start.");
    errors = registry.counterFamily("kvstore_errors_total",
        "Error replies sent, by protocol error code.", "code");
    bytesIn = registry.counter("kvstore_bytes_in_total", "Protocol bytes received from clients.");
    bytesOut = registry.counter("kvstore_bytes_out_total", "Protocol bytes sent to clients.");
  }

  /** The registry these metrics are in, to add collectors and to scrape. */
  public MetricsRegistry registry() {
    return registry;
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
    return connections.get();
  }

  /** Client connections accepted since start. */
  public long connectionsAccepted() {
    return connectionsAccepted.get();
  }

  /**
   * Counts one error reply.
   *
   * @param code the protocol error code's name as in {@code spec/3-wire-protocol.md}, e.g.
   *     {@code FRAME_TOO_LARGE}; keep the set small and fixed, since each distinct code becomes a
   *     time series
   */
  public void recordError(String code) {
    errors.labels(code).inc();
  }

  /**
   * Errors counted for one code.
   *
   * @param code the code
   * @return the count, 0 if never seen
   */
  public long errors(String code) {
    return errors.value(code);
  }

  /**
   * Counts bytes received.
   *
   * @param bytes the number of bytes
   */
  public void addBytesIn(long bytes) {
    bytesIn.add(bytes);
  }

  /**
   * Counts bytes sent.
   *
   * @param bytes the number of bytes
   */
  public void addBytesOut(long bytes) {
    bytesOut.add(bytes);
  }

  /** Protocol bytes received so far. */
  public long bytesIn() {
    return bytesIn.get();
  }

  /** Protocol bytes sent so far. */
  public long bytesOut() {
    return bytesOut.get();
  }
}
