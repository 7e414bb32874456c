package io.kvstore.server;

import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.store.StoreHealth;
import io.kvstore.core.store.StoreStats;
import io.kvstore.core.store.TieredStore;
import io.kvstore.core.store.TieredStoreBuilder;
import io.kvstore.core.tier.TierKind;
import io.kvstore.server.cluster.ClusterMembership;
import io.kvstore.server.cluster.ClusterMetrics;
import io.kvstore.server.cluster.EtcdRegistration;
import io.kvstore.server.config.ConfigException;
import io.kvstore.server.config.ServerConfig;
import io.kvstore.server.metrics.Health;
import io.kvstore.server.metrics.HealthProbe;
import io.kvstore.server.config.Sizes;
import io.kvstore.server.metrics.MetricsHttpServer;
import io.kvstore.server.metrics.MetricsRegistry;
import io.kvstore.server.metrics.ServerMetrics;
import io.kvstore.server.metrics.StoreMetrics;
import io.netty.util.internal.PlatformDependent;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
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
  /** The open store's health probe, read on the HTTP thread (null while the store opens). */
  private volatile HealthProbe storeProbe;
  /** Test hook: runs after the metrics server started, before the store opens. */
  static volatile Runnable beforeStoreOpenForTest;
  private Health health;
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
   * Starts the metrics server (unless off; its health endpoints say "starting" meanwhile), opens
   * the store, starts the network server. If any step fails, what was opened is closed again
   * before the exception is thrown.
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
      checkDirectMemory(config, PlatformDependent.estimateMaxDirectMemory());
      String memory = memoryWarning(config, Runtime.getRuntime().maxMemory(), hostMemoryBytes());
      if (memory != null) {
        LOG.warn(memory);
      }
      // The metrics and health server first: opening the store after a crash rebuilds the SSD
      // directory (2.4 to 2.9 s for a million pages on 2 vCPUs, bench/README.md), and meanwhile
      // /health/live answers (a liveness probe must not kill a daemon for rebuilding) and
      // /health/ready says "starting". A metrics port in use fails the start before the store is
      // touched.
      health = new Health(() -> {
        HealthProbe p = storeProbe;
        return p == null ? HealthProbe.Status.OK : p.status();
      });
      health.register(metrics.registry());
      metrics.registerJvmAndNettyMetrics();
      if (config.metricsEnabled()) {
        metricsServer = MetricsHttpServer.start(config.metricsHost(), config.metricsPort(),
            metrics.registry(), health);
        LOG.info("metrics on http://{}:{}/metrics", config.metricsHost(), metricsServer.port());
      } else {
        LOG.info("metrics server off (metrics.port = 0)");
      }
      checkProtocolPortFree(config.host(), config.port());
      Runnable hook = beforeStoreOpenForTest;
      if (hook != null) {
        hook.run();
      }
      LOG.info("opening the store in {}", config.dataDir().toAbsolutePath().normalize());
      logIndexRecovery(config);
      long opening = System.nanoTime();
      store = openStore(config);
      LOG.info(storeOpenLine(store.stats(), (System.nanoTime() - opening) / 1_000_000));
      storeProbe = healthProbe(store);
      StoreMetrics.register(metrics.registry(), store::stats, store::indexMemoryBytes);
      network = networkFactory.create(config, store, metrics);
      network.start();
      LOG.info("serving the kvstore protocol on {}:{}", config.host(), network.port());
      cluster = ClusterMembership.join(config, network.port()); // after the port is known and served
      if (cluster instanceof EtcdRegistration registration) {
        ClusterMetrics.register(metrics, registration);
      }
      health.ready(true);
    } catch (Exception | Error e) {
      closeAfterFailedStart();
      throw e;
    }
  }

  /**
   * The line logged once the store is open: how long the open took (after a crash, mostly the SSD
   * directory's rebuild) and what the SSD tier holds, so an operator sees what a restart kept.
   */
  static String storeOpenLine(StoreStats stats, long millis) {
    StoreStats.TierStats ssd = stats.tier(TierKind.SSD);
    if (ssd == null) {
      return String.format(Locale.ROOT,
          "store open in %,d ms (memory only: nothing is kept across restarts)", millis);
    }
    return String.format(Locale.ROOT, "store open in %,d ms: %,d pages (%,d bytes) on the SSD tier",
        millis, ssd.pageCount(), ssd.usedBytes());
  }

  /**
   * Fails the start before the store opens when the protocol port cannot be bound (another process
   * listens there, the host has no such address): the store's open can take seconds after a crash
   * (the SSD directory's rebuild), and the operator should not wait for it to learn that. Binds a
   * socket there and closes it at once; the network server binds for real after the store opens,
   * so a process that takes the port in between still fails the start, with the same message.
   * Port 0 (any free port) is not checked.
   */
  static void checkProtocolPortFree(String host, int port) throws CannotStartException {
    if (port == 0) {
      return;
    }
    try (ServerSocket probe = new ServerSocket()) {
      probe.setReuseAddress(true); // as the network server binds: a port in TIME_WAIT is free
      probe.bind(new InetSocketAddress(host, port));
    } catch (IOException e) {
      throw CannotStartException.bindFailed("the kvstore protocol", host, port, e, "port, --port");
    }
  }

  /**
   * The store's degraded state for /health and {@code kvstore_ssd_degraded}: the SSD tier contained
   * after a write failure (full disk, I/O error), still serving what it holds while write-back is
   * paused and retried. {@link TieredStore#health()} is a volatile read, so it is safe on the HTTP
   * I/O thread.
   */
  private static HealthProbe healthProbe(TieredStore store) {
    return () -> {
      StoreHealth h = store.health();
      if (!h.ssdDegraded()) {
        return HealthProbe.Status.OK;
      }
      String why = h.reason() == null ? "degraded" : h.reason();
      if (h.lastError() != null) {
        why += " (" + h.lastError() + ")";
      }
      return HealthProbe.Status.ssdDegraded(why, h.sinceEpochMillis());
    };
  }

  /**
   * The direct memory the settings claim: the memory tiers, the write-back queue (allocated when
   * the store opens, with an SSD tier) and an explicitly set request memory budget.
   */
  private static long claimedDirectMemory(ServerConfig c) {
    return c.hotBytes()
        + c.dramBytes()
        + (c.ssdBytes() > 0 ? c.writeBackQueueBytes() : 0)
        + Math.max(0, c.requestMemoryBytes());
  }

  /** The settings {@link #claimedDirectMemory} adds up, as a message names them. */
  private static String claimedDirectMemoryNames(ServerConfig c) {
    return "hot.bytes + dram.bytes"
        + (c.ssdBytes() > 0 ? " + writeback.queue.bytes" : "")
        + (c.requestMemoryBytes() > 0 ? " + net.request.memory.bytes" : "");
  }

  /**
   * The memory tiers and an explicitly set request memory budget live in direct memory: checked
   * against the JVM's direct-memory limit before anything is allocated, so that a too-small limit
   * is one clear error naming both numbers and the flag, not an OutOfMemoryError mid-start.
   *
   * @throws ConfigException if they do not fit
   */
  static void checkDirectMemory(ServerConfig c, long maxDirectMemory) {
    long claimed = claimedDirectMemory(c);
    if (claimed > maxDirectMemory) {
      long requests = Math.max(0, c.requestMemoryBytes());
      long suggested = ((claimed - requests + Math.max(requests, 1L << 30)) + (1L << 30) - 1) >> 30;
      throw new ConfigException(String.format("Invalid configuration: "
          + claimedDirectMemoryNames(c) + " = %s does not fit the JVM's"
          + " direct-memory limit of %s; start the JVM with -XX:MaxDirectMemorySize=%dg (e.g."
          + " KVSTORE_JAVA_OPTS=-XX:MaxDirectMemorySize=%dg) or lower the tier sizes",
          Sizes.format(claimed), Sizes.format(maxDirectMemory), suggested, suggested));
    }
  }

  /**
   * A warning when the memory the daemon will hold once its tiers are full ({@link
   * #claimedDirectMemory} and the JVM's heap) is more than the host gives it: the tiers are
   * allocated as pages arrive, so such a daemon starts, and is killed by the kernel (the
   * container's OOM killer) only when they fill, taking every page in memory with it. Not an error:
   * the figure is an upper bound, and the operator may know better.
   *
   * @param maxHeap the JVM's maximum heap ({@link Runtime#maxMemory})
   * @param hostMemory the memory of the host, or of the container where it has a limit; 0 or less
   *     if unknown (no warning then)
   * @return the warning, or null
   */
  static String memoryWarning(ServerConfig c, long maxHeap, long hostMemory) {
    long claimed = claimedDirectMemory(c);
    long heap = Math.max(0, maxHeap);
    if (hostMemory <= 0 || claimed + heap <= hostMemory) {
      return null;
    }
    return String.format(Locale.ROOT, claimedDirectMemoryNames(c)
        + " = %.1f GiB, with a Java heap of up to %.1f GiB, is more than the %.1f GiB of memory this"
        + " host gives the daemon (the container's limit where it has one): the tiers fill as pages"
        + " arrive, and before they are full the kernel will kill the daemon, losing every page in"
        + " memory; lower dram.bytes (or hot.bytes) or give the daemon more memory"
        + " (memory.prefault = true shows it at start instead of under load)",
        gib(claimed),
        gib(heap),
        gib(hostMemory));
  }

  private static double gib(long bytes) {
    return bytes / (double) (1L << 30);
  }

  /** The host's memory (the container's limit where there is one, as the JVM sees it), or -1. */
  private static long hostMemoryBytes() {
    try {
      return ((com.sun.management.OperatingSystemMXBean)
              java.lang.management.ManagementFactory.getOperatingSystemMXBean())
          .getTotalMemorySize();
    } catch (ClassCastException | UnsupportedOperationException e) {
      return -1;
    }
  }

  /**
   * One INFO line when the block index will be recovered (the last run did not close it: a crash
   * or SIGKILL); Chronicle Map's own banner and recovery lines are silenced in the logging
   * configuration.
   */
  private static void logIndexRecovery(ServerConfig c) {
    Path dir = c.dataDir().toAbsolutePath().normalize().resolve(INDEX_DIR);
    if (c.ssdBytes() > 0 && Files.exists(dir.resolve(BlockIndex.FILE_NAME))
        && !Files.exists(dir.resolve(BlockIndex.CLEAN_MARKER_NAME))) {
      if (!c.ssdDurability().equals("none")) {
        LOG.info("the block index was not closed cleanly (the last run crashed or was killed):"
            + " the SSD tier keeps it if nothing in it was left half done, else rebuilds its"
            + " directory from the logged location records (ssd.durability = "
            + c.ssdDurability() + ")");
      } else {
        LOG.info("the block index was not closed cleanly (the last run crashed or was killed):"
            + " recovering it (Chronicle Map's own log lines are hidden;"
            + " -Dorg.slf4j.simpleLogger.log.net.openhft=info shows them); with ssd.durability ="
            + " none a page deleted or replaced just before the crash may come back");
      }
    }
  }

  /**
   * Adds what the daemon knows to a failure to open the block index: the cause and the free space
   * on the data directory's file system.
   */
  private static RuntimeException explainIndexFailure(ServerConfig c, UncheckedIOException e) {
    // The directory the index was opened in: one the operator named, else the data directory's
    // file system (auto names its /dev/shm directory, and its free space, in the cause).
    boolean named = !c.indexDir().equals("auto") && !c.indexDir().equals("data");
    Path dir = (named ? Path.of(c.indexDir()) : c.dataDir()).toAbsolutePath().normalize();
    String free;
    try {
      free = Sizes.format(Files.getFileStore(dir).getUsableSpace());
    } catch (IOException | RuntimeException ignored) {
      free = "unknown";
    }
    Throwable cause = e.getCause() != null ? e.getCause() : e;
    return new IllegalStateException(e.getMessage() + ": " + cause + " (free space on " + dir
        + ": " + free + "; the index file is sized for ssd.bytes)", e);
  }

  /** Where the store keeps its block index under the data directory (StoreFactory's layout). */
  private static final String INDEX_DIR = "index";

  private static TieredStore openStore(ServerConfig c) {
    try {
      TieredStoreBuilder b = TieredStore.builder();
      switch (c.indexDir()) {
        case "auto" -> b.indexDirAuto();
        case "data" -> b.indexDir(null);
        default -> b.indexDir(Path.of(c.indexDir()));
      }
      return b
          .dataDir(c.dataDir())
          .maxPageBytes(c.maxPageBytes())
          .hotBytes(c.hotBytes())
          .dramBytes(c.dramBytes())
          .ssdBytes(c.ssdBytes())
          .ssdMinPageBytes(c.ssdMinPageBytes())
          .policy(c.evictionPolicy())
          .ssdAdmission(c.ssdAdmission())
          .ssdDurability(c.ssdDurability())
          .ssdDiscardCorruptRecords(c.ssdCorruptRecords().equals("discard"))
          .ssdFitToDisk(c.ssdFitDisk())
          .prefetchThreads(c.prefetchThreads())
          .memoryShards(c.memoryShards())
          .memoryPrefault(c.memoryPrefault())
          .writeBackThreads(c.writeBackThreads())
          .writeBackQueueBytes(c.writeBackQueueBytes())
          .writeBackMaxWaitMillis(c.writeBackMaxWaitMillis())
          .degradedRetryMillis(c.degradedRetryMinMillis(), c.degradedRetryMaxMillis())
          .flushOnClose(c.shutdownFlush())
          .closeGraceMillis(c.shutdownFlushGraceSeconds() * 1000L)
          .build();
    } catch (IllegalArgumentException e) {
      // The builder checks its settings before opening anything: this is a configuration error.
      throw new ConfigException("Invalid configuration: the store refused the settings: " + e.getMessage(), e);
    } catch (UncheckedIOException e) {
      if (e.getMessage() != null && e.getMessage().startsWith("cannot open the block index")) {
        throw explainIndexFailure(c, e);
      }
      throw e;
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
    if (health != null) {
      health.ready(false);
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
      LOG.info(config.shutdownFlush()
          ? "closing the store: writing dirty memory pages to the SSD tier, then flushing it and the"
              + " block index (up to " + config.shutdownFlushGraceSeconds() + " s)"
          : "closing the store (shutdown.flush = false: dirty memory pages are not written down)");
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
