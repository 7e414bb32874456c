package io.kvstore.server.config;

import io.kvstore.common.PageFormat;
import io.kvstore.core.policy.Policies;
import io.kvstore.core.store.TieredStoreBuilder;
import java.nio.file.Path;
import java.util.Objects;

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
  /** Eviction policy name (see {@code Policies}). */
  public static final String EVICTION_POLICY_DEFAULT = TieredStoreBuilder.POLICY_DEFAULT;
  /** SSD admission policy name, as the store knows it. */
  public static final String SSD_ADMISSION_DEFAULT = TieredStoreBuilder.SSD_ADMISSION_DEFAULT;
  /** Whether SSD writes are synced before a put is acknowledged. */
  public static final boolean SYNC_WRITES_DEFAULT = TieredStoreBuilder.SYNC_WRITES_DEFAULT;
  /** Threads that run prefetches (SSD reads ahead of need). */
  public static final int PREFETCH_THREADS_DEFAULT = TieredStoreBuilder.PREFETCH_THREADS_DEFAULT;
  /** Largest protocol frame accepted. */
  public static final int MAX_FRAME_BYTES_DEFAULT = 64 << 20;
  /** Most keys or pages in one request. */
  public static final int MAX_BATCH_DEFAULT = 256;
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
  private final String evictionPolicy;
  private final String ssdAdmission;
  private final boolean syncWrites;
  private final int prefetchThreads;
  private final int maxFrameBytes;
  private final int maxBatch;
  private final long maxInflightBytes;
  private final int maxConnections;
  private final int ioThreads;
  private final int handshakeTimeoutSeconds;
  private final int shutdownGraceSeconds;
  private final AuthGrants authGrants;

  private ServerConfig(Builder b) {
    host = b.host;
    port = b.port;
    metricsHost = b.metricsHost;
    metricsPort = b.metricsPort;
    dataDir = b.dataDir;
    hotBytes = b.hotBytes;
    dramBytes = b.dramBytes;
    ssdBytes = b.ssdBytes;
    maxPageBytes = b.maxPageBytes;
    evictionPolicy = b.evictionPolicy;
    ssdAdmission = b.ssdAdmission;
    syncWrites = b.syncWrites;
    prefetchThreads = b.prefetchThreads;
    maxFrameBytes = b.maxFrameBytes;
    maxBatch = b.maxBatch;
    maxInflightBytes = b.maxInflightBytes;
    maxConnections = b.maxConnections;
    ioThreads = b.ioThreads;
    handshakeTimeoutSeconds = b.handshakeTimeoutSeconds;
    shutdownGraceSeconds = b.shutdownGraceSeconds;
    authGrants = b.authGrants;
  }

  /** A builder preset with every default. */
  public static Builder builder() {
    return new Builder();
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

  /** Eviction policy name. */
  public String evictionPolicy() {
    return evictionPolicy;
  }

  /** SSD admission policy name. */
  public String ssdAdmission() {
    return ssdAdmission;
  }

  /** Whether SSD writes are synced before a put is acknowledged. */
  public boolean syncWrites() {
    return syncWrites;
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

  /** The auth grants; empty when authentication is off. */
  public AuthGrants authGrants() {
    return authGrants;
  }

  @Override
  public String toString() {
    return "ServerConfig{host=" + host + ", port=" + port + ", metricsHost=" + metricsHost
        + ", metricsPort=" + metricsPort + ", dataDir=" + dataDir + ", hotBytes=" + hotBytes
        + ", dramBytes=" + dramBytes + ", ssdBytes=" + ssdBytes + ", maxPageBytes=" + maxPageBytes
        + ", evictionPolicy=" + evictionPolicy + ", ssdAdmission=" + ssdAdmission
        + ", syncWrites=" + syncWrites + ", prefetchThreads=" + prefetchThreads
        + ", maxFrameBytes=" + maxFrameBytes + ", maxBatch=" + maxBatch
        + ", maxInflightBytes=" + maxInflightBytes + ", maxConnections=" + maxConnections
        + ", ioThreads=" + ioThreads + ", handshakeTimeoutSeconds=" + handshakeTimeoutSeconds
        + ", shutdownGraceSeconds=" + shutdownGraceSeconds
        + ", authGrants=" + authGrants + "}";
  }

  /**
   * Collects settings; {@link #build()} checks each one and how they fit together. Setters check
   * only for null: ranges are checked in {@code build()} so the message can name the setting.
   */
  public static final class Builder {
    private String host = HOST_DEFAULT;
    private int port = PORT_DEFAULT;
    private String metricsHost = METRICS_HOST_DEFAULT;
    private int metricsPort = METRICS_PORT_DEFAULT;
    private Path dataDir = DATA_DIR_DEFAULT;
    private long hotBytes = HOT_BYTES_DEFAULT;
    private long dramBytes = DRAM_BYTES_DEFAULT;
    private long ssdBytes = SSD_BYTES_DEFAULT;
    private int maxPageBytes = MAX_PAGE_BYTES_DEFAULT;
    private String evictionPolicy = EVICTION_POLICY_DEFAULT;
    private String ssdAdmission = SSD_ADMISSION_DEFAULT;
    private boolean syncWrites = SYNC_WRITES_DEFAULT;
    private int prefetchThreads = PREFETCH_THREADS_DEFAULT;
    private int maxFrameBytes = MAX_FRAME_BYTES_DEFAULT;
    private int maxBatch = MAX_BATCH_DEFAULT;
    private long maxInflightBytes = MAX_INFLIGHT_BYTES_DEFAULT;
    private int maxConnections = MAX_CONNECTIONS_DEFAULT;
    private int ioThreads = IO_THREADS_DEFAULT;
    private int handshakeTimeoutSeconds = HANDSHAKE_TIMEOUT_SECONDS_DEFAULT;
    private int shutdownGraceSeconds = SHUTDOWN_GRACE_SECONDS_DEFAULT;
    private AuthGrants authGrants = AUTH_GRANTS_DEFAULT;

    private Builder() {}

    /**
     * Sets {@link ServerConfig#host()}.
     *
     * @param v the value
     * @return this
     */
    public Builder host(String v) {
      host = Objects.requireNonNull(v, "host");
      return this;
    }

    /**
     * Sets {@link ServerConfig#port()}.
     *
     * @param v the value
     * @return this
     */
    public Builder port(int v) {
      port = v;
      return this;
    }

    /**
     * Sets {@link ServerConfig#metricsHost()}.
     *
     * @param v the value
     * @return this
     */
    public Builder metricsHost(String v) {
      metricsHost = Objects.requireNonNull(v, "metricsHost");
      return this;
    }

    /**
     * Sets {@link ServerConfig#metricsPort()}.
     *
     * @param v the value
     * @return this
     */
    public Builder metricsPort(int v) {
      metricsPort = v;
      return this;
    }

    /**
     * Sets {@link ServerConfig#dataDir()}.
     *
     * @param v the value
     * @return this
     */
    public Builder dataDir(Path v) {
      dataDir = Objects.requireNonNull(v, "dataDir");
      return this;
    }

    /**
     * Sets {@link ServerConfig#hotBytes()}.
     *
     * @param v the value
     * @return this
     */
    public Builder hotBytes(long v) {
      hotBytes = v;
      return this;
    }

    /**
     * Sets {@link ServerConfig#dramBytes()}.
     *
     * @param v the value
     * @return this
     */
    public Builder dramBytes(long v) {
      dramBytes = v;
      return this;
    }

    /**
     * Sets {@link ServerConfig#ssdBytes()}.
     *
     * @param v the value
     * @return this
     */
    public Builder ssdBytes(long v) {
      ssdBytes = v;
      return this;
    }

    /**
     * Sets {@link ServerConfig#maxPageBytes()}.
     *
     * @param v the value
     * @return this
     */
    public Builder maxPageBytes(int v) {
      maxPageBytes = v;
      return this;
    }

    /**
     * Sets {@link ServerConfig#evictionPolicy()}.
     *
     * @param v the value
     * @return this
     */
    public Builder evictionPolicy(String v) {
      evictionPolicy = Objects.requireNonNull(v, "evictionPolicy");
      return this;
    }

    /**
     * Sets {@link ServerConfig#ssdAdmission()}.
     *
     * @param v the value
     * @return this
     */
    public Builder ssdAdmission(String v) {
      ssdAdmission = Objects.requireNonNull(v, "ssdAdmission");
      return this;
    }

    /**
     * Sets {@link ServerConfig#syncWrites()}.
     *
     * @param v the value
     * @return this
     */
    public Builder syncWrites(boolean v) {
      syncWrites = v;
      return this;
    }

    /**
     * Sets {@link ServerConfig#prefetchThreads()}.
     *
     * @param v the value
     * @return this
     */
    public Builder prefetchThreads(int v) {
      prefetchThreads = v;
      return this;
    }

    /**
     * Sets {@link ServerConfig#maxFrameBytes()}.
     *
     * @param v the value
     * @return this
     */
    public Builder maxFrameBytes(int v) {
      maxFrameBytes = v;
      return this;
    }

    /**
     * Sets {@link ServerConfig#maxBatch()}.
     *
     * @param v the value
     * @return this
     */
    public Builder maxBatch(int v) {
      maxBatch = v;
      return this;
    }

    /**
     * Sets {@link ServerConfig#maxInflightBytes()}.
     *
     * @param v the value
     * @return this
     */
    public Builder maxInflightBytes(long v) {
      maxInflightBytes = v;
      return this;
    }

    /**
     * Sets {@link ServerConfig#maxConnections()}.
     *
     * @param v the value
     * @return this
     */
    public Builder maxConnections(int v) {
      maxConnections = v;
      return this;
    }

    /**
     * Sets {@link ServerConfig#ioThreads()}.
     *
     * @param v the value
     * @return this
     */
    public Builder ioThreads(int v) {
      ioThreads = v;
      return this;
    }

    /**
     * Sets {@link ServerConfig#handshakeTimeoutSeconds()}.
     *
     * @param v the value
     * @return this
     */
    public Builder handshakeTimeoutSeconds(int v) {
      handshakeTimeoutSeconds = v;
      return this;
    }

    /**
     * Sets {@link ServerConfig#shutdownGraceSeconds()}.
     *
     * @param v the value
     * @return this
     */
    public Builder shutdownGraceSeconds(int v) {
      shutdownGraceSeconds = v;
      return this;
    }

    /**
     * Sets {@link ServerConfig#authGrants()}.
     *
     * @param v the value
     * @return this
     */
    public Builder authGrants(AuthGrants v) {
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
      if (!Policies.names().contains(evictionPolicy)) {
        throw new IllegalArgumentException("eviction.policy is '" + evictionPolicy + "'; expected one of "
            + String.join(", ", Policies.names()));
      }
      requireName("ssd.admission", ssdAdmission);
      requireRange("prefetch.threads", prefetchThreads, 1, 1024);
      requireRange("max.frame.bytes", maxFrameBytes, 1, Integer.MAX_VALUE);
      requireRange("max.batch", maxBatch, 1, 1 << 20);
      requireRange("max.inflight.bytes", maxInflightBytes, 1, Long.MAX_VALUE);
      requireRange("max.connections", maxConnections, 1, 1 << 20);
      requireRange("io.threads", ioThreads, 0, 4096);
      requireRange("handshake.timeout.seconds", handshakeTimeoutSeconds, 1, 3_600);
      requireRange("shutdown.grace.seconds", shutdownGraceSeconds, 0, 86_400);
      if (port != 0 && port == metricsPort && host.equals(metricsHost)) {
        throw new IllegalArgumentException(
            "port and metrics.port are both " + port + " on " + host + "; they must differ");
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
}
