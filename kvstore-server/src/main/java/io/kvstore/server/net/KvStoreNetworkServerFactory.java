package io.kvstore.server.net;

import io.kvstore.core.store.TieredStore;
import io.kvstore.server.NetworkServer;
import io.kvstore.server.NetworkServerFactory;
import io.kvstore.server.config.ServerConfig;
import io.kvstore.server.metrics.ServerMetrics;

/**
 * Makes {@link KvStoreNetworkServer}s for the daemon command, which finds this class through
 * {@code META-INF/services/io.kvstore.server.NetworkServerFactory}.
 */
public final class KvStoreNetworkServerFactory implements NetworkServerFactory {

  /** The public no-argument constructor {@link java.util.ServiceLoader} needs. */
  public KvStoreNetworkServerFactory() {}

  /**
   * Makes a server that binds nothing until started.
   *
   * @param config the daemon's settings
   * @param store the open store to serve (closed by the caller after the server stops)
   * @param metrics where to record the server's metrics
   * @return the server
   */
  @Override
  public NetworkServer create(ServerConfig config, TieredStore store, ServerMetrics metrics) {
    KvStoreNetworkServer server = new KvStoreNetworkServer(config, store, metrics);
    NetMetrics.register(metrics, server);
    return server;
  }
}
