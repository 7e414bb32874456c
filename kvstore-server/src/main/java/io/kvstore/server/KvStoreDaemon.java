package io.kvstore.server;

import io.kvstore.core.store.TieredStore;
import io.kvstore.server.cluster.ClusterMembership;
import io.kvstore.server.config.ConfigException;
import io.kvstore.server.config.ServerConfig;
import io.kvstore.server.metrics.MetricsHttpServer;
import io.kvstore.server.metrics.MetricsRegistry;
import io.kvstore.server.metrics.ServerMetrics;
import io.kvstore.server.metrics.StoreMetrics;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running daemon: owns the store, the metrics HTTP server and the network server, starts them
 * in that order and stops them in the reverse order. {@link #start()} and {@link #stop()} are
 * mutually exclusive, so a SIGTERM that arrives while the daemon is starting waits for the start
 * to finish and then stops everything it opened.
 */
public final class KvStoreDaemon {

  private static final Logger LOG = LoggerFactory.getLogger(KvStoreDaemon.class);

  private final ServerConfig config;
  private final NetworkServerFactory networkFactory;
  private final ServerMetrics metrics = new ServerMetrics(new MetricsRegistry());
  private final CountDownLatch stopped = new CountDownLatch(1);

  private TieredStore store;
  private MetricsHttpServer metricsServer;
  private NetworkServer network;
  private AutoCloseable cluster;
  private boolean started;
  private boolean stopping;
  private volatile boolean stopFailed;

  /**
   * Makes a daemon; nothing is opened until {@link #start()}.
   *
   * @param config the settings
   * @param networkFactory makes the network server
   */
  public KvStoreDaemon(ServerConfig config, NetworkServerFactory networkFactory) {
    this.config = config;
    this.networkFactory = networkFactory;
  }

  /**
   * Opens the store, starts the metrics server (unless off) and the network server. If any step
   * fails, what was opened is closed again before the exception is thrown.
   *
   * @throws ConfigException if the store refuses the settings (e.g. an unknown admission policy)
   * @throws Exception if anything else fails (a port in use, the data directory not writable)
   */
  public synchronized void start() throws Exception {
    if (started || stopping) {
      throw new IllegalStateException("a daemon starts once");
    }
    started = true;
    try {
      LOG.info("opening the store in {}", config.dataDir().toAbsolutePath().normalize());
      store = openStore(config);
      StoreMetrics.register(metrics.registry(), store::stats);
      if (config.metricsEnabled()) {
        metricsServer = MetricsHttpServer.start(config.metricsHost(), config.metricsPort(),
            metrics.registry()::scrape);
        LOG.info("metrics on http://{}:{}/metrics", config.metricsHost(), metricsServer.port());
      } else {
        LOG.info("metrics server off (metrics.port = 0)");
      }
      network = networkFactory.create(config, store, metrics);
      network.start();
      LOG.info("serving the kvstore protocol on {}:{}", config.host(), network.port());
      cluster = ClusterMembership.join(config, network.port()); // after the port is known and served
      if (metricsServer != null) {
        metricsServer.ready(true);
      }
    } catch (Exception | Error e) {
      closeAfterFailedStart();
      throw e;
    }
  }

  private static TieredStore openStore(ServerConfig c) {
    try {
      return TieredStore.builder()
          .dataDir(c.dataDir())
          .maxPageBytes(c.maxPageBytes())
          .hotBytes(c.hotBytes())
          .dramBytes(c.dramBytes())
          .ssdBytes(c.ssdBytes())
          .policy(c.evictionPolicy())
          .ssdAdmission(c.ssdAdmission())
          .ssdDurability(c.ssdDurability())
          .prefetchThreads(c.prefetchThreads())
          .build();
    } catch (IllegalArgumentException e) {
      // The builder checks its settings before opening anything: this is a configuration error.
      throw new ConfigException("Invalid configuration: the store refused the settings: " + e.getMessage(), e);
    }
  }

  private void closeAfterFailedStart() {
    if (cluster != null) {
      quietly("leaving the cluster", this::leaveCluster);
    }
    if (network != null) {
      quietly("closing the network server", network::close);
    }
    if (metricsServer != null) {
      quietly("stopping the metrics server", metricsServer::close);
    }
    if (store != null) {
      quietly("closing the store", store::close);
    }
    stopping = true;
    stopped.countDown();
  }

  /**
   * Stops gracefully, logging each step: stop accepting and let requests in flight finish for up
   * to {@code shutdown.grace.seconds}; close the store (the SSD tier flushes); stop the metrics
   * server. A step that fails is logged and the next one still runs. Idempotent; waits for a
   * {@link #start()} in progress to end first.
   */
  public synchronized void stop() {
    if (stopping) {
      return;
    }
    stopping = true;
    if (metricsServer != null) {
      metricsServer.ready(false);
    }
    if (cluster != null) {
      // first, so clients stop routing here while requests in flight still finish
      quietly("leaving the cluster", this::leaveCluster);
    }
    Duration grace = Duration.ofSeconds(config.shutdownGraceSeconds());
    if (network != null) {
      LOG.info("stopping: no new connections or requests; waiting up to {} s for requests in flight",
          grace.getSeconds());
      quietly("stopping the network server", () -> network.shutdownGracefully(grace));
      LOG.info("network server stopped");
    }
    if (store != null) {
      LOG.info("closing the store (flushing the SSD tier and the block index)");
      quietly("closing the store", store::close);
      LOG.info("store closed");
    }
    if (metricsServer != null) {
      quietly("stopping the metrics server", metricsServer::close);
      LOG.info("metrics server stopped");
    }
    LOG.info(stopFailed ? "stopped, with errors (see above)" : "stopped");
    stopped.countDown();
  }

  private void leaveCluster() {
    try {
      cluster.close();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private void quietly(String what, Runnable step) {
    try {
      step.run();
    } catch (RuntimeException | Error e) {
      stopFailed = true;
      LOG.error("failed {}", what, e);
    }
  }

  /**
   * Waits until the daemon has stopped (or failed to start).
   *
   * @throws InterruptedException if interrupted while waiting
   */
  public void awaitStopped() throws InterruptedException {
    stopped.await();
  }

  /**
   * Waits until the daemon has stopped, for at most a timeout.
   *
   * @param timeout how long to wait
   * @return true if it stopped
   * @throws InterruptedException if interrupted while waiting
   */
  public boolean awaitStopped(Duration timeout) throws InterruptedException {
    return stopped.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** Whether a step of {@link #stop()} failed. */
  public boolean stopFailed() {
    return stopFailed;
  }

  /** The daemon's metrics. */
  public ServerMetrics metrics() {
    return metrics;
  }

  /** The port the network server is bound to; only valid after {@link #start()}. */
  public synchronized int networkPort() {
    if (network == null) {
      throw new IllegalStateException("not started");
    }
    return network.port();
  }

  /** The port the metrics server is bound to, or 0 when it is off; only valid after start. */
  public synchronized int metricsPort() {
    return metricsServer == null ? 0 : metricsServer.port();
  }
}
