package io.kvstore.bench.compare;

import io.kvstore.bench.replay.Durations;
import io.kvstore.bench.report.Plots;
import io.kvstore.bench.report.ProgressBar;
import io.kvstore.bench.targets.ByteSize;
import io.kvstore.bench.targets.ClusterTarget;
import io.kvstore.bench.targets.DaemonTarget;
import io.kvstore.bench.targets.EmbeddedTarget;
import io.kvstore.bench.targets.FloorTarget;
import io.kvstore.bench.targets.MemcpyTarget;
import io.kvstore.bench.targets.RawSocketTarget;
import io.kvstore.bench.targets.RedisTarget;
import io.kvstore.bench.targets.SharedMemoryDaemon;
import io.kvstore.bench.targets.Target;
import io.kvstore.client.cluster.ClusterClientBuilder;
import io.kvstore.common.Namespace;
import io.kvstore.common.PageFormat;
import io.kvstore.core.store.TieredStoreBuilder;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code kvbench compare}: the same matrix of GETs and PUTs against the kvstore daemon, a Redis
 * server and a raw loopback socket (the physical baseline), in one table with the daemon issue's
 * goals checked cell by cell.
 */
@Command(
    name = "compare",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the same GET and PUT matrix (page sizes x batch sizes x connections) against the"
          + " kvstore daemon, Redis and a raw loopback socket copy of the same bytes, and prints one"
          + " table with throughput, latency percentiles and the goals (2 MiB pages >= Redis and"
          + " >= 70%% of raw; batched 64 KiB lookup+get >= 1.5x Redis; p99 <= Redis).",
      "By default it starts both servers itself (bin/kvstore-server and redis-server) and stops"
          + " them at the end."
    })
public final class CompareCommand implements Callable<Integer> {

  @Spec private CommandSpec spec;

  @Option(names = "--targets", split = ",", defaultValue = "daemon,daemon-shm,redis,raw,memcpy,memcpy-ws",
      paramLabel = "T",
      description = "Targets, in table order: daemon (over TCP), daemon-shm (the same daemon, page"
          + " bytes through shared memory), embedded, redis, raw (a loopback socket), memcpy (two"
          + " direct buffers in this process, in cache), memcpy-ws (the same from and into a"
          + " working set of --working-set bytes, not in cache), floor (the least any same-host"
          + " path must do per page: a get checks the page in place in such a working set and"
          + " lends it, a put copies it into one and checks the copy), cluster (default:"
          + " ${DEFAULT-VALUE}).")
  private List<String> targets;

  @Option(names = "--cluster", paramLabel = "URI",
      description = "Cluster for the cluster target (static://... or etcd://.../NAME); default: start"
          + " --cluster-members daemons here.")
  private String cluster;

  @Option(names = "--cluster-members", paramLabel = "N", defaultValue = "3",
      description = "Daemons the cluster target starts here (default: ${DEFAULT-VALUE}).")
  private int clusterMembers;

  @Option(names = "--connect", paramLabel = "HOST:PORT",
      description = "Use a running daemon instead of starting one.")
  private String connect;

  @Option(names = "--server-script", paramLabel = "FILE",
      description = "The daemon's launcher (default: bin/kvstore-server in the working directory or a"
          + " parent).")
  private Path serverScript;

  @Option(names = "--token", paramLabel = "TOKEN", defaultValue = "",
      description = "Auth token for the daemon (default: none).")
  private String token;

  @Option(names = "--request-timeout", paramLabel = "TIME", defaultValue = "60s",
      description = "How long one call to the daemon, the cluster or Redis may take before it fails"
          + " (counted as an error of its cell): long enough for a batch of 32 pages of 2 MiB on a"
          + " loaded host (default: ${DEFAULT-VALUE}).")
  private String requestTimeout;

  @Option(names = "--dram-bytes", paramLabel = "SIZE", defaultValue = "2GiB",
      description = "DRAM tier of a daemon or embedded store started here; it must hold the working"
          + " sets (default: ${DEFAULT-VALUE}).")
  private String dramBytes;

  @Option(names = "--redis", paramLabel = "HOST:PORT",
      description = "Use a running Redis server instead of starting redis-server.")
  private String redis;

  @Option(names = "--ops", split = ",", defaultValue = "get,put", paramLabel = "OP",
      description = "Operations: get (lookup+get of a batch), put (default: ${DEFAULT-VALUE}).")
  private List<String> ops;

  @Option(names = "--page-sizes", split = ",", defaultValue = "64KiB,2MiB", paramLabel = "SIZE",
      description = "Payload sizes (default: ${DEFAULT-VALUE}).")
  private List<String> pageSizes;

  @Option(names = "--batches", split = ",", defaultValue = "1,32", paramLabel = "N",
      description = "Keys or pages per call (default: ${DEFAULT-VALUE}).")
  private List<Integer> batches;

  @Option(names = "--connections", split = ",", defaultValue = "1,4", paramLabel = "N",
      description = "Concurrent connections, one thread each (default: ${DEFAULT-VALUE}).")
  private List<Integer> connections;

  @Option(names = "--duration", paramLabel = "TIME", defaultValue = "3s",
      description = "Measured time per cell and target (default: ${DEFAULT-VALUE}).")
  private String duration;

  @Option(names = "--warmup", paramLabel = "TIME", defaultValue = "1s",
      description = "Unmeasured time before it (default: ${DEFAULT-VALUE}).")
  private String warmup;

  @Option(names = "--target-warmup", paramLabel = "TIME", defaultValue = "6s",
      description = "Before the matrix, each target runs every cell of it once, unmeasured, for"
          + " this long in all (at least 100ms a cell): a daemon started by compare has its JIT"
          + " compile its paths then, not during the first measured cells (default:"
          + " ${DEFAULT-VALUE}; 3s with --quick; 0 for none).")
  private String targetWarmup;

  @Option(names = "--rounds", paramLabel = "N", defaultValue = "1",
      description = "Runs the whole matrix N times, every cell on every target in each round, and"
          + " reports each cell and target over all its rounds together: calls and bytes summed"
          + " over the measured windows, percentiles over every call, and the lowest and highest"
          + " round's GB/s beside them. The goals are checked on the totals. On a noisy host a slow"
          + " moment then falls on every target rather than on one (default: ${DEFAULT-VALUE};"
          + " at most 100).")
  private int rounds;

  @Option(names = "--working-set", paramLabel = "SIZE", defaultValue = "256MiB",
      description = "Bytes of distinct pages per page size, cycled through (default: ${DEFAULT-VALUE}).")
  private String workingSet;

  @Option(names = "--quick",
      description = "A short version: 500ms per cell after 200ms of warm-up, 64 MiB working sets.")
  private boolean quick;

  @Option(names = "--out", paramLabel = "DIR",
      description = "Write compare.json, compare.csv, throughput.png and one latency CDF per"
          + " operation and page size here.")
  private Path out;

  @Option(names = "--progress", negatable = true,
      description = "Show a progress bar on stderr (default: when it is a terminal).")
  private Boolean progress;

  @Override
  public Integer call() throws Exception {
    long durationNanos = parse(() -> Durations.parseNanos(quick ? "500ms" : duration));
    long warmupNanos = parse(() -> Durations.parseNanos(quick ? "200ms" : warmup));
    long wsBytes = parse(() -> ByteSize.parse(quick ? "64MiB" : workingSet));
    long targetWarmupNanos = parse(() -> Durations.parseNanos(quick ? "3s" : targetWarmup));
    long dram = parse(() -> ByteSize.parse(dramBytes));
    long timeoutNanos = parse(() -> Durations.parseNanos(requestTimeout));
    if (timeoutNanos < 1_000_000L) {
      throw new ParameterException(spec.commandLine(),
          "--request-timeout must be at least 1ms, got " + requestTimeout);
    }
    Duration timeout = Duration.ofNanos(timeoutNanos);
    List<Cell> cells = new ArrayList<>();
    List<Integer> sizes = new ArrayList<>();
    for (String s : pageSizes) {
      sizes.add(parse(() -> ByteSize.parsePageBytes(s)));
    }
    for (String op : ops) {
      for (int size : sizes) {
        for (int batch : batches) {
          for (int conns : connections) {
            if (conns > 256 || batch > 4096) {
              throw new ParameterException(spec.commandLine(),
                  "at most 256 connections and 4096 keys per batch");
            }
            cells.add(parse(() -> new Cell(op, size, batch, conns)));
          }
        }
      }
    }
    for (String t : targets) {
      if (!List.of("daemon", "daemon-shm", "embedded", "redis", "raw", "memcpy", "memcpy-ws",
          "floor", "cluster").contains(t)) {
        throw new ParameterException(spec.commandLine(), "unknown target '" + t
            + "'; valid targets: daemon, daemon-shm, embedded, redis, raw, memcpy, memcpy-ws,"
            + " floor, cluster");
      }
    }
    if (durationNanos <= 0) {
      throw new ParameterException(spec.commandLine(), "--duration must be > 0");
    }
    if (rounds < 1 || rounds > 100) {
      throw new ParameterException(spec.commandLine(), "--rounds must be 1 to 100, got " + rounds);
    }
    Namespace ns = Namespace.builder().modelId("kvbench/compare").dtype("bfloat16").numLayers(32)
        .numKvHeads(8).headDim(128).blockSize(512).build();
    int maxPageLength = PageFormat.pageLength(sizes.stream().mapToInt(Integer::intValue).max().orElse(1));
    Map<Integer, WorkingSet> sets = new LinkedHashMap<>();
    for (int size : sizes) {
      int pages = (int) Math.max(64, Math.min(1 << 20, wsBytes / PageFormat.pageLength(size)));
      sets.put(size, new WorkingSet(size, pages, ns.id()));
    }
    PrintWriter stdout = spec.commandLine().getOut();
    CompareReport report = new CompareReport(
        "kvbench compare " + String.join(" ", spec.commandLine().getParseResult().originalArgs()));
    // The floor's pages, like the stores', are as many as a working set's (at least 64), and it
    // lends every page of a get until the next: a slot for each page all connections hold at once.
    long floorBytes = FloorTarget.workingSetFor(wsBytes, cells.stream()
        .mapToLong(c -> Math.max(c.connections() * (long) c.batch(), sets.get(c.pageBytes()).count())
            * FloorTarget.slotBytes(PageFormat.pageLength(c.pageBytes())))
        .max().orElse(0));
    Map<String, Target> opened = new LinkedHashMap<>();
    CellRunner runner = new CellRunner(ns.id(), warmupNanos, durationNanos);
    try (ProgressBar bar = new ProgressBar(System.err,
        progress != null ? progress : ProgressBar.stderrIsTerminal(),
        (long) cells.size() * targets.size() * rounds, "runs", System::nanoTime)) {
      for (String t : targets) {
        // daemon-shm shares the daemon of the daemon target when both run (one daemon, two paths).
        opened.put(t, t.equals("daemon-shm") && opened.get("daemon") instanceof DaemonTarget d
            ? d.withSharedMemory()
            : open(t, ns.id(), maxPageLength, dram, wsBytes, floorBytes, timeout));
      }
      Set<String> preloaded = new HashSet<>();
      if (targetWarmupNanos > 0) {
        // Every cell once per target, unmeasured: the daemon (a fresh JVM when compare starts it)
        // and this process's client code are compiled before the first measured cell, so the
        // first cells do not pay the JIT (Redis and memcpy have none to pay). Same working sets
        // and keys as the matrix: puts rewrite its pages, gets read the preloaded ones.
        long perCell = Math.max(100_000_000L, targetWarmupNanos / cells.size());
        CellRunner warm = new CellRunner(ns.id(), 0, perCell);
        for (String t : targets) {
          Target target = opened.get(t);
          bar.update(0, "warming up " + target.name());
          for (Cell cell : cells) {
            WorkingSet ws = sets.get(cell.pageBytes());
            if (cell.op().equals("get") && preloaded.add(t + "/" + cell.pageBytes())) {
              CellRunner.preload(target, ws);
            }
            CellResult r = warm.run(target, cell, ws);
            report.addWarmup(r);
            if (r.errors() > 0 || r.misses() > 0) {
              throw new IOException(target.name() + " had " + r.errors() + " errors and "
                  + r.misses() + " misses warming up on " + cell.name());
            }
          }
        }
      }
      long done = 0;
      for (int round = 1; round <= rounds; round++) {
        String of = rounds > 1 ? " (round " + round + " of " + rounds + ")" : "";
        for (Cell cell : cells) {
          for (String t : targets) {
            Target target = opened.get(t);
            WorkingSet ws = sets.get(cell.pageBytes());
            if (cell.op().equals("get") && preloaded.add(t + "/" + cell.pageBytes())) {
              CellRunner.preload(target, ws);
            }
            report.add(runner.run(target, cell, ws)); // a later round adds to the earlier ones
            bar.update(++done, cell.name() + " " + target.name() + of);
          }
        }
      }
      bar.finish(done, "");
    } finally {
      closeNewestFirst(List.copyOf(opened.values()));
    }
    report.writeTable(stdout);
    if (out != null) {
      write(report, out, stdout);
    }
    stdout.flush();
    boolean bad = report.results().values().stream().flatMap(List::stream)
        .anyMatch(r -> r.errors() > 0 || r.misses() > 0);
    return bad ? 1 : 0;
  }

  /**
   * Closes the targets in the reverse of the order they were opened, each even if an earlier one
   * failed to close (the first failure is thrown, later ones suppressed). {@code daemon-shm} shares
   * the daemon the {@code daemon} target started: closed first, its clients are gone before that
   * daemon stops, instead of logging a reconnect attempt against the stopped daemon at the end of
   * every run.
   */
  static void closeNewestFirst(List<Target> targets) {
    RuntimeException failure = null;
    for (int i = targets.size() - 1; i >= 0; i--) {
      try {
        targets.get(i).close();
      } catch (RuntimeException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  private Target open(String kind, long namespaceId, int maxPageLength, long dram, long wsBytes,
      long floorBytes, Duration timeout) throws IOException {
    switch (kind) {
      case "daemon-shm":
        return new SharedMemoryDaemon((DaemonTarget) open("daemon", namespaceId, maxPageLength, dram,
            wsBytes, floorBytes, timeout));
      case "memcpy":
        return new MemcpyTarget(namespaceId);
      case "memcpy-ws":
        return new MemcpyTarget(namespaceId, wsBytes);
      case "floor":
        return new FloorTarget(namespaceId, floorBytes);
      case "daemon": {
        if (connect != null) {
          String[] hp = hostPort(connect, "--connect");
          return DaemonTarget.connect(hp[0], Integer.parseInt(hp[1]), token, namespaceId, timeout);
        }
        Path script = serverScript != null ? serverScript : DaemonTarget.findServerScript();
        if (script == null) {
          throw new IOException("no bin/kvstore-server in the working directory or its parents;"
              + " run kvbench from the repository, give --server-script, or --connect HOST:PORT");
        }
        // Memory tiers only, as Redis: the DRAM tier holds every working set, nothing goes to SSD.
        return DaemonTarget.start(script, List.of("--dram-bytes", Long.toString(dram),
            "--ssd-bytes", "0", "--max-page-bytes", Integer.toString(maxPageLength)), namespaceId,
            timeout);
      }
      case "cluster": {
        if (cluster != null) {
          return ClusterTarget.connect(cluster, token, namespaceId,
              ClusterClientBuilder.BLOCKS_PER_RUN_DEFAULT, 1, timeout);
        }
        Path script = serverScript != null ? serverScript : DaemonTarget.findServerScript();
        if (script == null) {
          throw new IOException("no bin/kvstore-server in the working directory or its parents;"
              + " run kvbench from the repository, give --server-script, or --cluster URI");
        }
        // As the daemon target: memory tiers only, each member able to hold every working set.
        return ClusterTarget.start(script, clusterMembers, List.of("--dram-bytes", Long.toString(dram),
            "--ssd-bytes", "0", "--max-page-bytes", Integer.toString(maxPageLength)), namespaceId,
            ClusterClientBuilder.BLOCKS_PER_RUN_DEFAULT, 1, 0, timeout);
      }
      case "embedded":
        return EmbeddedTarget.open(null, maxPageLength, TieredStoreBuilder.HOT_BYTES_DEFAULT, dram, 0,
            TieredStoreBuilder.POLICY_DEFAULT);
      case "redis": {
        if (redis != null) {
          String[] hp = hostPort(redis, "--redis");
          return RedisTarget.connect(hp[0], Integer.parseInt(hp[1]), timeout);
        }
        return RedisTarget.start(timeout);
      }
      default:
        return RawSocketTarget.start(namespaceId);
    }
  }

  private String[] hostPort(String value, String option) {
    int colon = value.lastIndexOf(':');
    try {
      int port = Integer.parseInt(value.substring(colon + 1));
      if (colon > 0 && port >= 1 && port <= 65535) {
        return new String[] {value.substring(0, colon), Integer.toString(port)};
      }
    } catch (NumberFormatException e) {
      // Reported below with the expected form.
    }
    throw new ParameterException(spec.commandLine(), option + " must be HOST:PORT, got '" + value + "'");
  }

  private static void write(CompareReport report, Path dir, PrintWriter stdout) throws IOException {
    Files.createDirectories(dir);
    List<Path> written = new ArrayList<>();
    Path json = dir.resolve("compare.json");
    Files.writeString(json, report.toJson(), StandardCharsets.UTF_8);
    written.add(json);
    Path csv = dir.resolve("compare.csv");
    Files.writeString(csv, report.toCsv(), StandardCharsets.UTF_8);
    written.add(csv);
    List<String> categories = new ArrayList<>();
    Map<String, List<Double>> gbps = new LinkedHashMap<>();
    Map<String, Map<String, Histogram>> cdfs = new LinkedHashMap<>();
    for (Map.Entry<Cell, List<CellResult>> e : report.results().entrySet()) {
      Cell c = e.getKey();
      categories.add(c.name());
      String plot = "latency-cdf-" + c.op() + "-" + (c.pageBytes() % (1 << 20) == 0
          ? (c.pageBytes() >> 20) + "MiB" : c.pageBytes() % 1024 == 0 ? (c.pageBytes() >> 10) + "KiB"
          : c.pageBytes() + "B") + ".png";
      for (CellResult r : e.getValue()) {
        gbps.computeIfAbsent(r.target(), k -> new ArrayList<>()).add(r.gigabytesPerSecond());
        cdfs.computeIfAbsent(plot, k -> new LinkedHashMap<>())
            .put(r.target() + " x" + c.batch() + " c" + c.connections(), r.histogram());
      }
    }
    Map<String, double[]> bars = new LinkedHashMap<>();
    gbps.forEach((t, v) -> bars.put(t, v.stream().mapToDouble(Double::doubleValue).toArray()));
    Path throughput = dir.resolve("throughput.png");
    Plots.bars(categories, bars, "kvbench compare: throughput", "GB/s", throughput);
    written.add(throughput);
    for (Map.Entry<String, Map<String, Histogram>> e : cdfs.entrySet()) {
      Path p = dir.resolve(e.getKey());
      Plots.latencyCdf(e.getValue(), "kvbench compare: " + e.getKey()
          .replace("latency-cdf-", "").replace(".png", "").replace('-', ' ') + " latency per call", p);
      written.add(p);
    }
    for (Path p : written) {
      stdout.println("wrote " + p);
    }
  }

  /** Runs a parse step, turning its IllegalArgumentException into a picocli usage error. */
  private <T> T parse(Supplier<T> step) {
    try {
      return step.get();
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage(), e);
    }
  }
}
