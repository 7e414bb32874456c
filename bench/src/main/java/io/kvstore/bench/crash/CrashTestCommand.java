package io.kvstore.bench.crash;

import io.kvstore.bench.replay.Durations;
import io.kvstore.bench.targets.ByteSize;
import io.kvstore.bench.targets.DaemonTarget;
import io.kvstore.bench.targets.TempDirs;
import io.kvstore.common.Namespace;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code kvbench crashtest}: the daemon's crash test. Forks the daemon, writes verifiable pages
 * through the SDK, SIGKILLs it at random moments, restarts it on the same data directory and
 * verifies every acknowledged page: the exact bytes or a miss, never other bytes, never a deleted
 * or overwritten page come back. Exit status 1 when any page failed.
 */
@Command(
    name = "crashtest",
    mixinStandardHelpOptions = true,
    description = {
      "Crash test of the kvstore daemon (after RocksDB's db_crashtest.py): fork bin/kvstore-server,"
          + " write pages whose bytes follow from (key, version) through the SDK, SIGKILL the"
          + " daemon at a random moment, restart it on the same data directory and read every"
          + " key back. A page must be the exact bytes of its last acknowledged put (or of a put in"
          + " flight at the kill) or a miss; wrong bytes, an overwritten version or a deleted page"
          + " coming back fail the run (exit status 1).",
      "Prints one row per cycle and a total; --out writes crashtest.json and crashtest.csv."
    })
public final class CrashTestCommand implements Callable<Integer> {

  @Spec private CommandSpec spec;

  @Option(names = "--cycles", defaultValue = "10", paramLabel = "N",
      description = "Kill-restart-verify cycles (default: ${DEFAULT-VALUE}).")
  private int cycles;

  @Option(names = "--duration", defaultValue = "5s", paramLabel = "TIME",
      description = "Longest time the writers run in a cycle; the kill comes at a random moment"
          + " between a tenth of it and all of it (default: ${DEFAULT-VALUE}).")
  private String duration;

  @Option(names = "--seed", paramLabel = "N",
      description = "Seed of the keys, the kill moments and the writers' choices (default: the"
          + " time; printed, so a run can be repeated).")
  private Long seed;

  @Option(names = "--page-bytes", defaultValue = "16KiB", paramLabel = "SIZE",
      description = "Payload bytes per page, at least 32 (default: ${DEFAULT-VALUE}).")
  private String pageBytes;

  @Option(names = "--keys", defaultValue = "4096", paramLabel = "N",
      description = "Distinct keys written (default: ${DEFAULT-VALUE}).")
  private int keys;

  @Option(names = "--writers", defaultValue = "4", paramLabel = "N",
      description = "Writer threads, each with its own keys (default: ${DEFAULT-VALUE}).")
  private int writers;

  @Option(names = "--batch", defaultValue = "8", paramLabel = "N",
      description = "Pages or keys per request (default: ${DEFAULT-VALUE}).")
  private int batch;

  @Option(names = "--delete-ratio", defaultValue = "0.15", paramLabel = "R",
      description = "Share of requests that are DELETEs (default: ${DEFAULT-VALUE}).")
  private double deleteRatio;

  @Option(names = "--read-ratio", defaultValue = "0.15", paramLabel = "R",
      description = "Share of requests that are GETs checked while the daemon runs"
          + " (default: ${DEFAULT-VALUE}).")
  private double readRatio;

  @Option(names = "--durability", defaultValue = "none", paramLabel = "MODE",
      description = "The daemon's --ssd-durability: none, wal or sync (default: ${DEFAULT-VALUE}).")
  private String durability;

  @Option(names = "--hot-bytes", defaultValue = "4MiB", paramLabel = "SIZE",
      description = "The daemon's hot tier (default: ${DEFAULT-VALUE}).")
  private String hotBytes;

  @Option(names = "--dram-bytes", defaultValue = "16MiB", paramLabel = "SIZE",
      description = "The daemon's DRAM tier; smaller than the keys' pages, so pages move to SSD"
          + " (default: ${DEFAULT-VALUE}).")
  private String dramBytes;

  @Option(names = "--ssd-bytes", defaultValue = "1GiB", paramLabel = "SIZE",
      description = "The daemon's SSD tier (default: ${DEFAULT-VALUE}).")
  private String ssdBytes;

  @Option(names = "--daemon-flag", paramLabel = "FLAG",
      description = "Another flag for the daemon, repeatable (e.g. --daemon-flag=--eviction-policy"
          + " --daemon-flag=lru).")
  private List<String> extraFlags = new ArrayList<>();

  @Option(names = "--clean-restart", negatable = true,
      description = "After the last cycle, also write for half of --duration, stop the writers,"
          + " stop the daemon with SIGTERM, restart it and verify: every page put in that time must"
          + " be kept, but those the daemon's stop line admits it did not keep (default: on;"
          + " --no-clean-restart leaves it out).")
  private Boolean cleanRestart;

  @Option(names = "--server-script", paramLabel = "FILE",
      description = "The daemon's launcher (default: bin/kvstore-server in the working directory or"
          + " a parent).")
  private Path serverScript;

  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "The daemon's data directory; must be new or empty (default: a temp directory,"
          + " deleted at the end unless the run fails).")
  private Path dataDir;

  @Option(names = "--start-timeout", defaultValue = "120s", paramLabel = "TIME",
      description = "How long a (re)start may take before the run fails (default: ${DEFAULT-VALUE}).")
  private String startTimeout;

  @Option(names = "--kill-during-restart", defaultValue = "0", paramLabel = "P",
      description = "The share of cycles (0 to 1) whose restart is itself killed (SIGKILL) at a"
          + " random moment up to a little past the last restart's time, before the restart that"
          + " is verified: a crash during crash recovery (default: ${DEFAULT-VALUE}).")
  private double killDuringRestart;

  @Option(names = "--term-during-restart", defaultValue = "0", paramLabel = "P",
      description = "The share of the other cycles (0 to 1) whose restart is stopped with SIGTERM"
          + " at such a moment: it must exit within 60 s, with status 0 or 143, no uncaught"
          + " exception and no stop with errors, else the run fails; then it is restarted and"
          + " verified (default: ${DEFAULT-VALUE}).")
  private double termDuringRestart;

  @Option(names = "--stop-on-failure",
      description = "Stop after the first cycle that finds a failure, keeping the data directory.")
  private boolean stopOnFailure;

  @Option(names = "--snapshot-dir", paramLabel = "DIR",
      description = "After each kill, copy the data directory here (replacing the last copy), so"
          + " that the state a failing recovery started from can be inspected (with the block"
          + " index the daemon ran from /dev/shm; start a daemon on it with --index-dir data);"
          + " with --stop-on-failure it is the failing cycle's.")
  private Path snapshotDir;

  @Option(names = "--freeze-every", paramLabel = "TIME",
      description = "Freeze the file system of --data-dir (fsfreeze) every TIME, for --freeze-for,"
          + " while the run goes on: a snapshot agent, or a disk that stops answering writes. Needs"
          + " root, --data-dir on a file system of its own that can be frozen (ext4, xfs), never the"
          + " root file system (default: off).")
  private String freezeEvery;

  @Option(names = "--freeze-for", defaultValue = "2s", paramLabel = "TIME",
      description = "How long each freeze of --freeze-every lasts (default: ${DEFAULT-VALUE}).")
  private String freezeFor;

  @Option(names = "--out", paramLabel = "DIR",
      description = "Write crashtest.json, crashtest.csv and the daemon's log here.")
  private Path out;

  @Override
  public Integer call() throws Exception {
    long durationNanos = parse(() -> Durations.parseNanos(duration));
    long startTimeoutNanos = parse(() -> Durations.parseNanos(startTimeout));
    int payload = parse(() -> ByteSize.parsePageBytes(pageBytes));
    long hot = parse(() -> ByteSize.parse(hotBytes));
    long dram = parse(() -> ByteSize.parse(dramBytes));
    long ssd = parse(() -> ByteSize.parse(ssdBytes));
    check(cycles >= 1, "--cycles must be >= 1");
    check(durationNanos > 0, "--duration must be > 0");
    check(keys >= 1, "--keys must be >= 1");
    check(writers >= 1 && writers <= 256, "--writers must be 1 to 256");
    check(batch >= 1 && batch <= 4096, "--batch must be 1 to 4096");
    check(deleteRatio >= 0 && readRatio >= 0 && deleteRatio + readRatio < 1,
        "--delete-ratio and --read-ratio must be >= 0 and leave room for puts (sum < 1)");
    check(payload >= PagePattern.MIN_PAYLOAD_BYTES, "--page-bytes must be at least 32 B");
    check(killDuringRestart >= 0 && killDuringRestart <= 1, "--kill-during-restart must be 0 to 1");
    check(termDuringRestart >= 0 && termDuringRestart <= 1, "--term-during-restart must be 0 to 1");
    check(List.of("none", "wal", "sync").contains(durability),
        "--durability must be none, wal or sync, got '" + durability + "'");
    Path script = serverScript != null ? serverScript : DaemonTarget.findServerScript();
    if (script == null || !Files.isExecutable(script)) {
      throw new IOException("no daemon launcher: " + (script == null
          ? "no bin/kvstore-server in the working directory or its parents" : script
          + " is not executable") + "; run kvbench from the repository or give --server-script");
    }
    long runSeed = seed != null ? seed : System.currentTimeMillis();
    Namespace ns = Namespace.builder().modelId("kvbench/crashtest").dtype("bfloat16")
        .numLayers(32).numKvHeads(8).headDim(128).blockSize(16).build();
    PagePattern pattern = new PagePattern(runSeed, ns.id(), payload);
    List<String> flags = new ArrayList<>(List.of("--hot-bytes", Long.toString(hot),
        "--dram-bytes", Long.toString(dram), "--ssd-bytes", Long.toString(ssd),
        "--ssd-durability", durability,
        "--max-page-bytes", Integer.toString(pattern.pageLength())));
    flags.addAll(extraFlags);

    long freezeEveryNanos = freezeEvery == null ? 0 : parse(() -> Durations.parseNanos(freezeEvery));
    long freezeForNanos = parse(() -> Durations.parseNanos(freezeFor));
    check(freezeEvery == null || dataDir != null,
        "--freeze-every needs --data-dir on a file system of its own (it freezes that file system)");
    check(freezeEvery == null || (freezeEveryNanos > 0 && freezeForNanos > 0),
        "--freeze-every and --freeze-for must be > 0");
    boolean tempData = dataDir == null;
    Path data = tempData ? Files.createTempDirectory("kvbench-crashtest-") : dataDir;
    if (!tempData && Files.isDirectory(data)) {
      try (var entries = Files.list(data)) {
        check(entries.findAny().isEmpty(), "--data-dir " + data + " is not empty");
      }
    }
    Files.createDirectories(data);
    Path logDir = out != null ? out : data;
    Files.createDirectories(logDir);
    Path log = logDir.resolve("crashtest-daemon.log");
    Files.deleteIfExists(log);
    // Lost pages are checked where the SSD tier holds every key twice over (room for a segment's
    // garbage), and then in each cycle in which it evicted nothing (the run asks the daemon; a
    // tier fitted to a smaller disk, or full of garbage, evicts): a page it held must survive
    // every kill.
    boolean checkLost = ssd > 0 && (long) keys * pattern.pageLength() * 2 <= ssd;
    String setup = String.format("seed %d, %d cycles of up to %s, %d keys of %s payload, %d writers"
            + " x %d per request, durability %s, hot %s, dram %s, ssd %s%s", runSeed, cycles,
        duration, keys, pageBytes, writers, batch, durability, hotBytes, dramBytes, ssdBytes,
        checkLost ? "" : " (lost pages not checked: the SSD tier cannot hold every key twice)");
    CrashReport report = new CrashReport("kvbench crashtest "
        + String.join(" ", spec.commandLine().getParseResult().originalArgs()), setup);
    PrintWriter stdout = spec.commandLine().getOut();
    PrintStream progress = System.err;
    progress.println("kvbench crashtest: " + setup + "; daemon log " + log);
    CrashTest test = new CrashTest(new CrashTest.Config(script, data.resolve("store"), flags,
        pattern, keys, cycles, durationNanos, writers, batch, deleteRatio, readRatio, runSeed,
        cleanRestart == null || cleanRestart, Duration.ofNanos(startTimeoutNanos), log,
        stopOnFailure, snapshotDir, killDuringRestart, termDuringRestart, checkLost), report, progress);
    boolean finished = false;
    DiskFreezer freezer = null;
    if (freezeEvery != null) {
      try {
        freezer = DiskFreezer.start(data, freezeEveryNanos, freezeForNanos);
      } catch (IOException e) {
        throw new ParameterException(spec.commandLine(), e.getMessage(), e);
      }
      progress.println("kvbench crashtest: freezing " + freezer.mountPoint() + " for " + freezeFor
          + " every " + freezeEvery);
    }
    try {
      test.run();
      finished = true;
    } catch (IOException e) {
      report.abort(e.getMessage().lines().findFirst().orElse("I/O error"));
      throw e;
    } finally {
      if (freezer != null) {
        freezer.close();
        stdout.println("froze " + freezer.mountPoint() + " " + freezer.freezes() + " times for "
            + freezeFor + (freezer.failure() == null ? "" : "; then " + freezer.failure()));
      }
      if (!report.cycles().isEmpty()) {
        report.writeTable(stdout);
      }
      if (out != null) {
        Files.writeString(out.resolve("crashtest.json"), report.toJson(), StandardCharsets.UTF_8);
        Files.writeString(out.resolve("crashtest.csv"), report.toCsv(), StandardCharsets.UTF_8);
        stdout.println("wrote " + out.resolve("crashtest.json") + ", " + out.resolve("crashtest.csv")
            + ", " + log);
      }
      stdout.flush();
      if (tempData && finished && report.passed()) {
        TempDirs.deleteRecursively(data);
      } else if (tempData) {
        progress.println("kvbench crashtest: kept the data directory " + data + " for inspection");
      }
    }
    return report.passed() ? 0 : 1;
  }

  private void check(boolean ok, String message) {
    if (!ok) {
      throw new ParameterException(spec.commandLine(), message);
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
