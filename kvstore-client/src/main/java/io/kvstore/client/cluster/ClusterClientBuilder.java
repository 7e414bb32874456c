package io.kvstore.client.cluster;

import io.kvstore.client.KeyChain;
import io.kvstore.client.KvStoreClientBuilder;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Configures a {@link ClusterClient}. The membership is required, and the key chain (or, for the
 * chain-level API only, a namespace id).
 */
public final class ClusterClientBuilder {

  /** Default K, blocks per placement run (spec §5.4). */
  public static final int BLOCKS_PER_RUN_DEFAULT = 16;
  /** Default interval at which members that are down are probed again. */
  public static final Duration PROBE_INTERVAL_DEFAULT = Duration.ofMillis(500);
  /** Default connect + handshake timeout of a member's client. */
  public static final Duration MEMBER_CONNECT_TIMEOUT_DEFAULT = Duration.ofSeconds(1);

  String membershipUri;
  Membership membership;
  KeyChain keyChain;
  Long namespaceId;
  int blocksPerRun = BLOCKS_PER_RUN_DEFAULT;
  int replicas = 1;
  Duration probeInterval = PROBE_INTERVAL_DEFAULT;
  Duration pollInterval = Membership.POLL_INTERVAL_DEFAULT;
  Consumer<KvStoreClientBuilder> memberConfig = b -> { };

  ClusterClientBuilder() {}

  /**
   * The cluster: {@code static://host:port,...} or {@code etcd://host:port,.../NAME}; the client
   * opens and closes the membership source.
   */
  public ClusterClientBuilder cluster(String clusterUri) {
    ClusterUri.parse(clusterUri); // fail here, not in build()
    this.membershipUri = clusterUri;
    this.membership = null;
    return this;
  }

  /** A membership source the caller owns (and closes after the client). */
  public ClusterClientBuilder membership(Membership membership) {
    this.membership = Objects.requireNonNull(membership, "membership");
    this.membershipUri = null;
    return this;
  }

  /** The key chain of the namespace (gives the namespace id and the block size). */
  public ClusterClientBuilder keyChain(KeyChain keyChain) {
    this.keyChain = Objects.requireNonNull(keyChain, "keyChain");
    return this;
  }

  /**
   * The namespace, for a client that uses only the chain-level and unchained API (keys computed by
   * the caller); the token-level methods then throw {@link IllegalStateException}.
   */
  public ClusterClientBuilder namespaceId(long namespaceId) {
    this.namespaceId = namespaceId;
    return this;
  }

  /**
   * K: consecutive blocks placed together by the key of their first block (default 16). Larger K
   * touches fewer members per prompt; smaller K spreads one long prompt wider. Every SDK of a
   * cluster must use the same K, or they look for pages on different members.
   */
  public ClusterClientBuilder blocksPerRun(int blocksPerRun) {
    if (blocksPerRun < 1) {
      throw new IllegalArgumentException("blocksPerRun must be >= 1, got " + blocksPerRun);
    }
    this.blocksPerRun = blocksPerRun;
    return this;
  }

  /**
   * Members each page is written to (default 1; 2 writes the top two and reads from the first that
   * answers, trading capacity for fewer misses when a member is lost).
   */
  public ClusterClientBuilder replicas(int replicas) {
    if (replicas < 1 || replicas > 3) {
      throw new IllegalArgumentException("replicas must be 1, 2 or 3, got " + replicas);
    }
    this.replicas = replicas;
    return this;
  }

  /** How often members that are down are probed (PING) to bring them back (default 500 ms). */
  public ClusterClientBuilder probeInterval(Duration interval) {
    this.probeInterval = positive(interval, "probeInterval");
    return this;
  }

  /** How often the etcd member list is read (default 500 ms). */
  public ClusterClientBuilder pollInterval(Duration interval) {
    this.pollInterval = positive(interval, "pollInterval");
    return this;
  }

  /**
   * Settings applied to every member's {@link KvStoreClientBuilder} (auth token, connections,
   * timeouts). The address, key chain and a 1 s connect timeout are set before it runs.
   */
  public ClusterClientBuilder memberClient(Consumer<KvStoreClientBuilder> config) {
    this.memberConfig = Objects.requireNonNull(config, "memberConfig");
    return this;
  }

  /**
   * Opens the membership, connects to the members that answer (the others are probed again in
   * the background) and returns the client. A cluster with no member reachable still builds: every
   * lookup is a miss until one is.
   */
  public ClusterClient build() {
    if (membership == null && membershipUri == null) {
      throw new IllegalStateException("cluster or membership is required");
    }
    if (keyChain == null && namespaceId == null) {
      throw new IllegalStateException("keyChain or namespaceId is required");
    }
    if (keyChain != null && namespaceId != null && keyChain.namespaceId() != namespaceId) {
      throw new IllegalStateException("namespaceId differs from the keyChain's namespace");
    }
    return new ClusterClient(this);
  }

  private static Duration positive(Duration d, String name) {
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, got " + d);
    }
    return d;
  }
}
