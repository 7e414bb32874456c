package io.kvstore.server;

import java.time.Duration;

/**
 * The daemon's protocol server: accepts client connections and serves the store over the wire
 * protocol of {@code spec/3-wire-protocol.md}. {@link KvStoreServerCommand} owns its life cycle:
 * {@link #start()} once, then either {@link #shutdownGracefully} (on SIGTERM / Ctrl-C) or
 * {@link #close()} (when starting something else failed), each at most once. Made by a
 * {@link NetworkServerFactory}.
 */
public interface NetworkServer extends AutoCloseable {

  /**
   * Binds the configured address and starts accepting; returns once bound, so that
   * {@link #port()} is known and a bind failure surfaces here.
   *
   * @throws Exception if the address cannot be bound or the event loops cannot start
   */
  void start() throws Exception;

  /** The port bound by {@link #start()} (the configured one, or the one picked for port 0). */
  int port();

  /**
   * Stops accepting connections and new requests, lets requests in flight finish for up to
   * {@code grace}, then closes every connection and stops the event loops. Returns when they have
   * stopped. The store is not touched: the caller closes it afterwards.
   *
   * @param grace how long in-flight requests may take to finish
   */
  void shutdownGracefully(Duration grace);

  /** Closes everything at once without waiting for requests in flight; idempotent. */
  @Override
  void close();
}
