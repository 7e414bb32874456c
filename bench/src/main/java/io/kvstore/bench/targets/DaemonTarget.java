package io.kvstore.bench.targets;

import io.kvstore.client.GetResult;
import io.kvstore.client.KvStoreClient;
import io.kvstore.client.KvStoreException;
import io.kvstore.client.PageViews;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The kvstore daemon, through the SDK ({@link KvStoreClient}) over TCP, or through shared memory
 * ({@link #withSharedMemory}): one client with one connection per session, bound to the run's namespace. A fetch is one {@code GET} with {@code prefixOnly} (the
 * daemon stops at the first miss: the lookup and the get in one round trip, as the SDK's token-level
 * {@code fetch} does); a put is one {@code PUT} of the batch. Per-tier counters come from STATS.
 *
 * <p>Either connects to a running daemon ({@link #connect}) or forks {@code bin/kvstore-server} on a
 * free port with a temp data directory ({@link #start}) and stops it with SIGTERM on close.
 */
public final class DaemonTarget implements Target {

  /**
   * A session's request timeout unless {@code --request-timeout} says otherwise: generous, so that
   * a loaded host shows up as latency, not errors.
   */
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(60);
  /** How long a forked daemon may take to answer, including the first build of bin/kvstore-server. */
  private static final long START_TIMEOUT_SECONDS = 600;

  private final String host;
  private final int port;
  private final String token;
  private final long namespaceId;
  private final ExternalProcess daemon;
  private final Path tempDir;
  private final KvStoreClient statsClient;
  /** Sessions move page bytes through shared memory (spec/4) rather than TCP. */
  private final boolean sharedMemory;
  private final Duration requestTimeout;
  private volatile boolean closed;

  private DaemonTarget(String host, int port, String token, long namespaceId,
      ExternalProcess daemon, Path tempDir, boolean sharedMemory, Duration requestTimeout)
      throws IOException {
    this.sharedMemory = sharedMemory;
    this.requestTimeout = requestTimeout;
    this.host = host;
    this.port = port;
    this.token = token;
    this.namespaceId = namespaceId;
    this.daemon = daemon;
    this.tempDir = tempDir;
    this.statsClient = client(host, port, token, namespaceId, false, requestTimeout);
  }

  /**
   * The same daemon, with sessions that move page bytes through shared memory (the SDK's default on
   * the same host); this target's own sessions stay on TCP. The returned target does not own the
   * daemon: closing it closes only its STATS connection.
   */
  public DaemonTarget withSharedMemory() throws IOException {
    return new DaemonTarget(host, port, token, namespaceId, null, null, true, requestTimeout);
  }

  /**
   * Connects to a running daemon.
   *
   * @param token the auth token ("" when the daemon's auth is off)
   * @param namespaceId the namespace the sessions bind to
   * @throws IOException if it cannot be reached or refuses the handshake
   */
  public static DaemonTarget connect(String host, int port, String token, long namespaceId)
      throws IOException {
    return connect(host, port, token, namespaceId, DEFAULT_REQUEST_TIMEOUT);
  }

  /** {@link #connect(String, int, String, long)} with sessions whose calls time out after {@code requestTimeout}. */
  public static DaemonTarget connect(String host, int port, String token, long namespaceId,
      Duration requestTimeout) throws IOException {
    return new DaemonTarget(host, port, token, namespaceId, null, null, false, requestTimeout);
  }

  /**
   * Forks {@code serverScript} ({@code bin/kvstore-server}) on loopback port 0, metrics off,
   * with a temp data directory (deleted on close) and the given flags after the port and data dir
   * (e.g. {@code --dram-bytes 4GiB}), reads the port it bound from its log, and waits until it
   * answers a PING there.
   *
   * @throws IOException if the script is missing, or the daemon exits or does not answer in time
   */
  public static DaemonTarget start(Path serverScript, List<String> flags, long namespaceId)
      throws IOException {
    return start(serverScript, flags, namespaceId, DEFAULT_REQUEST_TIMEOUT);
  }

  /** {@link #start(Path, List, long)} with sessions whose calls time out after {@code requestTimeout}. */
  public static DaemonTarget start(Path serverScript, List<String> flags, long namespaceId,
      Duration requestTimeout) throws IOException {
    if (!Files.isExecutable(serverScript)) {
      throw new IOException("cannot run the daemon: " + serverScript + " is not an executable"
          + " (use --server-script, or --connect HOST:PORT to use a running daemon)");
    }
    Path dir = TempDirs.create("kvbench-daemon-");
    try {
      Forked f = fork("kvstore-server", serverScript, flags, dir, namespaceId);
      return new DaemonTarget("127.0.0.1", f.port(), "", namespaceId, f.process(), dir, false,
          requestTimeout);
    } catch (IOException | RuntimeException e) {
      TempDirs.deleteRecursively(dir);
      throw e;
    }
  }

  /** A daemon forked by {@link #fork}: its process and the port it bound. */
  record Forked(ExternalProcess process, int port) {}

  /**
   * Forks {@code serverScript} in {@code dir} (data in {@code dir/data}, log in {@code
   * dir/daemon.log}) on loopback port 0, metrics off, with {@code flags} after those, and waits
   * until the port it logs answers a PING for {@code namespaceId}. Port 0 because a port found
   * free beforehand can be taken by another process before the daemon binds it ({@link
   * DaemonLog}); the daemon, its cluster members and the crash test all start this way.
   *
   * @throws IOException if the daemon exits or does not answer in time (then it is stopped)
   */
  static Forked fork(String what, Path serverScript, List<String> flags, Path dir,
      long namespaceId) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(serverScript.toAbsolutePath().toString(),
        "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0",
        "--data-dir", dir.resolve("data").toString()));
    cmd.addAll(flags);
    Path log = dir.resolve("daemon.log");
    int[] port = {-1};
    ExternalProcess p = ExternalProcess.start(what, cmd, dir, DaemonLog::keepServingLine, log,
        () -> {
          if (port[0] < 0) {
            try {
              port[0] = DaemonLog.servingPort(log, 0);
            } catch (IOException e) {
              return false;
            }
          }
          return port[0] > 0 && answers("127.0.0.1", port[0], namespaceId);
        },
        START_TIMEOUT_SECONDS);
    return new Forked(p, port[0]);
  }

  /**
   * Finds {@code bin/kvstore-server} in the working directory or one of its parents (the
   * repository root when kvbench runs from a checkout), or null.
   */
  public static Path findServerScript() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path script = dir.resolve("bin").resolve("kvstore-server");
      if (Files.isExecutable(script)) {
        return script;
      }
    }
    return null;
  }

  private static boolean answers(String host, int port, long namespaceId) {
    try (KvStoreClient c = KvStoreClient.builder().address(host, port).namespaceId(namespaceId)
        .connections(1).ioThreads(1).connectTimeout(Duration.ofSeconds(1)).build()) {
      c.ping();
      return true;
    } catch (KvStoreException e) {
      return false;
    }
  }

  private static KvStoreClient client(String host, int port, String token, long namespaceId,
      boolean sharedMemory, Duration requestTimeout) throws IOException {
    try {
      return KvStoreClient.builder()
          .address(host, port)
          .namespaceId(namespaceId)
          .authToken(token)
          .connections(1)
          .ioThreads(1)
          .sharedMemory(sharedMemory)
          .requestTimeout(requestTimeout)
          .build();
    } catch (KvStoreException e) {
      throw new IOException(
          "cannot connect to the kvstore daemon at " + host + ":" + port + ": " + e.getMessage(), e);
    }
  }

  /** The daemon's port. */
  public int port() {
    return port;
  }

  @Override
  public String name() {
    return sharedMemory ? "kvstore-daemon-shm" : "kvstore-daemon";
  }

  @Override
  public Session openSession() throws IOException {
    return new DaemonSession(client(host, port, token, namespaceId, sharedMemory, requestTimeout),
        sharedMemory);
  }

  @Override
  public TierCounters counters() throws IOException {
    try {
      return DaemonStats.parse(statsClient.stats());
    } catch (KvStoreException e) {
      throw new IOException("STATS failed: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      statsClient.close();
    } finally {
      if (daemon != null) {
        daemon.close();
      }
      TempDirs.deleteRecursively(tempDir);
    }
  }

  /**
   * A session of one client. Through shared memory it also fetches in place: {@link
   * KvStoreClient#getViews} lends each page where the daemon copied it into the region (checked
   * in place by the SDK, no copy into the caller's buffer), and {@link #releaseFetched} closes the
   * views, giving the region's leases back.
   */
  private static final class DaemonSession implements Session {
    private final KvStoreClient client;
    private final boolean inPlace;
    private PageViews lent;

    DaemonSession(KvStoreClient client, boolean inPlace) {
      this.client = client;
      this.inPlace = inPlace;
    }

    @Override
    public boolean fetchesInPlace() {
      return inPlace;
    }

    @Override
    public int fetchPrefixInPlace(long[] keys, int count, ByteBuffer[] views, int pageLength)
        throws IOException {
      if (!inPlace) {
        throw new UnsupportedOperationException("page views are measured through shared memory");
      }
      releaseFetched();
      long[] k = keys.length == 2 * count ? keys : Arrays.copyOf(keys, 2 * count);
      try {
        lent = client.getViews(k, true);
        int run = lent.leadingRun();
        for (int i = 0; i < run; i++) {
          views[i] = lent.page(i);
        }
        return run;
      } catch (KvStoreException e) {
        throw new IOException("GET failed: " + e.getMessage(), e);
      }
    }

    @Override
    public void releaseFetched() {
      if (lent != null) {
        lent.close();
        lent = null;
      }
    }

    @Override
    public int fetchPrefix(long[] keys, int count, ByteBuffer[] dsts) throws IOException {
      long[] k = keys.length == 2 * count ? keys : Arrays.copyOf(keys, 2 * count);
      ByteBuffer[] d = dsts.length == count ? dsts : Arrays.copyOf(dsts, count);
      for (ByteBuffer b : d) {
        b.clear();
      }
      try {
        GetResult r = client.get(k, d, true);
        int run = r.leadingRun();
        for (int i = 0; i < run; i++) {
          d[i].limit(r.length(i));
        }
        return run;
      } catch (KvStoreException e) {
        throw new IOException("GET failed: " + e.getMessage(), e);
      }
    }

    @Override
    public int put(ByteBuffer[] pages, int count) throws IOException {
      try {
        return client.put(pages.length == count ? pages : Arrays.copyOf(pages, count)).stored();
      } catch (KvStoreException e) {
        throw new IOException("PUT failed: " + e.getMessage(), e);
      }
    }

    @Override
    public void close() {
      releaseFetched();
      client.close();
    }
  }
}
