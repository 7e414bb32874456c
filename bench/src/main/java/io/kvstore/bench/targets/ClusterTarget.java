package io.kvstore.bench.targets;

import io.kvstore.client.KvStoreClient;
import io.kvstore.client.KvStoreException;
import io.kvstore.client.cluster.ClusterClient;
import io.kvstore.client.cluster.ClusterStats;
import io.kvstore.common.PageFormat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Many daemons as one store, through the SDK's {@link ClusterClient} (docs/cluster.md): either a
 * running cluster ({@code --cluster static://...} or {@code etcd://...}) or N daemons forked here
 * on free ports ({@code --start-cluster N}, a static list). A request's pages are placed by their
 * position in its chain (runs of K blocks, spec/5); the compare command's unchained keys are placed
 * one by one. Optionally SIGKILLs one forked member during the run, to measure what a node loss
 * costs. Per-tier counters are summed over forked members; per-member requests and failovers are
 * printed when the target closes.
 */
public final class ClusterTarget implements Target {

  private final ClusterClient client;
  private final List<ExternalProcess> daemons;
  private final List<Integer> ports;
  private final List<Path> tempDirs;
  private final long namespaceId;
  private final ScheduledExecutorService killer;
  /** Blocks asked and blocks fetched, before [0] and after [1] the member kill. */
  private final java.util.concurrent.atomic.LongAdder[] asked = {new java.util.concurrent.atomic.LongAdder(),
    new java.util.concurrent.atomic.LongAdder()};
  private final java.util.concurrent.atomic.LongAdder[] fetched = {new java.util.concurrent.atomic.LongAdder(),
    new java.util.concurrent.atomic.LongAdder()};
  private volatile int phase;
  private volatile boolean closed;

  private ClusterTarget(ClusterClient client, List<ExternalProcess> daemons, List<Integer> ports,
      List<Path> tempDirs, long namespaceId, double killAfterSeconds) {
    this.client = client;
    this.daemons = daemons;
    this.ports = ports;
    this.tempDirs = tempDirs;
    this.namespaceId = namespaceId;
    if (killAfterSeconds > 0 && !daemons.isEmpty()) {
      killer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "kvbench-member-killer");
        t.setDaemon(true);
        return t;
      });
      killer.schedule(() -> {
        System.err.printf("kvbench: SIGKILL of cluster member 127.0.0.1:%d after %.1f s%n",
            ports.get(0), killAfterSeconds);
        daemons.get(0).kill();
        phase = 1;
      }, (long) (killAfterSeconds * 1000), TimeUnit.MILLISECONDS);
    } else {
      killer = null;
    }
  }

  /**
   * Connects to a running cluster.
   *
   * @throws IOException if the address is malformed
   */
  public static ClusterTarget connect(String uri, String token, long namespaceId, int blocksPerRun,
      int replicas) throws IOException {
    return connect(uri, token, namespaceId, blocksPerRun, replicas,
        DaemonTarget.DEFAULT_REQUEST_TIMEOUT);
  }

  /** {@link #connect(String, String, long, int, int)} with calls that time out after {@code requestTimeout}. */
  public static ClusterTarget connect(String uri, String token, long namespaceId, int blocksPerRun,
      int replicas, Duration requestTimeout) throws IOException {
    return new ClusterTarget(client(uri, token, namespaceId, blocksPerRun, replicas,
        requestTimeout), List.of(), List.of(), List.of(), namespaceId, 0);
  }

  /**
   * Forks {@code members} daemons ({@code serverScript} with {@code flags}) on loopback port 0
   * (each one's port read from its log, as {@link DaemonTarget#start} does) with temp data
   * directories, and a client over them as a static cluster.
   *
   * @param killAfterSeconds SIGKILL the first member this long after the start (0: never)
   * @throws IOException if a daemon does not start
   */
  public static ClusterTarget start(Path serverScript, int members, List<String> flags, long namespaceId,
      int blocksPerRun, int replicas, double killAfterSeconds) throws IOException {
    return start(serverScript, members, flags, namespaceId, blocksPerRun, replicas,
        killAfterSeconds, DaemonTarget.DEFAULT_REQUEST_TIMEOUT);
  }

  /** {@link #start(Path, int, List, long, int, int, double)} with calls that time out after {@code requestTimeout}. */
  public static ClusterTarget start(Path serverScript, int members, List<String> flags,
      long namespaceId, int blocksPerRun, int replicas, double killAfterSeconds,
      Duration requestTimeout) throws IOException {
    if (!Files.isExecutable(serverScript)) {
      throw new IOException("cannot run the daemons: " + serverScript + " is not an executable");
    }
    List<ExternalProcess> daemons = new ArrayList<>();
    List<Integer> ports = new ArrayList<>();
    List<Path> dirs = new ArrayList<>();
    try {
      for (int i = 0; i < members; i++) {
        Path dir = TempDirs.create("kvbench-cluster-");
        dirs.add(dir);
        DaemonTarget.Forked f = DaemonTarget.fork("kvstore-server " + (i + 1) + "/" + members,
            serverScript, flags, dir, namespaceId);
        daemons.add(f.process());
        ports.add(f.port());
      }
      StringBuilder uri = new StringBuilder("static://");
      for (int i = 0; i < ports.size(); i++) {
        uri.append(i == 0 ? "" : ",").append("127.0.0.1:").append(ports.get(i));
      }
      return new ClusterTarget(client(uri.toString(), "", namespaceId, blocksPerRun, replicas,
          requestTimeout), daemons, ports, dirs, namespaceId, killAfterSeconds);
    } catch (IOException | RuntimeException e) {
      daemons.forEach(ExternalProcess::close);
      dirs.forEach(TempDirs::deleteRecursively);
      throw e;
    }
  }

  private static ClusterClient client(String uri, String token, long namespaceId, int blocksPerRun,
      int replicas, Duration requestTimeout) throws IOException {
    try {
      return ClusterClient.builder()
          .cluster(uri)
          .namespaceId(namespaceId)
          .blocksPerRun(blocksPerRun)
          .replicas(replicas)
          .memberClient(b -> b.authToken(token).requestTimeout(requestTimeout).connections(4))
          .build();
    } catch (IllegalArgumentException | KvStoreException e) {
      throw new IOException("cannot open the cluster " + uri + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String name() {
    return "kvstore-cluster";
  }

  @Override
  public Session openSession() {
    return new ClusterSession();
  }

  /** Per-tier counters summed over the members forked here; none for a cluster connected to. */
  @Override
  public TierCounters counters() throws IOException {
    if (ports.isEmpty()) {
      return TierCounters.NONE;
    }
    Map<String, long[]> sums = new TreeMap<>();
    List<String> order = new ArrayList<>();
    for (int i = 0; i < ports.size(); i++) {
      if (!daemons.get(i).isAlive()) {
        continue;
      }
      try (KvStoreClient c = KvStoreClient.builder().address("127.0.0.1", ports.get(i))
          .namespaceId(namespaceId).connections(1).ioThreads(1).build()) {
        for (TierCounters.Tier t : DaemonStats.parse(c.stats()).tiers()) {
          if (!order.contains(t.name())) {
            order.add(t.name());
          }
          long[] s = sums.computeIfAbsent(t.name(), k -> new long[3]);
          s[0] += t.hits();
          s[1] += t.promotions();
          s[2] += t.demotions();
        }
      } catch (KvStoreException e) {
        // a member killed a moment ago: its counters are gone with it
      }
    }
    List<TierCounters.Tier> tiers = new ArrayList<>();
    for (String name : order) {
      long[] s = sums.get(name);
      tiers.add(new TierCounters.Tier(name, s[0], s[1], s[2]));
    }
    return new TierCounters(tiers);
  }

  /** The cluster client's counters (membership, per-member requests, failovers). */
  public ClusterStats stats() {
    return client.stats();
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (killer != null) {
      killer.shutdownNow();
    }
    System.err.println("kvbench: cluster " + client.stats());
    for (int p = 0; p <= phase; p++) {
      long a = asked[p].sum();
      System.err.printf("kvbench: cluster fetch %s: %d of %d blocks asked were fetched (%.4f)%n",
          killer == null ? "over the run" : p == 0 ? "before the kill" : "after the kill",
          fetched[p].sum(), a, a == 0 ? 0.0 : (double) fetched[p].sum() / a);
    }
    try {
      client.close();
    } finally {
      daemons.forEach(ExternalProcess::close);
      tempDirs.forEach(TempDirs::deleteRecursively);
    }
  }

  /** A worker's view: the shared cluster client (thread-safe); nothing of its own to close. */
  private final class ClusterSession implements Session {

    @Override
    public int fetchPrefix(long[] keys, int count, ByteBuffer[] dsts) throws IOException {
      long[] k = keys.length == 2 * count ? keys : Arrays.copyOf(keys, 2 * count);
      clear(dsts, count);
      return limits(dsts, count, await(client.getEachAsync(k, dsts)));
    }

    @Override
    public int fetchPrefix(long[] chain, int firstBlock, long[] keys, int count, ByteBuffer[] dsts)
        throws IOException {
      clear(dsts, count);
      return limits(dsts, count, await(client.fetchChainAsync(chain, firstBlock, count, dsts)));
    }

    @Override
    public int put(ByteBuffer[] pages, int count) throws IOException {
      return await(client.putEachAsync(pages.length == count ? pages : Arrays.copyOf(pages, count)));
    }

    @Override
    public int put(long[] chain, int firstBlock, ByteBuffer[] pages, int count) throws IOException {
      return await(client.putChainAsync(chain, firstBlock,
          pages.length == count ? pages : Arrays.copyOf(pages, count)));
    }

    private void clear(ByteBuffer[] dsts, int count) {
      for (int i = 0; i < count; i++) {
        dsts[i].clear();
      }
    }

    /**
     * The cluster client reports runs, not lengths: each page's length comes from its header
     * (already CRC-checked by the SDK), capped by the buffer.
     */
    private int limits(ByteBuffer[] dsts, int count, int run) {
      int p = phase;
      asked[p].add(count);
      fetched[p].add(run);
      for (int i = 0; i < run; i++) {
        int length = PageFormat.pageLength(PageFormat.payloadLength(dsts[i], 0));
        dsts[i].limit(Math.min(dsts[i].capacity(), Math.max(PageFormat.HEADER_LENGTH, length)));
      }
      return run;
    }

    private int await(java.util.concurrent.CompletableFuture<Integer> f) throws IOException {
      try {
        return f.get();
      } catch (ExecutionException e) {
        throw new IOException("cluster request failed: " + e.getCause(), e.getCause());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      }
    }

    @Override
    public void close() {
      // the client belongs to the target
    }
  }
}
