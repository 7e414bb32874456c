package io.kvstore.bench.targets;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.IntSupplier;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisException;

/**
 * A Redis server as the baseline: the same page bytes stored under the page's 16-byte key (hi then
 * lo, big-endian). One Jedis connection per session. A fetch of one key is {@code GET}, of more
 * {@code MGET} (the leading run of non-nil answers is the hit: one round trip, the lookup included);
 * a put of one page is {@code SET}, of more {@code MSET}.
 *
 * <p>Jedis takes and returns {@code byte[]}: a put copies each page into a per-session array and a
 * fetch copies each answer into the destination buffer. That copy is part of what using Redis from
 * an engine costs, and is measured.
 *
 * <p>Either connects to a running server ({@link #connect}) or starts {@code redis-server} on a free
 * port with persistence off ({@link #start}) and stops it on close. The per-tier counters are one
 * tier, {@code redis}, whose hits are the server's {@code keyspace_hits}: MGET looks up every key,
 * so keys found after the first miss count there too (the run still ends at the first miss).
 */
public final class RedisTarget implements Target {

  /** Default socket timeout: long enough for an MSET of 32 pages of 2 MiB on a loaded host. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

  private final String host;
  private final int port;
  private final ExternalProcess server;
  private final Path tempDir;
  private final Jedis statsConnection;
  /** Socket timeout of every connection, in milliseconds. */
  private final int timeoutMillis;
  private volatile boolean closed;

  private RedisTarget(String host, int port, ExternalProcess server, Path tempDir,
      Duration timeout) {
    this.timeoutMillis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    this.host = host;
    this.port = port;
    this.server = server;
    this.tempDir = tempDir;
    this.statsConnection = new Jedis(host, port, timeoutMillis);
  }

  /**
   * Connects to a running Redis server.
   *
   * @throws IOException if it does not answer PING
   */
  public static RedisTarget connect(String host, int port) throws IOException {
    return connect(host, port, DEFAULT_TIMEOUT);
  }

  /** {@link #connect(String, int)} with sessions whose calls time out after {@code timeout}. */
  public static RedisTarget connect(String host, int port, Duration timeout) throws IOException {
    if (!pings(host, port)) {
      throw new IOException("no Redis server answers at " + host + ":" + port);
    }
    return new RedisTarget(host, port, null, null, timeout);
  }

  /** Whether {@code redis-server} is on the PATH, so that {@link #start} can work. */
  public static boolean serverAvailable() {
    return ExternalProcess.onPath("redis-server") != null;
  }

  /**
   * Starts {@code redis-server} on a free loopback port, without persistence ({@code --save ''
   * --appendonly no}), in a temp directory deleted on close.
   *
   * <p>Redis cannot report a port it chose itself ({@code --port 0} turns TCP off), so a port is
   * found free first; another process may take it before Redis binds it. So the server that
   * answers must be the one started: its {@code INFO server} {@code process_id} is checked against
   * the child's pid, and a start that lost its port (Redis exits, or another server answers) is
   * tried again on another port, up to {@value #START_ATTEMPTS} times.
   *
   * @throws IOException if {@code redis-server} is not on the PATH or does not start
   */
  public static RedisTarget start() throws IOException {
    return start(DEFAULT_TIMEOUT);
  }

  /** {@link #start()} with sessions whose calls time out after {@code timeout}. */
  public static RedisTarget start(Duration timeout) throws IOException {
    return start(ExternalProcess::freePort, timeout);
  }

  /** {@link #start()}, each attempt on the port {@code ports} gives (tests choose it). */
  static RedisTarget start(IntSupplier ports) throws IOException {
    return start(ports, DEFAULT_TIMEOUT);
  }

  private static RedisTarget start(IntSupplier ports, Duration timeout) throws IOException {
    Path exe = ExternalProcess.onPath("redis-server");
    if (exe == null) {
      throw new IOException("redis-server is not on the PATH: install it (apt-get install"
          + " redis-server) or point at a running server with --redis HOST:PORT");
    }
    IOException last = null;
    for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
      int port = ports.getAsInt();
      Path dir = TempDirs.create("kvbench-redis-");
      ExternalProcess p = null;
      try {
        p = ExternalProcess.start("redis-server",
            List.of(exe.toString(), "--port", Integer.toString(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", dir.toString()),
            dir, dir.resolve("redis.log"), () -> pings("127.0.0.1", port), 30);
        long answering = processId("127.0.0.1", port);
        if (answering == p.pid()) {
          return new RedisTarget("127.0.0.1", port, p, dir, timeout);
        }
        last = new IOException("port " + port + " is answered by another Redis server (pid "
            + answering + "), not the one started (pid " + p.pid() + ")");
      } catch (IOException e) {
        last = e;
      } catch (RuntimeException e) {
        if (p != null) {
          p.close();
        }
        TempDirs.deleteRecursively(dir);
        throw e;
      }
      if (p != null) {
        p.close();
      }
      TempDirs.deleteRecursively(dir);
    }
    throw new IOException("redis-server did not start on a port of its own in " + START_ATTEMPTS
        + " attempts", last);
  }

  /** Starts tried by {@link #start} before it gives up. */
  private static final int START_ATTEMPTS = 5;

  /** The {@code process_id} of the Redis server answering at {@code host:port}, or -1. */
  static long processId(String host, int port) {
    try (Jedis j = new Jedis(host, port, 1_000)) {
      return infoField(j.info("server"), "process_id");
    } catch (JedisException | IllegalArgumentException e) {
      return -1;
    }
  }

  private static boolean pings(String host, int port) {
    try (Jedis j = new Jedis(host, port, 1_000)) {
      return "PONG".equals(j.ping());
    } catch (JedisException e) {
      return false;
    }
  }

  /** The server's port. */
  public int port() {
    return port;
  }

  @Override
  public String name() {
    return "redis";
  }

  @Override
  public Session openSession() throws IOException {
    try {
      return new RedisSession(new Jedis(host, port, timeoutMillis));
    } catch (JedisException e) {
      throw new IOException("cannot connect to Redis at " + host + ":" + port + ": " + e.getMessage(), e);
    }
  }

  @Override
  public synchronized TierCounters counters() throws IOException {
    try {
      String info = statsConnection.info("stats");
      return new TierCounters(List.of(new TierCounters.Tier("redis", infoField(info, "keyspace_hits"), 0, 0)));
    } catch (JedisException e) {
      throw new IOException("Redis INFO failed: " + e.getMessage(), e);
    }
  }

  /** The value of {@code field:value} in the text of Redis's INFO. */
  static long infoField(String info, String field) {
    for (String line : info.split("\r?\n")) {
      if (line.startsWith(field + ":")) {
        return Long.parseLong(line.substring(field.length() + 1).trim());
      }
    }
    throw new IllegalArgumentException("Redis INFO has no field " + field);
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      statsConnection.close();
    } finally {
      if (server != null) {
        server.close();
      }
      TempDirs.deleteRecursively(tempDir);
    }
  }

  /** One connection; reusable key and value arrays so only Jedis's answers allocate. */
  private static final class RedisSession implements Session {
    private final Jedis jedis;
    private byte[][] keys = new byte[0][];
    private byte[][] values = new byte[0][];

    RedisSession(Jedis jedis) {
      this.jedis = jedis;
    }

    @Override
    public int fetchPrefix(long[] keyPairs, int count, ByteBuffer[] dsts) throws IOException {
      byte[][] k = keyBytes(keyPairs, count);
      try {
        if (count == 1) {
          byte[] v = jedis.get(k[0]);
          if (v == null) {
            return 0;
          }
          copy(v, dsts[0]);
          return 1;
        }
        List<byte[]> answers = jedis.mget(count == k.length ? k : java.util.Arrays.copyOf(k, count));
        int run = 0;
        while (run < count && answers.get(run) != null) {
          copy(answers.get(run), dsts[run]);
          run++;
        }
        return run;
      } catch (JedisException e) {
        throw new IOException("Redis fetch failed: " + e.getMessage(), e);
      }
    }

    @Override
    public int put(ByteBuffer[] pages, int count) throws IOException {
      if (values.length < 2 * count) {
        values = new byte[2 * count][];
      }
      for (int i = 0; i < count; i++) {
        ByteBuffer p = pages[i];
        byte[] v = values[2 * i + 1];
        if (v == null || v.length != p.remaining()) {
          v = new byte[p.remaining()];
          values[2 * i + 1] = v;
        }
        p.get(p.position(), v);
        byte[] key = values[2 * i] == null ? new byte[16] : values[2 * i];
        // The page header holds the key (little-endian at 8 and 16); Redis gets it big-endian.
        putKey(key, io.kvstore.common.PageFormat.keyHi(p, p.position()),
            io.kvstore.common.PageFormat.keyLo(p, p.position()));
        values[2 * i] = key;
      }
      try {
        if (count == 1) {
          jedis.set(values[0], values[1]);
        } else {
          jedis.mset(values.length == 2 * count ? values : java.util.Arrays.copyOf(values, 2 * count));
        }
        return count;
      } catch (JedisException e) {
        throw new IOException("Redis put failed: " + e.getMessage(), e);
      }
    }

    private byte[][] keyBytes(long[] pairs, int count) {
      if (keys.length < count) {
        byte[][] grown = java.util.Arrays.copyOf(keys, count);
        for (int i = keys.length; i < count; i++) {
          grown[i] = new byte[16];
        }
        keys = grown;
      }
      for (int i = 0; i < count; i++) {
        putKey(keys[i], pairs[2 * i], pairs[2 * i + 1]);
      }
      return keys;
    }

    private static void copy(byte[] v, ByteBuffer dst) {
      dst.clear();
      dst.put(v);
      dst.flip();
    }

    @Override
    public void close() {
      jedis.close();
    }
  }

  /** Writes {@code (hi, lo)} big-endian into {@code key[0, 16)}. */
  static void putKey(byte[] key, long hi, long lo) {
    for (int i = 0; i < 8; i++) {
      key[i] = (byte) (hi >>> (56 - 8 * i));
      key[8 + i] = (byte) (lo >>> (56 - 8 * i));
    }
  }
}
