package io.kvstore.server.cluster;

import io.kvstore.server.metrics.ServerMetrics;

/**
 * The daemon's side of its cluster membership as metrics ({@code kvstore_cluster_*},
 * docs/metrics.md): whether clients can find it now, and how often its registration came and went.
 * Registered only when the daemon registers in etcd ({@code cluster = etcd://...}).
 */
public final class ClusterMetrics {

  /** What a registration reports; {@link EtcdRegistration} is one. */
  public interface Source {
    /** Whether the member key is in etcd under a live lease, as far as the daemon knows. */
    boolean registered();

    /** Times the daemon registered: the first time and after each lost lease. */
    long registrations();

    /** Attempts to register that failed (and were retried). */
    long failedAttempts();

    /** Leases lost after registering. */
    long leasesLost();
  }

  private ClusterMetrics() {}

  /**
   * Registers the cluster families, read from {@code source} at every scrape.
   *
   * @param metrics the daemon's metrics
   * @param source the registration to report
   */
  public static void register(ServerMetrics metrics, Source source) {
    metrics.registerGauge("kvstore_cluster_registered",
        "1 while this daemon's member key is in etcd under a live lease (clients route to it), else 0",
        () -> source.registered() ? 1 : 0);
    metrics.registerCounter("kvstore_cluster_registrations_total",
        "Times this daemon registered in etcd: the first time and after each lost lease",
        source::registrations);
    metrics.registerCounter("kvstore_cluster_registration_failures_total",
        "Attempts to register in etcd that failed (unreachable, timed out, refused); retried",
        source::failedAttempts);
    metrics.registerCounter("kvstore_cluster_leases_lost_total",
        "etcd leases this daemon lost after registering (expired, revoked, keep-alive failed)",
        source::leasesLost);
  }
}
