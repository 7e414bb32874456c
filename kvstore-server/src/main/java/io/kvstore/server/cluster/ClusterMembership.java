package io.kvstore.server.cluster;

import io.kvstore.client.cluster.ClusterUri;
import io.kvstore.client.cluster.Member;
import io.kvstore.server.config.ConfigException;
import io.kvstore.server.config.ServerConfig;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's side of a cluster (docs/cluster.md): from the {@code cluster} setting, registers
 * this daemon in etcd ({@link EtcdRegistration}) or, for a static list, only logs where it stands.
 * Placement is the SDK's job; a daemon serves whatever pages it is sent.
 */
public final class ClusterMembership {

  private static final Logger LOG = LoggerFactory.getLogger(ClusterMembership.class);

  /** Default lease time to live, seconds: a killed daemon stays listed at most this long. */
  public static final int TTL_SECONDS_DEFAULT = 5;

  private ClusterMembership() {}

  /**
   * Joins the cluster of the configuration, if any.
   *
   * @param config the daemon's settings ({@code cluster}, host, capacities)
   * @param port the port the protocol server is bound to
   * @return the registration to close on stop, or null when there is nothing to register
   * @throws ConfigException if a cluster parameter is invalid
   */
  public static AutoCloseable join(ServerConfig config, int port) {
    if (config.cluster().equals(ServerConfig.CLUSTER_DEFAULT)) {
      return null;
    }
    ClusterUri uri = ClusterUri.parse(config.cluster());
    Member self = self(config, uri, port);
    if (!uri.isEtcd()) {
      boolean listed = uri.endpoints().contains(self.id());
      LOG.info("cluster: static list {}; this daemon is {}{}", uri.endpoints(), self.id(),
          listed ? "" : " (not in the list: clients will not route here)");
      return null;
    }
    int ttl;
    try {
      ttl = Integer.parseInt(uri.param("ttl", Integer.toString(TTL_SECONDS_DEFAULT)));
    } catch (NumberFormatException e) {
      throw new ConfigException("Invalid configuration: cluster ttl must be whole seconds, got "
          + uri.param("ttl", ""), e);
    }
    if (ttl < 1 || ttl > 3_600) {
      throw new ConfigException("Invalid configuration: cluster ttl must be 1 to 3600 seconds, got " + ttl);
    }
    LOG.info("cluster {}: registering as {} (capacity {} bytes, zone '{}') in etcd {}",
        uri.name(), self.id(), self.capacityBytes(), self.zone(), uri.endpoints());
    return new EtcdRegistration(uri, self, Duration.ofSeconds(ttl));
  }

  /** This daemon as clients reach it: {@code advertise}, else the bound host (or this host's address). */
  static Member self(ServerConfig config, ClusterUri uri, int port) {
    String advertise = uri.param("advertise", "");
    long capacity = config.hotBytes() + config.dramBytes() + config.ssdBytes();
    String zone = uri.param("zone", "");
    Member address;
    try {
      if (!advertise.isEmpty()) {
        address = Member.parseAddress(advertise);
      } else {
        String host = config.host();
        if (host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]")) {
          host = InetAddress.getLocalHost().getHostAddress();
        }
        address = Member.parseAddress(host.contains(":") ? "[" + host + "]:" + port : host + ":" + port);
      }
    } catch (IllegalArgumentException | UnknownHostException e) {
      throw new ConfigException("Invalid configuration: cluster advertise address: " + e.getMessage(), e);
    }
    return new Member(address.id(), address.host(), address.port(), capacity, zone, Member.PROTOCOL_VERSION);
  }
}
