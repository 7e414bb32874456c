package io.kvstore.server.net;

import io.kvstore.server.shm.ShmManager;
import java.util.function.Supplier;
import io.kvstore.server.metrics.ServerMetrics;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Exports a network server's {@link NetCounters} and request memory budget as Prometheus families,
 * read at each scrape (docs/metrics.md lists them). Kept apart from the counters so that the net
 * path depends on no metrics library.
 */
public final class NetMetrics {

  private NetMetrics() {}

  /** Registers the network server's families with {@code metrics}; once per server. */
  static void register(ServerMetrics metrics, KvStoreNetworkServer server) {
    register(metrics, server.counters(), server::requestMemoryUsed, server::requestMemoryLimit);
    registerSharedMemory(metrics, server::sharedMemoryOrNull);
  }

  /**
   * Registers the shared-memory families (spec/4): regions and their bytes now, pages moved through
   * regions and pages sent inline for want of room. Read at each scrape; 0 before the server starts.
   */
  public static void registerSharedMemory(ServerMetrics metrics, Supplier<ShmManager> shm) {
    metrics.registerGauge("kvstore_shm_regions",
        "Shared-memory regions attached or offered now (one per same-host connection).",
        () -> shm.get() == null ? 0 : shm.get().regions());
    metrics.registerGauge("kvstore_shm_bytes",
        "Bytes of those regions, against shm.total.bytes.",
        () -> shm.get() == null ? 0 : shm.get().usedBytes());
    metrics.registerGauge("kvstore_shm_leases",
        "GET leases (runs of a region's GET area) clients hold: page views not yet released.",
        () -> shm.get() == null ? 0 : shm.get().leases());
    Map<String, LongSupplier> pages = new LinkedHashMap<>();
    pages.put("get_region", () -> shm.get() == null ? 0 : shm.get().pagesOut());
    pages.put("get_inline", () -> shm.get() == null ? 0 : shm.get().pagesInline());
    pages.put("put_region", () -> shm.get() == null ? 0 : shm.get().pagesIn());
    metrics.registerCounter("kvstore_shm_faults_total",
        "Regions whose memory faulted under a copy (their tmpfs out of room, or their file"
            + " truncated); their GET pages then go inline.",
        () -> shm.get() == null ? 0 : shm.get().faults());
    metrics.registerCounter("kvstore_shm_pages_total",
        "Pages moved through shared memory, and GET pages sent inline because the GET area was"
            + " full, by path.", "path", pages);
  }

  /**
   * Registers the families of {@code c} and of a request memory budget with {@code metrics}.
   *
   * @param memoryUsed bytes of request buffers held now
   * @param memoryLimit the budget
   */
  public static void register(
      ServerMetrics metrics, NetCounters c, LongSupplier memoryUsed, LongSupplier memoryLimit) {
    Map<String, LongSupplier> refused = new LinkedHashMap<>();
    for (NetCounters.Refusal r : NetCounters.Refusal.values()) {
      refused.put(r.name().toLowerCase(Locale.ROOT), () -> c.refusals(r));
    }
    metrics.registerCounter("kvstore_connections_refused_total",
        "Connections refused or cut before being served, by reason.", "reason", refused);
    Map<String, LongSupplier> timeouts = new LinkedHashMap<>();
    for (NetCounters.Timeout t : NetCounters.Timeout.values()) {
      timeouts.put(t.name().toLowerCase(Locale.ROOT), () -> c.timeouts(t));
    }
    metrics.registerCounter("kvstore_connection_timeouts_total",
        "Connections cut by a timeout, by kind (handshake, read, write, idle).", "kind", timeouts);
    metrics.registerCounter("kvstore_auth_failures_total",
        "HELLOs refused with AUTH_FAILED or NAMESPACE_DENIED.", c::authFailures);
    metrics.registerCounter("kvstore_accept_failures_total",
        "Times accept failed on the listening socket (out of file descriptors, mostly); accepting"
            + " pauses 1 s after each.", c::acceptFailures);
    metrics.registerCounter("kvstore_request_budget_waits_total",
        "Times a connection stopped reading because the request memory budget was spent.",
        c::budgetWaits);
    metrics.registerGauge("kvstore_request_memory_used_bytes",
        "Bytes of request buffers held now against the daemon-wide budget.",
        memoryUsed);
    metrics.registerGauge("kvstore_request_memory_limit_bytes",
        "The daemon-wide request memory budget (net.request.memory.bytes, resolved).",
        memoryLimit);
  }
}
