package io.kvstore.server;

import io.kvstore.core.store.TieredStore;
import io.kvstore.server.config.ServerConfig;
import io.kvstore.server.metrics.ServerMetrics;
import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/**
 * Makes the daemon's {@link NetworkServer}. The implementation lives in the network layer and
 * registers itself in {@code META-INF/services/io.kvstore.server.NetworkServerFactory}, so the
 * command does not depend on it at compile time; tests inject their own.
 */
public interface NetworkServerFactory {

  /**
   * Makes a network server; it binds nothing until {@link NetworkServer#start()}.
   *
   * @param config the daemon's settings (address, limits, auth grants, threads)
   * @param store the open store to serve; the caller closes it after the server has stopped
   * @param metrics where to record latency, connections, errors and bytes
   * @return the server, not started
   */
  NetworkServer create(ServerConfig config, TieredStore store, ServerMetrics metrics);

  /**
   * Finds the one implementation registered with {@link ServiceLoader}.
   *
   * @param loader the class loader to search
   * @return the factory
   * @throws IllegalStateException if there is none, or more than one
   */
  static NetworkServerFactory load(ClassLoader loader) {
    List<NetworkServerFactory> found = ServiceLoader.load(NetworkServerFactory.class, loader).stream()
        .map(ServiceLoader.Provider::get)
        .collect(Collectors.toList());
    if (found.isEmpty()) {
      throw new IllegalStateException("no network server implementation on the classpath: expected"
          + " a " + NetworkServerFactory.class.getName() + " registered in META-INF/services");
    }
    if (found.size() > 1) {
      throw new IllegalStateException("more than one network server implementation on the classpath: "
          + found.stream().map(f -> f.getClass().getName()).collect(Collectors.joining(", ")));
    }
    return found.get(0);
  }
}
