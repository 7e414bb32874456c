package io.kvstore.server.config;

import io.kvstore.common.PageFormat;
import io.kvstore.core.store.TieredStoreBuilder;
import java.nio.file.Path;

/**
 * The daemon's settings, immutable. Every setting has a {@code *_DEFAULT} constant; units are in
 * the names. Where each setting can be set (file key, environment variable, flag) is listed by
 * {@link ConfigKey} and documented in {@code docs/configuration.md}.
 *
 * <p>The store's settings default to the store's own defaults ({@code TieredStoreBuilder}), so
 * the daemon and an embedded store start alike.
 *
 * <p>Built by {@link ServerConfigLoader} from defaults, a file, the environment and flags, or by
 * {@link #builder()} in code (tests, embedding).
 */
public final class ServerConfig {

  /** Address the protocol server binds: loopback, so a fresh daemon is not reachable from outside. */
  public static final String HOST_DEFAULT = "127.0.0.1";
  /** TCP port of the protocol server; 0 picks a free port. */
  public static final int PORT_DEFAULT = 7421;
  /** Address the metrics HTTP server binds. */
  public static final String METRICS_HOST_DEFAULT = "127.0.0.1";
  /** TCP port of the metrics HTTP server (the Prometheus exporter default range); 0 turns it off. */
  public static final int METRICS_PORT_DEFAULT = 9464;
  /** Data directory (SSD tier, index), relative to the daemon's working directory. */
  public static final Path DATA_DIR_DEFAULT = Path.of(TieredStoreBuilder.DATA_DIR_DEFAULT);
  /** Capacity of the hot tier. */
  public static final long HOT_BYTES_DEFAULT = TieredStoreBuilder.HOT_BYTES_DEFAULT;
  /** Capacity of the DRAM tier: fits a laptop. */
  public static final long DRAM_BYTES_DEFAULT = TieredStoreBuilder.DRAM_BYTES_DEFAULT;
  /** Capacity of the SSD tier: fits a laptop's free disk. */
  public static final long SSD_BYTES_DEFAULT = TieredStoreBuilder.SSD_BYTES_DEFAULT;
  /** Largest page (header and payload): a 2 MiB payload plus the 64-byte header. */
  public static final int MAX_PAGE_BYTES_DEFAULT = TieredStoreBuilder.MAX_PAGE_BYTES_DEFAULT;
  /** Default of {@link #ssdMinPageBytes()}: 16 KiB. */
  public static final int SSD_MIN_PAGE_BYTES_DEFAULT =
      (int) TieredStoreBuilder.ASSUMED_PAGE_BYTES_DEFAULT;
  /** Eviction policy name (see {@code Policies}). */
  public static final String EVICTION_POLICY_DEFAULT = TieredStoreBuilder.POLICY_DEFAULT;
  /** SSD admission policy name, as the store knows it. */
  public static final String SSD_ADMISSION_DEFAULT = TieredStoreBuilder.SSD_ADMISSION_DEFAULT;
  /** Whether SSD writes are synced before a put is acknowledged. */
  public static final String SSD_DURABILITY_DEFAULT = TieredStoreBuilder.SSD_DURABILITY_DEFAULT;
  /** What a start does with damaged location records: fail (stop and name them). */
  public static final String SSD_CORRUPT_RECORDS_DEFAULT = "fail";
  /** Whether the SSD tier sizes itself to a smaller file system at start. */
  public static final boolean SSD_FIT_DISK_DEFAULT = true;
  /** Default {@link #indexDir()}: chosen at start. */
  public static final String INDEX_DIR_DEFAULT = "auto";
  /** Threads that run prefetches (SSD reads ahead of need). */
  public static final int PREFETCH_THREADS_DEFAULT = TieredStoreBuilder.PREFETCH_THREADS_DEFAULT;
  /** Largest protocol frame accepted. */
  public static final int MAX_FRAME_BYTES_DEFAULT = 64 << 20;
  /** Most keys or pages in one request. */
  public static final int MAX_BATCH_DEFAULT = 65_536;
  /** Most request bytes in flight per connection before the daemon stops reading from it. */
  public static final long MAX_INFLIGHT_BYTES_DEFAULT = 256L << 20;
  /** Most open client connections. */
  public static final int MAX_CONNECTIONS_DEFAULT = 1024;
  /** Netty I/O threads; 0 lets Netty choose (twice the cores). */
  public static final int IO_THREADS_DEFAULT = 0;
  /** How long a new connection may take to complete its HELLO before it is closed. */
  public static final int HANDSHAKE_TIMEOUT_SECONDS_DEFAULT = 10;
  /** How long a shutdown waits for in-flight requests before closing connections. */
  public static final int SHUTDOWN_GRACE_SECONDS_DEFAULT = 30;
  /** Whether a graceful stop writes dirty memory pages to the SSD tier. */
  public static final boolean SHUTDOWN_FLUSH_DEFAULT = TieredStoreBuilder.FLUSH_ON_CLOSE_DEFAULT;
  /**
   * How long closing the store may take on a graceful stop, after the network grace: 20 s, so the
   * default stop (30 s + 20 s) fits the 60 s stop timeout of docker/compose.yaml with time to spare
   * for closing RocksDB and the index.
   */
  public static final int SHUTDOWN_FLUSH_GRACE_SECONDS_DEFAULT = 20;
  /** Write-back threads. */
  public static final int WRITEBACK_THREADS_DEFAULT = TieredStoreBuilder.WRITE_BACK_THREADS_DEFAULT;
  /** Bytes of the write-back queue (direct memory). */
  public static final long WRITEBACK_QUEUE_BYTES_DEFAULT = TieredStoreBuilder.WRITE_BACK_QUEUE_BYTES_DEFAULT;
  /** Longest wait of a put for room in a full write-back queue. */
  public static final long WRITEBACK_MAX_WAIT_MILLIS_DEFAULT =
      TieredStoreBuilder.WRITE_BACK_MAX_WAIT_MILLIS_DEFAULT;
  /** First retry of a degraded SSD tier. */
  public static final long DEGRADED_RETRY_MIN_MILLIS_DEFAULT =
      TieredStoreBuilder.DEGRADED_RETRY_MIN_MILLIS_DEFAULT;
  /** Longest interval between retries of a degraded SSD tier. */
  public static final long DEGRADED_RETRY_MAX_MILLIS_DEFAULT =
      TieredStoreBuilder.DEGRADED_RETRY_MAX_MILLIS_DEFAULT;
  /** Shards of each memory tier; 0: the tiers' default (twice the processors). */
  public static final int MEMORY_SHARDS_DEFAULT = TieredStoreBuilder.MEMORY_SHARDS_DEFAULT;
  /** What a valid {@code memory.shards} value looks like. */
  static final String MEMORY_SHARDS_FORM =
      "0 (auto) or a power of two from 1 to " + TieredStoreBuilder.MEMORY_SHARDS_MAX;
  /** Daemon-wide budget for request bytes received and not yet answered; 0: derived from the direct-memory limit. */
  public static final long REQUEST_MEMORY_BYTES_DEFAULT = 0L;
  /**
   * Default of {@code net.put.on.loop.max.bytes}: 4 MiB and a little, one 2 MiB page or a batch of
   * smaller ones. A put costs the event loop about one verify and one copy of its bytes (about 0.5
   * ms for 2 MiB on the development host), less than the two thread hand-offs of a trip through
   * the store executor on a loaded host; larger frames (the SDK sends about 8 MiB) go to a store
   * thread so that one connection's batch does not hold up the loop's other connections for long.
   */
  public static final long PUT_ON_LOOP_MAX_BYTES_DEFAULT = (4L << 20) + (64 << 10);
  /**
   * Default shared-memory region per connection: 160 MiB, about 78 MiB for GET pages and as much
   * for PUT (a batch of 32 pages of 2 MiB each way).
   */
  public static final long SHM_REGION_BYTES_DEFAULT = 160L << 20;
  /** Default shared-memory bytes over every connection. */
  public static final long SHM_TOTAL_BYTES_DEFAULT = 2L << 30;
  /** Default shared-memory directory: null, meaning {@link #shmDirOrDefault()}'s choice. */
  public static final Path SHM_DIR_DEFAULT = null;
  /** How long a frame may take to arrive once its first bytes have. */
  public static final int READ_TIMEOUT_SECONDS_DEFAULT = 30;
  /** How long queued responses may make no progress (a client that stopped reading) before the connection is cut. */
  public static final int WRITE_TIMEOUT_SECONDS_DEFAULT = 30;
  /** How long an authenticated connection may stay idle before it is closed (the SDK sends PING well within it). */
  public static final int IDLE_TIMEOUT_SECONDS_DEFAULT = 300;
  /** Most connections one token (one namespace when auth is off) may hold. */
  public static final int MAX_CONNECTIONS_PER_TOKEN_DEFAULT = 256;
  /** Most connections one remote address may hold before HELLO; a new one closes that address's oldest. */
  public static final int MAX_PREAUTH_CONNECTIONS_PER_ADDRESS_DEFAULT = 64;
  /** The most a derived request memory budget grows to. */
  public static final long REQUEST_MEMORY_AUTO_MAX_BYTES = 4L << 30;
  /** Default of {@link #cluster()}: not in a cluster. */
  public static final String CLUSTER_DEFAULT = "off";
  /** What a valid {@code cluster} value looks like. */
  static final String CLUSTER_FORM =
      "off, etcd://host:port[,host:port]/NAME[?ttl=S&zone=Z&advertise=host:port] or static://host:port,...";
  /** Auth grants: none, so authentication is off. */
  public static final AuthGrants AUTH_GRANTS_DEFAULT = AuthGrants.NONE;

  /** The largest page the page format can describe. */
  public static final long PAGE_BYTES_LIMIT = (long) PageFormat.HEADER_LENGTH + PageFormat.MAX_PAYLOAD_LENGTH;

  private final String host;
  private final int port;
  private final String metricsHost;
  private final int metricsPort;
  private final Path dataDir;
  private final long hotBytes;
  private final long dramBytes;
  private final long ssdBytes;
  private final int maxPageBytes;
  private final int ssdMinPageBytes;
  private final String evictionPolicy;
  private final String ssdAdmission;
  private final String ssdDurability;
  private final String ssdCorruptRecords;
  private final boolean ssdFitDisk;
  private final String indexDir;
  private final int prefetchThreads;
  private final int maxFrameBytes;
  private final int maxBatch;
  private final long maxInflightBytes;
  private final int maxConnections;
  private final int ioThreads;
  private final int handshakeTimeoutSeconds;
  private final int shutdownGraceSeconds;
  private final boolean shutdownFlush;
  private final int shutdownFlushGraceSeconds;
  private final int writeBackThreads;
  private final long writeBackQueueBytes;
  private final long writeBackMaxWaitMillis;
  private final long degradedRetryMinMillis;
  private final long degradedRetryMaxMillis;
  private final int memoryShards;
  private final boolean memoryPrefault;
  private final long requestMemoryBytes;
  private final long putOnLoopMaxBytes;
  private final int protocolMaxVersion;
  private final long shmRegionBytes;
  private final long shmTotalBytes;
  private final Path shmDir;
  private final int readTimeoutSeconds;
  private final int writeTimeoutSeconds;
  private final int idleTimeoutSeconds;
  private final int maxConnectionsPerToken;
  private final int maxPreauthConnectionsPerAddress;
  private final String cluster;
  private final AuthGrants authGrants;

  ServerConfig(ServerConfigBuilder b) {
    host = b.host;
    port = b.port;
    metricsHost = b.metricsHost;
    metricsPort = b.metricsPort;
    dataDir = b.dataDir;
    hotBytes = b.hotBytes;
    dramBytes = b.dramBytes;
    ssdBytes = b.ssdBytes;
    maxPageBytes = b.maxPageBytes;
    ssdMinPageBytes = b.ssdMinPageBytes;
    evictionPolicy = b.evictionPolicy;
    ssdAdmission = b.ssdAdmission;
    ssdDurability = b.ssdDurability;
    ssdCorruptRecords = b.ssdCorruptRecords;
    ssdFitDisk = b.ssdFitDisk;
    indexDir = b.indexDir;
    prefetchThreads = b.prefetchThreads;
    maxFrameBytes = b.maxFrameBytes;
    maxBatch = b.maxBatch;
    maxInflightBytes = b.maxInflightBytes;
    maxConnections = b.maxConnections;
    ioThreads = b.ioThreads;
    handshakeTimeoutSeconds = b.handshakeTimeoutSeconds;
    shutdownGraceSeconds = b.shutdownGraceSeconds;
    shutdownFlush = b.shutdownFlush;
    shutdownFlushGraceSeconds = b.shutdownFlushGraceSeconds;
    writeBackThreads = b.writeBackThreads;
    writeBackQueueBytes = b.writeBackQueueBytes;
    writeBackMaxWaitMillis = b.writeBackMaxWaitMillis;
    degradedRetryMinMillis = b.degradedRetryMinMillis;
    degradedRetryMaxMillis = b.degradedRetryMaxMillis;
    memoryShards = b.memoryShards;
    memoryPrefault = b.memoryPrefault;
    requestMemoryBytes = b.requestMemoryBytes;
    putOnLoopMaxBytes = b.putOnLoopMaxBytes;
    protocolMaxVersion = b.protocolMaxVersion;
    shmRegionBytes = b.shmRegionBytes;
    shmTotalBytes = b.shmTotalBytes;
    shmDir = b.shmDir;
    readTimeoutSeconds = b.readTimeoutSeconds;
    writeTimeoutSeconds = b.writeTimeoutSeconds;
    idleTimeoutSeconds = b.idleTimeoutSeconds;
    maxConnectionsPerToken = b.maxConnectionsPerToken;
    maxPreauthConnectionsPerAddress = b.maxPreauthConnectionsPerAddress;
    cluster = b.cluster;
    authGrants = b.authGrants;
  }

  /** A builder preset with every default. */
  public static ServerConfigBuilder builder() {
    return new ServerConfigBuilder();
  }

  /** The configuration with every default. */
  public static ServerConfig defaults() {
    return builder().build();
  }

  /** Address the protocol server binds. */
  public String host() {
    return host;
  }

  /** TCP port of the protocol server (0: any free port). */
  public int port() {
    return port;
  }

  /** Address the metrics HTTP server binds. */
  public String metricsHost() {
    return metricsHost;
  }

  /** TCP port of the metrics HTTP server; 0 when metrics are off. */
  public int metricsPort() {
    return metricsPort;
  }

  /** Whether the metrics HTTP server runs. */
  public boolean metricsEnabled() {
    return metricsPort != 0;
  }

  /** The data directory as configured (relative paths resolve against the working directory). */
  public Path dataDir() {
    return dataDir;
  }

  /** Capacity of the hot tier in bytes. */
  public long hotBytes() {
    return hotBytes;
  }

  /** Capacity of the DRAM tier in bytes. */
  public long dramBytes() {
    return dramBytes;
  }

  /** Capacity of the SSD tier in bytes. */
  public long ssdBytes() {
    return ssdBytes;
  }

  /** Largest page, header included, in bytes. */
  public int maxPageBytes() {
    return maxPageBytes;
  }

  /**
   * Smallest page the operator expects, header included (default 16 KiB): the SSD tier holds at
   * most {@code ssdBytes / ssdMinPageBytes} pages and sizes its directory for that many.
   */
  public int ssdMinPageBytes() {
    return ssdMinPageBytes;
  }

  /** Eviction policy name. */
  public String evictionPolicy() {
    return evictionPolicy;
  }

  /** SSD admission policy name. */
  public String ssdAdmission() {
    return ssdAdmission;
  }

  /** Whether SSD writes are synced before a put is acknowledged. */
  public String ssdDurability() {
    return ssdDurability;
  }

  /**
   * What a start does when RocksDB finds the SSD tier's location records damaged on disk: {@code
   * fail} (the daemon stops with a message naming them) or {@code discard} (they are deleted and
   * the daemon starts; the pages a whole block index knows keep their place and get new records,
   * the others are lost).
   */
  public String ssdCorruptRecords() {
    return ssdCorruptRecords;
  }

  /**
   * Whether the SSD tier sizes itself to its file system at start (default true): when the file
   * system cannot hold {@link #ssdBytes()}, the tier holds what it can (free space plus what it
   * holds, less its reserve) and evicts its oldest pages there; false keeps {@link #ssdBytes()} and
   * the tier stops taking pages when the disk is full. See {@link
   * TieredStoreBuilder#ssdFitToDisk}.
   */
  public boolean ssdFitDisk() {
    return ssdFitDisk;
  }

  /**
   * Where the block index and the SSD tier's crash journal run: {@code auto} (a tmpfs directory
   * under {@code /dev/shm} when it has room and the durability is wal or sync, else the data
   * directory), {@code data}, or an absolute directory.
   */
  public String indexDir() {
    return indexDir;
  }

  /** Threads that run prefetches. */
  public int prefetchThreads() {
    return prefetchThreads;
  }

  /** Largest protocol frame in bytes. */
  public int maxFrameBytes() {
    return maxFrameBytes;
  }

  /** Most keys or pages in one request. */
  public int maxBatch() {
    return maxBatch;
  }

  /** Most request bytes in flight per connection. */
  public long maxInflightBytes() {
    return maxInflightBytes;
  }

  /** Most open client connections. */
  public int maxConnections() {
    return maxConnections;
  }

  /** Netty I/O threads; 0 lets Netty choose. */
  public int ioThreads() {
    return ioThreads;
  }

  /** How long a new connection may take to complete its HELLO, in seconds. */
  public int handshakeTimeoutSeconds() {
    return handshakeTimeoutSeconds;
  }

  /** How long a shutdown waits for in-flight requests, in seconds. */
  public int shutdownGraceSeconds() {
    return shutdownGraceSeconds;
  }

  /** Shared-memory region per same-host connection (spec/4); 0: shared memory off. */
  public long shmRegionBytes() {
    return shmRegionBytes;
  }

  /** Most shared-memory bytes over every connection. */
  public long shmTotalBytes() {
    return shmTotalBytes;
  }

  /** Directory of the region files as configured; null: automatic ({@link #shmDirOrDefault()}). */
  public Path shmDir() {
    return shmDir;
  }

  /** Directory of the region files: the configured one, or /dev/shm/kvstore-USER (tmpfs, per user). */
  public Path shmDirOrDefault() {
    return shmDir != null ? shmDir
        : Path.of("/dev/shm", "kvstore-" + System.getProperty("user.name", "daemon"));
  }

  /** Whether a graceful stop writes dirty memory pages to the SSD tier. */
  public boolean shutdownFlush() {
    return shutdownFlush;
  }

  /**
   * How long closing the store may take on a graceful stop (calls in progress, then the flush), in
   * seconds; it starts after {@link #shutdownGraceSeconds()}, so a stop takes at most about the sum.
   */
  public int shutdownFlushGraceSeconds() {
    return shutdownFlushGraceSeconds;
  }

  /** Background threads writing dirty pages to the SSD tier. */
  public int writeBackThreads() {
    return writeBackThreads;
  }

  /** Bytes of the write-back queue (direct memory, allocated when the store opens). */
  public long writeBackQueueBytes() {
    return writeBackQueueBytes;
  }

  /** Longest wait of a put for room in a full write-back queue, in milliseconds. */
  public long writeBackMaxWaitMillis() {
    return writeBackMaxWaitMillis;
  }

  /** First retry of a degraded SSD tier, in milliseconds. */
  public long degradedRetryMinMillis() {
    return degradedRetryMinMillis;
  }

  /** Longest interval between retries of a degraded SSD tier, in milliseconds. */
  public long degradedRetryMaxMillis() {
    return degradedRetryMaxMillis;
  }

  /** Shards of each memory tier; 0 for the tiers' default. */
  public int memoryShards() {
    return memoryShards;
  }

  /**
   * Whether the hot and DRAM tiers allocate all their memory in the background from the start
   * (default false: one slab ahead of need); see {@link TieredStoreBuilder#memoryPrefault}.
   */
  public boolean memoryPrefault() {
    return memoryPrefault;
  }

  /** Checks a {@code memory.shards} value: 0 or a power of two up to the tiers' limit. */
  static int parseMemoryShards(String raw) {
    int n = Values.parseInt(raw, 0, TieredStoreBuilder.MEMORY_SHARDS_MAX);
    if (n != 0 && Integer.bitCount(n) != 1) {
      throw new IllegalArgumentException("expected " + MEMORY_SHARDS_FORM);
    }
    return n;
  }

  /**
   * Direct memory the daemon needs at most, in bytes: the hot and DRAM tiers, the write-back queue
   * (when there is an SSD tier) and the request memory budget (as set, or else 1 GiB for it and
   * Netty's buffers), plus 25% of that (at least 256 MiB) for Netty, RocksDB's Java side and the
   * JDK. What {@code --print-direct-memory} prints and {@code bin/kvstore-server} passes as
   * {@code -XX:MaxDirectMemorySize} unless the user sets it.
   */
  public long directMemoryNeeded() {
    long need = hotBytes + dramBytes + (ssdBytes > 0 ? writeBackQueueBytes : 0)
        + (requestMemoryBytes > 0 ? requestMemoryBytes : DIRECT_MEMORY_REQUEST_HEADROOM_BYTES);
    return need + Math.max(need / 4, 256L << 20);
  }

  /** What {@link #directMemoryNeeded()} leaves for requests when their budget is derived. */
  public static final long DIRECT_MEMORY_REQUEST_HEADROOM_BYTES = 1L << 30;

  /** The daemon-wide request memory budget as configured; 0 means derived from the direct-memory limit (see {@link #requestMemoryBytes(long)}). */
  public long requestMemoryBytes() {
    return requestMemoryBytes;
  }

  /**
   * The largest PUT frame (bytes) the daemon stores on the event loop that read it, instead of
   * handing it to a store thread; used only when the store never blocks a put (no SSD tier, so no
   * write-back wait). 0 sends every PUT to a store thread.
   */
  public long putOnLoopMaxBytes() {
    return putOnLoopMaxBytes;
  }

  /**
   * The newest wire protocol version the daemon agrees to at HELLO; by default the newest it
   * speaks ({@code FrameDescriptor.PROTOCOL_VERSION}).
   */
  public int protocolMaxVersion() {
    return protocolMaxVersion;
  }

  /** How long a frame may take to arrive once its first bytes have, in seconds. */
  public int readTimeoutSeconds() {
    return readTimeoutSeconds;
  }

  /** How long queued responses may make no progress before the connection is cut, in seconds. */
  public int writeTimeoutSeconds() {
    return writeTimeoutSeconds;
  }

  /** How long an authenticated connection may stay idle (nothing read, written or in flight), in seconds. */
  public int idleTimeoutSeconds() {
    return idleTimeoutSeconds;
  }

  /** Most connections one token (one namespace when auth is off) may hold after HELLO. */
  public int maxConnectionsPerToken() {
    return maxConnectionsPerToken;
  }

  /** Most connections one remote address may hold before completing HELLO. */
  public int maxPreauthConnectionsPerAddress() {
    return maxPreauthConnectionsPerAddress;
  }

  /**
   * The request memory budget in bytes: {@link #requestMemoryBytes()} when set, else half of what
   * the direct-memory limit leaves after the hot and DRAM tiers, at least {@link #maxFrameBytes()}
   * (one largest frame must fit) and at most {@link #REQUEST_MEMORY_AUTO_MAX_BYTES}.
   *
   * @param maxDirectMemory the JVM's direct-memory limit in bytes
   */
  public long requestMemoryBytes(long maxDirectMemory) {
    if (requestMemoryBytes > 0) {
      return requestMemoryBytes;
    }
    long left = maxDirectMemory - hotBytes - dramBytes;
    return Math.max(maxFrameBytes, Math.min(left / 2, REQUEST_MEMORY_AUTO_MAX_BYTES));
  }

  /** The cluster address ({@code etcd://...}, {@code static://...}) or {@code off}. */
  public String cluster() {
    return cluster;
  }

  /** Checks a cluster value: {@code off} or an address {@link io.kvstore.client.cluster.ClusterUri} parses. */
  static String parseCluster(String raw) {
    String v = raw.strip();
    if (v.equals(CLUSTER_DEFAULT)) {
      return v;
    }
    try {
      io.kvstore.client.cluster.ClusterUri.parse(v);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("expected " + CLUSTER_FORM + " (" + e.getMessage() + ")", e);
    }
    return v;
  }

  /** The auth grants; empty when authentication is off. */
  public AuthGrants authGrants() {
    return authGrants;
  }

  @Override
  public String toString() {
    return "ServerConfig{host=" + host + ", port=" + port + ", metricsHost=" + metricsHost
        + ", metricsPort=" + metricsPort + ", dataDir=" + dataDir + ", hotBytes=" + hotBytes
        + ", dramBytes=" + dramBytes + ", ssdBytes=" + ssdBytes + ", maxPageBytes=" + maxPageBytes
        + ", ssdMinPageBytes=" + ssdMinPageBytes
        + ", evictionPolicy=" + evictionPolicy + ", ssdAdmission=" + ssdAdmission
        + ", ssdDurability=" + ssdDurability + ", ssdCorruptRecords=" + ssdCorruptRecords + ", ssdFitDisk=" + ssdFitDisk + ", indexDir=" + indexDir
        + ", prefetchThreads=" + prefetchThreads
        + ", maxFrameBytes=" + maxFrameBytes + ", maxBatch=" + maxBatch
        + ", maxInflightBytes=" + maxInflightBytes + ", maxConnections=" + maxConnections
        + ", ioThreads=" + ioThreads + ", handshakeTimeoutSeconds=" + handshakeTimeoutSeconds
        + ", shutdownGraceSeconds=" + shutdownGraceSeconds
        + ", shutdownFlush=" + shutdownFlush + ", shutdownFlushGraceSeconds=" + shutdownFlushGraceSeconds
        + ", writeBackThreads=" + writeBackThreads + ", writeBackQueueBytes=" + writeBackQueueBytes
        + ", writeBackMaxWaitMillis=" + writeBackMaxWaitMillis
        + ", degradedRetryMinMillis=" + degradedRetryMinMillis
        + ", degradedRetryMaxMillis=" + degradedRetryMaxMillis + ", memoryShards=" + memoryShards + ", memoryPrefault=" + memoryPrefault
        + ", requestMemoryBytes=" + requestMemoryBytes + ", putOnLoopMaxBytes=" + putOnLoopMaxBytes
        + ", protocolMaxVersion=" + protocolMaxVersion
        + ", readTimeoutSeconds=" + readTimeoutSeconds
        + ", writeTimeoutSeconds=" + writeTimeoutSeconds + ", idleTimeoutSeconds=" + idleTimeoutSeconds
        + ", maxConnectionsPerToken=" + maxConnectionsPerToken
        + ", maxPreauthConnectionsPerAddress=" + maxPreauthConnectionsPerAddress
        + ", cluster=" + cluster
        + ", authGrants=" + authGrants + "}";
  }
}
