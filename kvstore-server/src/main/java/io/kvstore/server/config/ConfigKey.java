package io.kvstore.server.config;

import io.kvstore.client.protocol.FrameDescriptor;
import java.util.Locale;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Every scalar setting of the daemon with its three spellings: the file key ({@code dram.bytes}),
 * the environment variable ({@code KVSTORE_DRAM_BYTES}) and the flag ({@code --dram-bytes}). The
 * spellings are derived from the file key, so they cannot drift apart. Auth grants are a family of
 * keys ({@code auth.token.NAME}) handled by {@link ServerConfigLoader} itself.
 */
public enum ConfigKey {
  /** {@link ServerConfig#host()}. */
  HOST("host", Values.HOST_FORM, "Address the protocol server binds (0.0.0.0 for every interface).",
      (b, v) -> b.host(Values.parseHost(v)), ServerConfig::host),
  /** {@link ServerConfig#port()}. */
  PORT("port", Values.integerForm(0, 65_535), "TCP port of the protocol server; 0 picks a free port.",
      (b, v) -> b.port(Values.parseInt(v, 0, 65_535)), c -> Integer.toString(c.port())),
  /** {@link ServerConfig#metricsHost()}. */
  METRICS_HOST("metrics.host", Values.HOST_FORM, "Address the metrics HTTP server binds.",
      (b, v) -> b.metricsHost(Values.parseHost(v)), ServerConfig::metricsHost),
  /** {@link ServerConfig#metricsPort()}. */
  METRICS_PORT("metrics.port", Values.integerForm(0, 65_535),
      "TCP port of the metrics HTTP server (GET /metrics, GET /health); 0 turns it off.",
      (b, v) -> b.metricsPort(Values.parseInt(v, 0, 65_535)),
      c -> c.metricsEnabled() ? Integer.toString(c.metricsPort()) : "0 (off)"),
  /** {@link ServerConfig#dataDir()}. */
  DATA_DIR("data.dir", Values.PATH_FORM,
      "Directory of the SSD tier and the block index; relative paths resolve against the working"
          + " directory of the daemon. Created if missing.",
      (b, v) -> b.dataDir(Values.parsePath(v)),
      c -> c.dataDir().toAbsolutePath().normalize().toString()),
  /** {@link ServerConfig#hotBytes()}. */
  HOT_BYTES("hot.bytes", Values.sizeForm(0, Long.MAX_VALUE), "Capacity of the hot tier.",
      (b, v) -> b.hotBytes(Values.parseBytes(v, 0, Long.MAX_VALUE)),
      c -> c.hotBytes() == 0 ? "0 (off)" : Sizes.format(c.hotBytes())),
  /** {@link ServerConfig#dramBytes()}. */
  DRAM_BYTES("dram.bytes", Values.sizeForm(0, Long.MAX_VALUE),
      "Capacity of the DRAM tier (off-heap, not Java heap).",
      (b, v) -> b.dramBytes(Values.parseBytes(v, 0, Long.MAX_VALUE)),
      c -> Sizes.format(c.dramBytes())),
  /** {@link ServerConfig#ssdBytes()}. */
  SSD_BYTES("ssd.bytes", Values.sizeForm(0, Long.MAX_VALUE), "Capacity of the SSD tier.",
      (b, v) -> b.ssdBytes(Values.parseBytes(v, 0, Long.MAX_VALUE)), c -> Sizes.format(c.ssdBytes())),
  /** {@link ServerConfig#ssdMinPageBytes()}. */
  SSD_MIN_PAGE_BYTES("ssd.min.page.bytes", Values.sizeForm(65, ServerConfig.PAGE_BYTES_LIMIT),
      "Smallest page expected, header included: the SSD tier holds at most ssd.bytes / this many"
          + " pages, and its directory is allocated for that many at startup. Smaller pages are"
          + " still stored; the page count then makes the tier evict before its bytes do.",
      (b, v) -> b.ssdMinPageBytes((int) Values.parseBytes(v, 65, ServerConfig.PAGE_BYTES_LIMIT)),
      c -> Sizes.format(c.ssdMinPageBytes())),
  /** {@link ServerConfig#maxPageBytes()}. */
  MAX_PAGE_BYTES("max.page.bytes", Values.sizeForm(65, ServerConfig.PAGE_BYTES_LIMIT),
      "Largest page, 64-byte header included; larger puts are rejected.",
      (b, v) -> b.maxPageBytes((int) Values.parseBytes(v, 65, ServerConfig.PAGE_BYTES_LIMIT)),
      c -> Sizes.format(c.maxPageBytes())),
  /** {@link ServerConfig#evictionPolicy()}. */
  EVICTION_POLICY("eviction.policy", Values.policyForm(),
      "Eviction policy of every tier (lru, prefix-lru: a block goes after the blocks that extend"
          + " it, w-tinylfu: frequency-aware).",
      (b, v) -> b.evictionPolicy(Values.parsePolicy(v)), ServerConfig::evictionPolicy),
  /** {@link ServerConfig#ssdAdmission()}. */
  SSD_ADMISSION("ssd.admission", Values.NAME_FORM,
      "Which pages evicted from DRAM are written to SSD (always, or seen-twice: only pages whose"
          + " key was seen at least twice, to save flash writes); checked by the store.",
      (b, v) -> b.ssdAdmission(Values.parseName(v)), ServerConfig::ssdAdmission),
  /** {@link ServerConfig#ssdDurability()}. */
  SSD_DURABILITY("ssd.durability", Values.NAME_FORM,
      "What an acknowledged SSD write survives: none (no write-ahead log; a clean shutdown flushes"
          + " everything, a crash may turn the last unflushed pages into misses), wal (survives a"
          + " process crash) or sync (fsync: survives power loss; slowest).",
      (b, v) -> b.ssdDurability(Values.parseName(v)), ServerConfig::ssdDurability),
  /** {@link ServerConfig#ssdCorruptRecords()}. */
  SSD_CORRUPT_RECORDS("ssd.corrupt.records", Values.NAME_FORM,
      "What a start does when RocksDB finds the SSD tier's location records damaged on disk: fail"
          + " (stop, naming them) or discard (delete them and start: pages a whole block index"
          + " knows are kept, the others lost).",
      (b, v) -> b.ssdCorruptRecords(Values.parseName(v)), ServerConfig::ssdCorruptRecords),
  /** {@link ServerConfig#ssdFitDisk()}. */
  SSD_FIT_DISK("ssd.fit.disk", Values.BOOLEAN_FORM,
      "Whether the SSD tier sizes itself to its file system at start: when the disk cannot hold"
          + " ssd.bytes, the tier holds what it can and evicts its oldest pages there (true), or"
          + " keeps ssd.bytes and stops taking pages once the disk is full (false).",
      (b, v) -> b.ssdFitDisk(Values.parseBoolean(v)),
      c -> Boolean.toString(c.ssdFitDisk())),
  /** {@link ServerConfig#indexDir()}. */
  INDEX_DIR("index.dir", "auto, data or " + Values.PATH_FORM,
      "Where the block index and the SSD tier's crash journal run: auto (a tmpfs directory under"
          + " /dev/shm when it has room and ssd.durability is wal or sync, else the data"
          + " directory), data (the data directory), or a directory (meant for a tmpfs). Off the"
          + " data disk, a frozen or stalled disk cannot stall the daemon; the data directory"
          + " keeps a copy made at each clean stop.",
      (b, v) -> b.indexDir(parseIndexDir(v)), ServerConfig::indexDir),
  /** {@link ServerConfig#prefetchThreads()}. */
  PREFETCH_THREADS("prefetch.threads", Values.integerForm(1, 1024),
      "Threads that read pages ahead of need for PREFETCH requests.",
      (b, v) -> b.prefetchThreads(Values.parseInt(v, 1, 1024)),
      c -> Integer.toString(c.prefetchThreads())),
  /** {@link ServerConfig#maxFrameBytes()}. */
  MAX_FRAME_BYTES("max.frame.bytes", Values.sizeForm(1, Integer.MAX_VALUE),
      "Largest protocol frame; a larger one is refused with an error and the connection closed.",
      (b, v) -> b.maxFrameBytes((int) Values.parseBytes(v, 1, Integer.MAX_VALUE)),
      c -> Sizes.format(c.maxFrameBytes())),
  /** {@link ServerConfig#maxBatch()}. */
  MAX_BATCH("max.batch", Values.integerForm(1, 1 << 20), "Most keys or pages in one request.",
      (b, v) -> b.maxBatch(Values.parseInt(v, 1, 1 << 20)), c -> Integer.toString(c.maxBatch())),
  /** {@link ServerConfig#maxInflightBytes()}. */
  MAX_INFLIGHT_BYTES("max.inflight.bytes", Values.sizeForm(1, Long.MAX_VALUE),
      "Most request bytes in flight per connection; beyond it the daemon stops reading from that"
          + " connection until replies drain (back-pressure).",
      (b, v) -> b.maxInflightBytes(Values.parseBytes(v, 1, Long.MAX_VALUE)),
      c -> Sizes.format(c.maxInflightBytes())),
  /** {@link ServerConfig#maxConnections()}. */
  MAX_CONNECTIONS("max.connections", Values.integerForm(1, 1 << 20),
      "Most open client connections; further ones are closed at once.",
      (b, v) -> b.maxConnections(Values.parseInt(v, 1, 1 << 20)),
      c -> Integer.toString(c.maxConnections())),
  /** {@link ServerConfig#ioThreads()}. */
  IO_THREADS("io.threads", Values.integerForm(0, 4096),
      "Netty I/O threads; 0 lets Netty choose (twice the available cores).",
      (b, v) -> b.ioThreads(Values.parseInt(v, 0, 4096)), c -> Integer.toString(c.ioThreads())),
  /** {@link ServerConfig#requestMemoryBytes()}. */
  NET_REQUEST_MEMORY_BYTES("net.request.memory.bytes", Values.sizeForm(0, Long.MAX_VALUE),
      "Daemon-wide budget for the memory of requests received and not yet answered, over every"
          + " connection;"
          + " when it is spent, connections holding more than 64 KiB stop reading until answers free"
          + " it. 0: half of what the direct-memory limit leaves after hot.bytes and dram.bytes"
          + " (at least max.frame.bytes, at most 4 GiB).",
      (b, v) -> b.requestMemoryBytes(Values.parseBytes(v, 0, Long.MAX_VALUE)),
      c -> c.requestMemoryBytes() == 0 ? "0 (auto)" : Sizes.format(c.requestMemoryBytes())),
  /** {@link ServerConfig#putOnLoopMaxBytes()}. */
  NET_PUT_ON_LOOP_MAX_BYTES("net.put.on.loop.max.bytes", Values.sizeForm(0, Long.MAX_VALUE),
      "Largest PUT frame stored on the event loop that read it instead of a store thread (saves"
          + " two thread hand-offs); only when the store has no SSD tier, so a put never waits."
          + " 0: every PUT goes to a store thread.",
      (b, v) -> b.putOnLoopMaxBytes(Values.parseBytes(v, 0, Long.MAX_VALUE)),
      c -> Sizes.format(c.putOnLoopMaxBytes())),
  /** {@link ServerConfig#protocolMaxVersion()}. */
  NET_PROTOCOL_MAX_VERSION("net.protocol.max.version",
      Values.integerForm(FrameDescriptor.MIN_PROTOCOL_VERSION, FrameDescriptor.PROTOCOL_VERSION),
      "Newest wire protocol version the daemon agrees to at HELLO (spec/3 §3.3). Lower it to make"
          + " this daemon answer as an older release would, e.g. to try an SDK against it.",
      (b, v) -> b.protocolMaxVersion(Values.parseInt(v, FrameDescriptor.MIN_PROTOCOL_VERSION,
          FrameDescriptor.PROTOCOL_VERSION)),
      c -> Integer.toString(c.protocolMaxVersion())),
  /** {@link ServerConfig#shmRegionBytes()}. */
  SHM_REGION_BYTES("shm.region.bytes", Values.sizeForm(0, 1L << 30),
      "Shared-memory region offered to each same-host connection (spec/4); 0 turns shared memory"
          + " off and every client uses TCP.",
      (b, v) -> b.shmRegionBytes(Values.parseBytes(v, 0, 1L << 30)),
      c -> c.shmRegionBytes() == 0 ? "0 (off)" : Sizes.format(c.shmRegionBytes())),
  /** {@link ServerConfig#shmTotalBytes()}. */
  SHM_TOTAL_BYTES("shm.total.bytes", Values.sizeForm(0, 1L << 50),
      "Most shared-memory bytes over every connection; a connection beyond it uses TCP.",
      (b, v) -> b.shmTotalBytes(Values.parseBytes(v, 0, 1L << 50)),
      c -> Sizes.format(c.shmTotalBytes())),
  /** {@link ServerConfig#shmDir()}. */
  SHM_DIR("shm.dir", Values.PATH_FORM,
      "Directory of the shared-memory region files (tmpfs); created 0700; region files of"
          + " earlier runs are removed at start. auto: /dev/shm/kvstore-USER.",
      (b, v) -> b.shmDir(v.strip().equals("auto") ? null : Values.parsePath(v)),
      c -> c.shmDir() == null ? "auto" : c.shmDir().toAbsolutePath().normalize().toString()),
  /** {@link ServerConfig#readTimeoutSeconds()}. */
  NET_READ_TIMEOUT_SECONDS("net.read.timeout.seconds", Values.integerForm(1, 3_600),
      "How long a frame may take to arrive once its first bytes have (time the daemon itself"
          + " stops reading does not count); then TIMEOUT and the connection is closed.",
      (b, v) -> b.readTimeoutSeconds(Values.parseInt(v, 1, 3_600)),
      c -> Integer.toString(c.readTimeoutSeconds())),
  /** {@link ServerConfig#writeTimeoutSeconds()}. */
  NET_WRITE_TIMEOUT_SECONDS("net.write.timeout.seconds", Values.integerForm(1, 3_600),
      "How long responses queued for a connection may make no progress (a client that stopped"
          + " reading) before it is closed and the pages it pinned are released.",
      (b, v) -> b.writeTimeoutSeconds(Values.parseInt(v, 1, 3_600)),
      c -> Integer.toString(c.writeTimeoutSeconds())),
  /** {@link ServerConfig#idleTimeoutSeconds()}. */
  NET_IDLE_TIMEOUT_SECONDS("net.idle.timeout.seconds", Values.integerForm(1, 86_400),
      "How long an authenticated connection may stay idle (nothing read or written, no request in"
          + " flight) before it is closed; the SDK sends PING well within it.",
      (b, v) -> b.idleTimeoutSeconds(Values.parseInt(v, 1, 86_400)),
      c -> Integer.toString(c.idleTimeoutSeconds())),
  /** {@link ServerConfig#maxConnectionsPerToken()}. */
  NET_CONNECTIONS_PER_TOKEN("net.connections.per.token", Values.integerForm(1, 1 << 20),
      "Most connections one token (one namespace when auth is off) may hold after HELLO; the next"
          + " is refused with CONNECTION_LIMIT.",
      (b, v) -> b.maxConnectionsPerToken(Values.parseInt(v, 1, 1 << 20)),
      c -> Integer.toString(c.maxConnectionsPerToken())),
  /** {@link ServerConfig#maxPreauthConnectionsPerAddress()}. */
  NET_PREAUTH_CONNECTIONS_PER_ADDRESS("net.preauth.connections.per.address",
      Values.integerForm(1, 1 << 20),
      "Most connections one remote address may hold before completing HELLO; a new one closes"
          + " that address's oldest unauthenticated connection.",
      (b, v) -> b.maxPreauthConnectionsPerAddress(Values.parseInt(v, 1, 1 << 20)),
      c -> Integer.toString(c.maxPreauthConnectionsPerAddress())),
  /** {@link ServerConfig#handshakeTimeoutSeconds()}. */
  HANDSHAKE_TIMEOUT_SECONDS("handshake.timeout.seconds", Values.integerForm(1, 3_600),
      "How long a new connection may take to complete its HELLO before it is closed.",
      (b, v) -> b.handshakeTimeoutSeconds(Values.parseInt(v, 1, 3_600)),
      c -> Integer.toString(c.handshakeTimeoutSeconds())),
  /** {@link ServerConfig#shutdownGraceSeconds()}. */
  SHUTDOWN_GRACE_SECONDS("shutdown.grace.seconds", Values.integerForm(0, 86_400),
      "On SIGTERM or Ctrl-C, how long to wait for in-flight requests before closing connections.",
      (b, v) -> b.shutdownGraceSeconds(Values.parseInt(v, 0, 86_400)),
      c -> Integer.toString(c.shutdownGraceSeconds())),
  /** {@link ServerConfig#shutdownFlush()}. */
  SHUTDOWN_FLUSH("shutdown.flush", Values.BOOLEAN_FORM,
      "Whether a graceful stop writes the dirty memory pages (put, not yet on SSD) to the SSD tier"
          + " before exiting, so a restart finds them.",
      (b, v) -> b.shutdownFlush(Values.parseBoolean(v)), c -> Boolean.toString(c.shutdownFlush())),
  /** {@link ServerConfig#shutdownFlushGraceSeconds()}. */
  SHUTDOWN_FLUSH_GRACE_SECONDS("shutdown.flush.grace.seconds", Values.integerForm(0, 86_400),
      "After the network grace, how long closing the store may take (calls in progress, then the"
          + " flush of dirty pages); pages not written by then are lost and counted in the log.",
      (b, v) -> b.shutdownFlushGraceSeconds(Values.parseInt(v, 0, 86_400)),
      c -> Integer.toString(c.shutdownFlushGraceSeconds())),
  /** {@link ServerConfig#writeBackThreads()}. */
  WRITEBACK_THREADS("writeback.threads", Values.integerForm(1, 256),
      "Background threads writing dirty pages evicted from memory to the SSD tier.",
      (b, v) -> b.writeBackThreads(Values.parseInt(v, 1, 256)),
      c -> Integer.toString(c.writeBackThreads())),
  /** {@link ServerConfig#writeBackQueueBytes()}. */
  WRITEBACK_QUEUE_BYTES("writeback.queue.bytes", Values.sizeForm(1, Integer.MAX_VALUE),
      "Off-heap bytes of the write-back queue (direct memory, allocated at start) where dirty"
          + " pages evicted from memory wait for the writers.",
      (b, v) -> b.writeBackQueueBytes(Values.parseBytes(v, 1, Integer.MAX_VALUE)),
      c -> Sizes.format(c.writeBackQueueBytes())),
  /** {@link ServerConfig#writeBackMaxWaitMillis()}. */
  WRITEBACK_MAX_WAIT_MILLIS("writeback.max.wait.millis", Values.integerForm(0, 60_000),
      "Longest wait of a PUT for room in a full write-back queue; then evicted dirty pages that"
          + " find no room are dropped and counted. 0 drops at once.",
      (b, v) -> b.writeBackMaxWaitMillis(Values.parseInt(v, 0, 60_000)),
      c -> Long.toString(c.writeBackMaxWaitMillis())),
  /** {@link ServerConfig#degradedRetryMinMillis()}. */
  SSD_DEGRADED_RETRY_MIN_MILLIS("ssd.degraded.retry.min.millis", Values.integerForm(1, 3_600_000),
      "First retry of a degraded SSD tier (a write failed: full disk, I/O error), doubling up to"
          + " ssd.degraded.retry.max.millis.",
      (b, v) -> b.degradedRetryMinMillis(Values.parseInt(v, 1, 3_600_000)),
      c -> Long.toString(c.degradedRetryMinMillis())),
  /** {@link ServerConfig#degradedRetryMaxMillis()}. */
  SSD_DEGRADED_RETRY_MAX_MILLIS("ssd.degraded.retry.max.millis", Values.integerForm(1, 3_600_000),
      "Longest interval between retries of a degraded SSD tier.",
      (b, v) -> b.degradedRetryMaxMillis(Values.parseInt(v, 1, 3_600_000)),
      c -> Long.toString(c.degradedRetryMaxMillis())),
  /** {@link ServerConfig#memoryShards()}. */
  MEMORY_SHARDS("memory.shards", ServerConfig.MEMORY_SHARDS_FORM,
      "Shards of the hot and DRAM tiers, each with its own lock: 0 for twice the processors, or a"
          + " power of two; a tier too small for several slabs per shard gets fewer.",
      (b, v) -> b.memoryShards(ServerConfig.parseMemoryShards(v)),
      c -> c.memoryShards() == 0 ? "0 (auto)" : Integer.toString(c.memoryShards())),
  /** {@link ServerConfig#memoryPrefault()}. */
  MEMORY_PREFAULT("memory.prefault", Values.BOOLEAN_FORM,
      "Whether the hot and DRAM tiers allocate (and touch) all their memory in the background from"
          + " the start, instead of one slab ahead of need: puts never wait for new memory once"
          + " done, and a host without the memory fails soon after start, not under load.",
      (b, v) -> b.memoryPrefault(Values.parseBoolean(v)),
      c -> Boolean.toString(c.memoryPrefault())),
  /** {@link ServerConfig#cluster()}. */
  CLUSTER("cluster", ServerConfig.CLUSTER_FORM,
      "Cluster membership (docs/cluster.md): off; etcd://host:port[,host:port]/NAME[?ttl=S&zone=Z"
          + "&advertise=host:port] registers this daemon in etcd with a lease; static://host:port,..."
          + " only checks the address (the SDK holds static lists).",
      (b, v) -> b.cluster(ServerConfig.parseCluster(v)), ServerConfig::cluster);

  private final String fileKey;
  private final String expectedForm;
  private final String description;
  private final BiConsumer<ServerConfigBuilder, String> parser;
  private final Function<ServerConfig, String> renderer;

  ConfigKey(String fileKey, String expectedForm, String description,
      BiConsumer<ServerConfigBuilder, String> parser, Function<ServerConfig, String> renderer) {
    this.fileKey = fileKey;
    this.expectedForm = expectedForm;
    this.description = description;
    this.parser = parser;
    this.renderer = renderer;
  }

  /** The key in the configuration file, e.g. {@code dram.bytes}. */
  public String fileKey() {
    return fileKey;
  }

  /** The environment variable, e.g. {@code KVSTORE_DRAM_BYTES}. */
  public String envVar() {
    return ServerConfigLoader.ENV_PREFIX + fileKey.toUpperCase(Locale.ROOT).replace('.', '_');
  }

  /** The command-line flag, e.g. {@code --dram-bytes}. */
  public String flag() {
    return "--" + fileKey.replace('.', '-');
  }

  /** What a valid value looks like, for help and error messages. */
  public String expectedForm() {
    return expectedForm;
  }

  /** One or two sentences for help and docs. */
  public String description() {
    return description;
  }

  /**
   * The built-in default, rendered as {@link #render} does except that the data directory stays
   * relative (it resolves against whatever directory the daemon starts in).
   */
  public String defaultValue() {
    return this == DATA_DIR ? ServerConfig.DATA_DIR_DEFAULT.toString() : render(ServerConfig.defaults());
  }

  /**
   * Renders this setting's value for people: sizes in binary units, the data directory absolute.
   *
   * @param config the configuration to read
   * @return the value as text
   */
  public String render(ServerConfig config) {
    return renderer.apply(config);
  }

  /**
   * Parses a raw value and sets it on a builder.
   *
   * @throws IllegalArgumentException saying what was expected
   */
  void apply(ServerConfigBuilder builder, String raw) {
    parser.accept(builder, raw);
  }

  /** {@code auto} and {@code data} as they are; anything else a path, made absolute. */
  private static String parseIndexDir(String raw) {
    String v = raw.strip();
    if (v.equals("auto") || v.equals("data")) {
      return v;
    }
    return Values.parsePath(v).toAbsolutePath().normalize().toString();
  }

  /**
   * Finds a key by its file spelling.
   *
   * @param fileKey e.g. {@code dram.bytes}
   * @return the key, or null if there is none
   */
  public static ConfigKey ofFileKey(String fileKey) {
    for (ConfigKey k : values()) {
      if (k.fileKey.equals(fileKey)) {
        return k;
      }
    }
    return null;
  }
}
