package io.kvstore.bench.targets;

import io.kvstore.bench.replay.Durations;
import io.kvstore.common.PageFormat;
import io.kvstore.core.policy.Policies;
import io.kvstore.core.store.TieredStoreBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * The command-line options that choose and configure the store a run goes against (a picocli mixin
 * shared by {@code replay} and {@code load}). Tier capacities and the policy configure the embedded
 * store and a daemon that kvbench starts; a daemon or Redis server kvbench connects to keeps its own.
 */
public final class TargetOptions {

  @Option(names = "--target", defaultValue = "embedded", paramLabel = "KIND",
      description = "Store to run against: embedded (a TieredStore in this process), daemon (the"
          + " kvstore daemon through the SDK over TCP), daemon-shm (the same, page bytes through shared"
          + " memory), cluster (many daemons through the SDK's cluster client), redis (default:"
          + " ${DEFAULT-VALUE}).")
  String kind;

  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "Embedded store's SSD tier and index directory (default: a temp directory,"
          + " deleted at the end).")
  Path dataDir;

  @Option(names = "--hot-bytes", paramLabel = "SIZE", defaultValue = "0",
      description = "Hot tier capacity; 0 leaves it out (default: ${DEFAULT-VALUE}).")
  String hotBytes;

  @Option(names = "--dram-bytes", paramLabel = "SIZE", defaultValue = "1GiB",
      description = "DRAM tier capacity; 0 leaves it out (default: ${DEFAULT-VALUE}).")
  String dramBytes;

  @Option(names = "--ssd-bytes", paramLabel = "SIZE", defaultValue = "16GiB",
      description = "SSD tier capacity; 0 leaves it out (default: ${DEFAULT-VALUE}).")
  String ssdBytes;

  @Option(names = "--policy", paramLabel = "POLICY", defaultValue = TieredStoreBuilder.POLICY_DEFAULT,
      description = "Eviction policy of every tier (default: ${DEFAULT-VALUE}).")
  String policy;

  @Option(names = "--connect", paramLabel = "HOST:PORT",
      description = "Daemon to connect to (--target daemon).")
  String connect;

  @Option(names = "--start-daemon",
      description = "Fork bin/kvstore-server on a free port with a temp data dir and the tier options"
          + " above; stop it with SIGTERM at the end (--target daemon).")
  boolean startDaemon;

  @Option(names = "--server-script", paramLabel = "FILE",
      description = "The daemon's launcher for --start-daemon (default: bin/kvstore-server in the"
          + " working directory or a parent).")
  Path serverScript;

  @Option(names = "--token", paramLabel = "TOKEN", defaultValue = "",
      description = "Auth token for the daemon (default: none).")
  String token;

  @Option(names = "--request-timeout", paramLabel = "TIME", defaultValue = "60s",
      description = "How long a call to a daemon, cluster or Redis may take before it fails"
          + " (a daemon's or cluster's with CLIENT_TIMEOUT)"
          + " (counted as a failed call): e.g. 5s, the SDK's own default, to see a stalled or"
          + " partitioned daemon as failures rather than as latency (default: ${DEFAULT-VALUE}).")
  String requestTimeout;

  @Option(names = "--redis", paramLabel = "HOST:PORT",
      description = "Redis server to connect to (--target redis).")
  String redis;

  @Option(names = "--start-redis",
      description = "Start redis-server (from the PATH) on a free port without persistence; stop it"
          + " at the end (--target redis).")
  boolean startRedis;

  @Option(names = "--cluster", paramLabel = "URI",
      description = "Cluster to connect to (--target cluster): static://host:port,... or"
          + " etcd://host:port/NAME (docs/cluster.md).")
  String cluster;

  @Option(names = "--start-cluster", paramLabel = "N", defaultValue = "0",
      description = "Fork N daemons (bin/kvstore-server, each with the tier options above) on free"
          + " ports as a static cluster; stop them at the end (--target cluster).")
  int startCluster;

  @Option(names = "--blocks-per-run", paramLabel = "K",
      defaultValue = "" + io.kvstore.client.cluster.ClusterClientBuilder.BLOCKS_PER_RUN_DEFAULT,
      description = "Cluster placement run: K consecutive blocks on one member (default: ${DEFAULT-VALUE}).")
  int blocksPerRun;

  @Option(names = "--replicas", paramLabel = "R", defaultValue = "1",
      description = "Cluster members each page is written to (default: ${DEFAULT-VALUE}).")
  int replicas;

  @Option(names = "--kill-member-after", paramLabel = "SECONDS", defaultValue = "0",
      description = "With --start-cluster: SIGKILL the first member this long into the run (0: never).")
  double killMemberAfter;

  /** The request timeout of the daemon, cluster and Redis targets. */
  public Duration requestTimeout() {
    long nanos = Durations.parseNanos(requestTimeout);
    if (nanos < 1_000_000L) {
      throw new IllegalArgumentException("--request-timeout must be at least 1ms, got "
          + requestTimeout);
    }
    return Duration.ofNanos(nanos);
  }

  /** The target kind: embedded, daemon, cluster or redis. */
  public String kind() {
    return kind;
  }

  /** Overrides the DRAM capacity (for a capacity sweep). */
  public void dramBytes(long bytes) {
    this.dramBytes = Long.toString(bytes);
  }

  /** DRAM capacity in bytes. */
  public long dramBytes() {
    return ByteSize.parse(dramBytes);
  }

  /**
   * Checks the options without opening anything.
   *
   * @throws IllegalArgumentException naming the option that is wrong
   */
  public void validate() {
    requestTimeout();
    switch (kind) {
      case "embedded" -> {
        tierBytes();
        Policies.create(policy, 1);
      }
      case "daemon", "daemon-shm" -> {
        if ((connect == null) == !startDaemon) {
          throw new IllegalArgumentException(
              "--target daemon needs exactly one of --connect HOST:PORT and --start-daemon");
        }
        if (connect != null) {
          hostPort(connect, "--connect");
        } else {
          tierBytes();
          Policies.create(policy, 1);
        }
      }
      case "cluster" -> {
        if ((cluster == null) == (startCluster == 0)) {
          throw new IllegalArgumentException(
              "--target cluster needs exactly one of --cluster URI and --start-cluster N");
        }
        if (startCluster < 0 || startCluster > 64) {
          throw new IllegalArgumentException("--start-cluster must be 1 to 64, got " + startCluster);
        }
        if (cluster != null) {
          io.kvstore.client.cluster.ClusterUri.parse(cluster);
          if (killMemberAfter > 0) {
            throw new IllegalArgumentException("--kill-member-after needs --start-cluster");
          }
        } else {
          tierBytes();
          Policies.create(policy, 1);
        }
        if (blocksPerRun < 1 || replicas < 1 || replicas > 3 || killMemberAfter < 0) {
          throw new IllegalArgumentException(
              "--blocks-per-run must be >= 1, --replicas 1 to 3, --kill-member-after >= 0");
        }
      }
      case "redis" -> {
        if ((redis == null) == !startRedis) {
          throw new IllegalArgumentException(
              "--target redis needs exactly one of --redis HOST:PORT and --start-redis");
        }
        if (redis != null) {
          hostPort(redis, "--redis");
        }
      }
      default -> throw new IllegalArgumentException(
          "unknown target '" + kind + "'; valid targets: embedded, daemon, daemon-shm, cluster, redis");
    }
  }

  /**
   * Opens the target for pages of {@code payloadBytes} in namespace {@code namespaceId}.
   *
   * @throws IOException if a server cannot be reached or started
   */
  public Target open(int payloadBytes, long namespaceId) throws IOException {
    validate();
    int pageLength = PageFormat.pageLength(payloadBytes);
    long[] tiers = kind.equals("redis") || connect != null || cluster != null ? null : tierBytes();
    switch (kind) {
      case "embedded":
        return EmbeddedTarget.open(dataDir, pageLength, tiers[0], tiers[1], tiers[2], policy);
      case "daemon-shm": {
        DaemonTarget tcp = openDaemon(tiers, pageLength, namespaceId);
        return new SharedMemoryDaemon(tcp);
      }
      case "daemon":
        return openDaemon(tiers, pageLength, namespaceId);
      case "cluster":
        if (cluster != null) {
          return ClusterTarget.connect(cluster, token, namespaceId, blocksPerRun, replicas,
              requestTimeout());
        }
        Path clusterScript = serverScript != null ? serverScript : DaemonTarget.findServerScript();
        if (clusterScript == null) {
          throw new IOException("--start-cluster: no bin/kvstore-server in the working directory or"
              + " its parents; run kvbench from the repository or give --server-script");
        }
        return ClusterTarget.start(clusterScript, startCluster, List.of(
            "--hot-bytes", Long.toString(tiers[0]), "--dram-bytes", Long.toString(tiers[1]),
            "--ssd-bytes", Long.toString(tiers[2]), "--eviction-policy", policy,
            "--max-page-bytes", Integer.toString(pageLength)),
            namespaceId, blocksPerRun, replicas, killMemberAfter, requestTimeout());
      default:
        if (redis != null) {
          String[] hp = hostPort(redis, "--redis");
          return RedisTarget.connect(hp[0], Integer.parseInt(hp[1]), requestTimeout());
        }
        return RedisTarget.start(requestTimeout());
    }
  }

  private DaemonTarget openDaemon(long[] tiers, int pageLength, long namespaceId) throws IOException {
        if (connect != null) {
          String[] hp = hostPort(connect, "--connect");
          return DaemonTarget.connect(hp[0], Integer.parseInt(hp[1]), token, namespaceId,
              requestTimeout());
        }
        Path script = serverScript != null ? serverScript : DaemonTarget.findServerScript();
        if (script == null) {
          throw new IOException("--start-daemon: no bin/kvstore-server in the working directory or"
              + " its parents; run kvbench from the repository or give --server-script");
        }
        List<String> flags = new ArrayList<>(List.of(
            "--hot-bytes", Long.toString(tiers[0]), "--dram-bytes", Long.toString(tiers[1]),
            "--ssd-bytes", Long.toString(tiers[2]), "--eviction-policy", policy,
            // As the embedded store: the largest page is this run's, so hot frames fit its pages.
            "--max-page-bytes", Integer.toString(pageLength)));
        return DaemonTarget.start(script, flags, namespaceId, requestTimeout());
  }

  /** What the options configure, for reports. */
  public String describe() {
    return switch (kind) {
      case "embedded" -> String.format("embedded, hot %s, dram %s, ssd %s, policy %s", hotBytes,
          dramBytes, ssdBytes, policy);
      case "daemon", "daemon-shm" -> (kind.equals("daemon-shm") ? "shared memory, " : "")
          + (connect != null ? "daemon at " + connect
          : String.format("daemon started here, hot %s, dram %s, ssd %s, policy %s", hotBytes,
              dramBytes, ssdBytes, policy));
      case "cluster" -> (cluster != null ? "cluster " + cluster
          : String.format("cluster of %d daemons started here, each hot %s, dram %s, ssd %s, policy %s",
              startCluster, hotBytes, dramBytes, ssdBytes, policy))
          + String.format(", K=%d, replicas=%d", blocksPerRun, replicas)
          + (killMemberAfter > 0 ? String.format(", member 1 killed after %.1f s", killMemberAfter) : "");
      default -> redis != null ? "redis at " + redis : "redis-server started here";
    };
  }

  private long[] tierBytes() {
    long hot = ByteSize.parse(hotBytes);
    long dram = ByteSize.parse(dramBytes);
    long ssd = ByteSize.parse(ssdBytes);
    if (hot + dram + ssd == 0) {
      throw new IllegalArgumentException("at least one of --hot-bytes, --dram-bytes, --ssd-bytes must be > 0");
    }
    return new long[] {hot, dram, ssd};
  }

  /** Splits {@code HOST:PORT}. */
  static String[] hostPort(String value, String option) {
    int colon = value.lastIndexOf(':');
    if (colon <= 0 || colon == value.length() - 1) {
      throw new IllegalArgumentException(option + " must be HOST:PORT, got '" + value + "'");
    }
    String port = value.substring(colon + 1);
    try {
      int p = Integer.parseInt(port);
      if (p < 1 || p > 65535) {
        throw new NumberFormatException();
      }
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(option + ": port must be 1 to 65535, got '" + port + "'");
    }
    return new String[] {value.substring(0, colon), port};
  }
}
