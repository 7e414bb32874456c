package io.kvstore.client.cluster;

import java.time.Duration;
import java.util.List;

/**
 * Where the live members of a cluster come from: a static list or etcd (spec §5.1). The
 * {@link ClusterClient} reads {@link #members()} and is told of changes through {@link #onChange}.
 *
 * <p>A source that cannot be read (etcd unreachable) keeps the last members it saw, says so in a
 * log line, and reports {@link #isStale()} and {@link #staleEvents()} until it can read again.
 */
public interface Membership extends AutoCloseable {

  /** Default interval at which the etcd source re-reads the member list. */
  Duration POLL_INTERVAL_DEFAULT = Duration.ofMillis(500);

  /**
   * Opens the membership source of a cluster address: {@code static://...} or {@code etcd://...}.
   *
   * @throws IllegalArgumentException if the address is malformed
   */
  static Membership open(String clusterUri) {
    return open(ClusterUri.parse(clusterUri), POLL_INTERVAL_DEFAULT);
  }

  /** Opens the membership source of a parsed cluster address, polling etcd every {@code poll}. */
  static Membership open(ClusterUri uri, Duration poll) {
    return uri.isEtcd() ? new EtcdMembership(uri, poll) : StaticMembership.of(uri);
  }

  /** The members last seen (an immutable snapshot). */
  List<Member> members();

  /** Whether the source could not be read at its last attempt (the last members are kept). */
  boolean isStale();

  /** How many times the source went from readable to unreadable. */
  long staleEvents();

  /**
   * Registers a listener run after {@link #members()} changed. It runs on the source's own thread
   * and must not block.
   */
  void onChange(Runnable listener);

  /** Stops watching; idempotent. */
  @Override
  void close();
}
