package io.kvstore.server.config;

import static io.kvstore.server.config.ServerConfig.*;

import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.common.PageFormat;
import io.kvstore.core.policy.Policies;
import io.kvstore.core.store.TieredStoreBuilder;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Collects the settings of a {@link ServerConfig}, starting from the defaults; {@link #build()}
 * checks each one and how they fit together. Setters check only for null: ranges are checked in
 * {@code build()} so the message can name the setting.
 */
public final class ServerConfigBuilder {
  String host = HOST_DEFAULT;
  int port = PORT_DEFAULT;
  String metricsHost = METRICS_HOST_DEFAULT;
  int metricsPort = METRICS_PORT_DEFAULT;
  Path dataDir = DATA_DIR_DEFAULT;
  long hotBytes = HOT_BYTES_DEFAULT;
  long dramBytes = DRAM_BYTES_DEFAULT;
  long ssdBytes = SSD_BYTES_DEFAULT;
  int maxPageBytes = MAX_PAGE_BYTES_DEFAULT;
  int ssdMinPageBytes = ServerConfig.SSD_MIN_PAGE_BYTES_DEFAULT;
  String evictionPolicy = EVICTION_POLICY_DEFAULT;
  String ssdAdmission = SSD_ADMISSION_DEFAULT;
  String ssdDurability = SSD_DURABILITY_DEFAULT;
  String ssdCorruptRecords = ServerConfig.SSD_CORRUPT_RECORDS_DEFAULT;
  boolean ssdFitDisk = ServerConfig.SSD_FIT_DISK_DEFAULT;
  String indexDir = ServerConfig.INDEX_DIR_DEFAULT;
  int prefetchThreads = PREFETCH_THREADS_DEFAULT;
  int maxFrameBytes = MAX_FRAME_BYTES_DEFAULT;
  int maxBatch = MAX_BATCH_DEFAULT;
  long maxInflightBytes = MAX_INFLIGHT_BYTES_DEFAULT;
  int maxConnections = MAX_CONNECTIONS_DEFAULT;
  int ioThreads = IO_THREADS_DEFAULT;
  int handshakeTimeoutSeconds = HANDSHAKE_TIMEOUT_SECONDS_DEFAULT;
  int shutdownGraceSeconds = SHUTDOWN_GRACE_SECONDS_DEFAULT;
  boolean shutdownFlush = SHUTDOWN_FLUSH_DEFAULT;
  int shutdownFlushGraceSeconds = SHUTDOWN_FLUSH_GRACE_SECONDS_DEFAULT;
  int writeBackThreads = WRITEBACK_THREADS_DEFAULT;
  long writeBackQueueBytes = WRITEBACK_QUEUE_BYTES_DEFAULT;
  long writeBackMaxWaitMillis = WRITEBACK_MAX_WAIT_MILLIS_DEFAULT;
  long degradedRetryMinMillis = DEGRADED_RETRY_MIN_MILLIS_DEFAULT;
  long degradedRetryMaxMillis = DEGRADED_RETRY_MAX_MILLIS_DEFAULT;
  int memoryShards = MEMORY_SHARDS_DEFAULT;
  boolean memoryPrefault;
  long requestMemoryBytes = REQUEST_MEMORY_BYTES_DEFAULT;
  long putOnLoopMaxBytes = ServerConfig.PUT_ON_LOOP_MAX_BYTES_DEFAULT;
  int protocolMaxVersion = FrameDescriptor.PROTOCOL_VERSION;
  long shmRegionBytes = ServerConfig.SHM_REGION_BYTES_DEFAULT;
  long shmTotalBytes = ServerConfig.SHM_TOTAL_BYTES_DEFAULT;
  Path shmDir = ServerConfig.SHM_DIR_DEFAULT;
  int readTimeoutSeconds = READ_TIMEOUT_SECONDS_DEFAULT;
  int writeTimeoutSeconds = WRITE_TIMEOUT_SECONDS_DEFAULT;
  int idleTimeoutSeconds = IDLE_TIMEOUT_SECONDS_DEFAULT;
  int maxConnectionsPerToken = MAX_CONNECTIONS_PER_TOKEN_DEFAULT;
  int maxPreauthConnectionsPerAddress = MAX_PREAUTH_CONNECTIONS_PER_ADDRESS_DEFAULT;
  String cluster = CLUSTER_DEFAULT;
  AuthGrants authGrants = AUTH_GRANTS_DEFAULT;

  ServerConfigBuilder() {}

  /**
   * Sets {@link ServerConfig#host()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder host(String v) {
    host = Objects.requireNonNull(v, "host");
    return this;
  }

  /**
   * Sets {@link ServerConfig#port()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder port(int v) {
    port = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#metricsHost()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder metricsHost(String v) {
    metricsHost = Objects.requireNonNull(v, "metricsHost");
    return this;
  }

  /**
   * Sets {@link ServerConfig#metricsPort()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder metricsPort(int v) {
    metricsPort = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#dataDir()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder dataDir(Path v) {
    dataDir = Objects.requireNonNull(v, "dataDir");
    return this;
  }

  /**
   * Sets {@link ServerConfig#hotBytes()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder hotBytes(long v) {
    hotBytes = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#dramBytes()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder dramBytes(long v) {
    dramBytes = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#ssdBytes()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder ssdBytes(long v) {
    ssdBytes = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#ssdMinPageBytes()}.
   *
   * @return this builder
   */
  public ServerConfigBuilder ssdMinPageBytes(int v) {
    ssdMinPageBytes = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#maxPageBytes()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder maxPageBytes(int v) {
    maxPageBytes = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#evictionPolicy()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder evictionPolicy(String v) {
    evictionPolicy = Objects.requireNonNull(v, "evictionPolicy");
    return this;
  }

  /**
   * Sets {@link ServerConfig#ssdAdmission()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder ssdAdmission(String v) {
    ssdAdmission = Objects.requireNonNull(v, "ssdAdmission");
    return this;
  }

  /**
   * Sets {@link ServerConfig#ssdDurability()}.
   *
   * @param v the value: none, wal or sync
   * @return this
   */
  public ServerConfigBuilder ssdDurability(String v) {
    ssdDurability = Objects.requireNonNull(v, "ssdDurability");
    return this;
  }

  /**
   * Sets {@link ServerConfig#ssdCorruptRecords()}.
   *
   * @param v the value: fail or discard
   * @return this
   */
  public ServerConfigBuilder ssdCorruptRecords(String v) {
    ssdCorruptRecords = Objects.requireNonNull(v, "ssdCorruptRecords");
    return this;
  }

  /**
   * Sets {@link ServerConfig#ssdFitDisk()}.
   *
   * @param v whether the SSD tier sizes itself to a smaller file system at start
   * @return this
   */
  public ServerConfigBuilder ssdFitDisk(boolean v) {
    ssdFitDisk = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#indexDir()}.
   *
   * @param v auto, data or an absolute directory
   * @return this
   */
  public ServerConfigBuilder indexDir(String v) {
    indexDir = Objects.requireNonNull(v, "indexDir");
    return this;
  }

  /**
   * Sets {@link ServerConfig#prefetchThreads()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder prefetchThreads(int v) {
    prefetchThreads = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#maxFrameBytes()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder maxFrameBytes(int v) {
    maxFrameBytes = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#maxBatch()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder maxBatch(int v) {
    maxBatch = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#maxInflightBytes()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder maxInflightBytes(long v) {
    maxInflightBytes = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#maxConnections()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder maxConnections(int v) {
    maxConnections = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#ioThreads()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder ioThreads(int v) {
    ioThreads = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#handshakeTimeoutSeconds()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder handshakeTimeoutSeconds(int v) {
    handshakeTimeoutSeconds = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#cluster()}.
   *
   * @param v {@code off} or a cluster address
   * @return this builder
   */
  public ServerConfigBuilder cluster(String v) {
    cluster = ServerConfig.parseCluster(Objects.requireNonNull(v, "cluster"));
    return this;
  }

  /**
   * Sets {@link ServerConfig#shutdownGraceSeconds()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder shutdownGraceSeconds(int v) {
    shutdownGraceSeconds = v;
    return this;
  }

  /** Sets {@link ServerConfig#shmRegionBytes()} (0: shared memory off). */
  public ServerConfigBuilder shmRegionBytes(long v) {
    shmRegionBytes = v;
    return this;
  }

  /** Sets {@link ServerConfig#shmTotalBytes()}. */
  public ServerConfigBuilder shmTotalBytes(long v) {
    shmTotalBytes = v;
    return this;
  }

  /** Sets {@link ServerConfig#shmDir()}. */
  public ServerConfigBuilder shmDir(Path v) {
    shmDir = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#shutdownFlush()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder shutdownFlush(boolean v) {
    shutdownFlush = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#shutdownFlushGraceSeconds()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder shutdownFlushGraceSeconds(int v) {
    shutdownFlushGraceSeconds = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#writeBackThreads()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder writeBackThreads(int v) {
    writeBackThreads = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#writeBackQueueBytes()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder writeBackQueueBytes(long v) {
    writeBackQueueBytes = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#writeBackMaxWaitMillis()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder writeBackMaxWaitMillis(long v) {
    writeBackMaxWaitMillis = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#degradedRetryMinMillis()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder degradedRetryMinMillis(long v) {
    degradedRetryMinMillis = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#degradedRetryMaxMillis()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder degradedRetryMaxMillis(long v) {
    degradedRetryMaxMillis = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#memoryShards()}.
   *
   * @param v 0 or a power of two
   * @return this
   */
  public ServerConfigBuilder memoryShards(int v) {
    memoryShards = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#memoryPrefault()}.
   *
   * @param v whether the memory tiers allocate all their memory from the start
   * @return this
   */
  public ServerConfigBuilder memoryPrefault(boolean v) {
    memoryPrefault = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#requestMemoryBytes()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder requestMemoryBytes(long v) {
    requestMemoryBytes = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#putOnLoopMaxBytes()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder putOnLoopMaxBytes(long v) {
    putOnLoopMaxBytes = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#protocolMaxVersion()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder protocolMaxVersion(int v) {
    protocolMaxVersion = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#readTimeoutSeconds()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder readTimeoutSeconds(int v) {
    readTimeoutSeconds = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#writeTimeoutSeconds()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder writeTimeoutSeconds(int v) {
    writeTimeoutSeconds = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#idleTimeoutSeconds()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder idleTimeoutSeconds(int v) {
    idleTimeoutSeconds = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#maxConnectionsPerToken()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder maxConnectionsPerToken(int v) {
    maxConnectionsPerToken = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#maxPreauthConnectionsPerAddress()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder maxPreauthConnectionsPerAddress(int v) {
    maxPreauthConnectionsPerAddress = v;
    return this;
  }

  /**
   * Sets {@link ServerConfig#authGrants()}.
   *
   * @param v the value
   * @return this
   */
  public ServerConfigBuilder authGrants(AuthGrants v) {
    authGrants = Objects.requireNonNull(v, "authGrants");
    return this;
  }

  /**
   * Checks every setting and builds the configuration.
   *
   * @return the configuration
   * @throws IllegalArgumentException naming the setting (by its file key), its value and the
   *     allowed range
   */
  public ServerConfig build() {
    requireNonBlank("host", host);
    requireNonBlank("metrics.host", metricsHost);
    requireRange("port", port, 0, 65_535);
    requireRange("metrics.port", metricsPort, 0, 65_535);
    requireRange("hot.bytes", hotBytes, 0, Long.MAX_VALUE);
    requireRange("dram.bytes", dramBytes, 0, Long.MAX_VALUE);
    requireRange("ssd.bytes", ssdBytes, 0, Long.MAX_VALUE);
    requireRange("max.page.bytes", maxPageBytes, PageFormat.HEADER_LENGTH + 1, PAGE_BYTES_LIMIT);
    requireRange(
        "ssd.min.page.bytes", ssdMinPageBytes, PageFormat.HEADER_LENGTH + 1, PAGE_BYTES_LIMIT);
    if (!Policies.names().contains(evictionPolicy)) {
      throw new IllegalArgumentException("eviction.policy is '" + evictionPolicy + "'; expected one of "
          + String.join(", ", Policies.names()));
    }
    requireName("ssd.admission", ssdAdmission);
    if (!List.of("none", "wal", "sync").contains(ssdDurability)) {
      throw new IllegalArgumentException(
          "ssd.durability is '" + ssdDurability + "'; expected one of none, wal, sync");
    }
    if (!List.of("fail", "discard").contains(ssdCorruptRecords)) {
      throw new IllegalArgumentException(
          "ssd.corrupt.records is '" + ssdCorruptRecords + "'; expected fail or discard");
    }
    if (!indexDir.equals("auto") && !indexDir.equals("data") && !java.nio.file.Path.of(indexDir).isAbsolute()) {
      throw new IllegalArgumentException(
          "index.dir is '" + indexDir + "'; expected auto, data or an absolute directory");
    }
    requireRange("prefetch.threads", prefetchThreads, 1, 1024);
    requireRange("max.frame.bytes", maxFrameBytes, 1, Integer.MAX_VALUE);
    requireRange("max.batch", maxBatch, 1, 1 << 20);
    requireRange("max.inflight.bytes", maxInflightBytes, 1, Long.MAX_VALUE);
    requireRange("max.connections", maxConnections, 1, 1 << 20);
    requireRange("io.threads", ioThreads, 0, 4096);
    requireRange("handshake.timeout.seconds", handshakeTimeoutSeconds, 1, 3_600);
    requireRange("shutdown.grace.seconds", shutdownGraceSeconds, 0, 86_400);
    requireRange("shutdown.flush.grace.seconds", shutdownFlushGraceSeconds, 0, 86_400);
    requireRange("writeback.threads", writeBackThreads, 1, 256);
    requireRange("writeback.queue.bytes", writeBackQueueBytes, 1, Integer.MAX_VALUE);
    requireRange("writeback.max.wait.millis", writeBackMaxWaitMillis, 0, 60_000);
    requireRange("ssd.degraded.retry.min.millis", degradedRetryMinMillis, 1, 3_600_000);
    requireRange("ssd.degraded.retry.max.millis", degradedRetryMaxMillis, 1, 3_600_000);
    requireRange("memory.shards", memoryShards, 0, TieredStoreBuilder.MEMORY_SHARDS_MAX);
    if (memoryShards != 0 && Integer.bitCount(memoryShards) != 1) {
      throw new IllegalArgumentException(
          "memory.shards is " + memoryShards + "; expected " + MEMORY_SHARDS_FORM);
    }
    requireRange("net.preauth.connections.per.address", maxPreauthConnectionsPerAddress, 1, 1 << 20);
    requireRange("net.connections.per.token", maxConnectionsPerToken, 1, 1 << 20);
    requireRange("net.idle.timeout.seconds", idleTimeoutSeconds, 1, 86_400);
    requireRange("net.write.timeout.seconds", writeTimeoutSeconds, 1, 3_600);
    requireRange("net.read.timeout.seconds", readTimeoutSeconds, 1, 3_600);
    requireRange("net.request.memory.bytes", requestMemoryBytes, 0, Long.MAX_VALUE);
    requireRange("net.put.on.loop.max.bytes", putOnLoopMaxBytes, 0, Long.MAX_VALUE);
    requireRange("net.protocol.max.version", protocolMaxVersion,
        FrameDescriptor.MIN_PROTOCOL_VERSION, FrameDescriptor.PROTOCOL_VERSION);
    requireRange("shm.region.bytes", shmRegionBytes, 0, 1L << 30);
    requireRange("shm.total.bytes", shmTotalBytes, 0, 1L << 50);
    if (port != 0 && port == metricsPort && host.equals(metricsHost)) {
      throw new IllegalArgumentException(
          "port and metrics.port are both " + port + " on " + host + "; they must differ");
    }
    if (degradedRetryMaxMillis < degradedRetryMinMillis) {
      throw new IllegalArgumentException("ssd.degraded.retry.max.millis (" + degradedRetryMaxMillis
          + ") must be at least ssd.degraded.retry.min.millis (" + degradedRetryMinMillis + ")");
    }
    if (maxFrameBytes < maxPageBytes) {
      throw new IllegalArgumentException("max.frame.bytes (" + Sizes.format(maxFrameBytes)
          + ") must be at least max.page.bytes (" + Sizes.format(maxPageBytes)
          + "), or a put of the largest page could not be sent");
    }
    if (maxInflightBytes < maxFrameBytes) {
      throw new IllegalArgumentException("max.inflight.bytes (" + Sizes.format(maxInflightBytes)
          + ") must be at least max.frame.bytes (" + Sizes.format(maxFrameBytes)
          + "), or a connection could not have one largest frame in flight");
    }
    return new ServerConfig(this);
  }

  private static void requireNonBlank(String key, String value) {
    if (value.isBlank()) {
      throw new IllegalArgumentException(key + " must not be empty");
    }
  }

  private static void requireRange(String key, long value, long min, long max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          key + " is " + value + "; expected " + min + " to " + max);
    }
  }

  private static void requireName(String key, String value) {
    if (!value.matches("[a-z0-9][a-z0-9_-]{0,63}")) {
      throw new IllegalArgumentException(key + " is '" + value
          + "'; expected a name of 1 to 64 characters from a-z, 0-9, '_' and '-'");
    }
  }
}
