package io.kvstore.bench.crash;

import io.kvstore.bench.targets.DaemonStats;
import io.kvstore.client.GetResult;
import io.kvstore.client.KvStoreClient;
import io.kvstore.client.protocol.ErrorCode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The crash-test loop (after RocksDB's {@code tools/db_crashtest.py}): run writers against the
 * daemon, SIGKILL it at a random moment, restart it on the same data directory, read every key back
 * and judge each page against the record of acknowledged writes; repeat. Optionally ends with a
 * graceful stop under load (writers, then SIGTERM), whose restart must keep every page put in that
 * time but those the daemon's stop line admits it did not keep.
 *
 * <p>It knows the daemon only as a process and a protocol: the SDK, a launcher script, signals.
 */
final class CrashTest {

  /** What to run. */
  record Config(
      Path serverScript,
      Path dataDir,
      List<String> daemonFlags,
      PagePattern pattern,
      int keys,
      int cycles,
      long durationNanos,
      int writers,
      int batch,
      double deleteRatio,
      double readRatio,
      long seed,
      boolean cleanRestart,
      Duration startTimeout,
      Path log,
      boolean stopOnFailure,
      Path snapshotDir,
      double killDuringRestart,
      double termDuringRestart,
      boolean checkLost) {}

  /** "Lost" failure lines kept per cycle (the count says the rest). */
  private static final int LOST_LINES_PER_CYCLE = 5;
  /** How often a cycle asks the daemon whether its SSD tier evicted (and once before the kill). */
  private static final long EVICTION_POLL_NANOS = 100_000_000L;

  /** Keys per verification GET. */
  private static final int VERIFY_BATCH_MAX = 64;
  /** Bytes per verification GET, at most. */
  private static final long VERIFY_BATCH_BYTES = 16L << 20;
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);

  private final Config config;
  /** How long the last restart took, from the fork to the first answered PING. */
  private long lastRestartMillis = 1_500;
  private final KeyModel model;
  /** Per key: read back exactly at the last verification. */
  private final boolean[] exactAtLastVerify;
  /** Per key: {@link KeyModel#writes} at the last verification. */
  private final long[] writesAtLastVerify;
  /** Whether a verification ran since the daemon first started (so the two above say something). */
  private boolean verifiedOnce;
  private final CrashReport report;
  private final PrintStream progress;

  CrashTest(Config config, CrashReport report, PrintStream progress) {
    this.config = config;
    this.model = new KeyModel(config.pattern(), config.keys());
    this.exactAtLastVerify = new boolean[config.keys()];
    this.writesAtLastVerify = new long[config.keys()];
    this.report = report;
    this.progress = progress;
  }

  /**
   * Runs every cycle; the results go to the report.
   *
   * @throws IOException if the daemon cannot be started or restarted (a restart that fails after a
   *     crash is itself a finding: the message has the end of its log)
   */
  void run() throws IOException {
    SplittableRandom random = new SplittableRandom(config.seed());
    DaemonProcess daemon = start();
    lastRestartMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - daemon.startNanos());
    try {
      for (int cycle = 1; cycle <= config.cycles(); cycle++) {
        long killAfter = config.durationNanos() / 10
            + (long) (random.nextDouble() * (config.durationNanos() * 9 / 10));
        Cycle c = write(daemon, killAfter, random.nextLong(), false);
        daemon.kill();
        if (config.snapshotDir() != null) {
          DataDirSnapshot.copy(config.dataDir(), config.snapshotDir());
        }
        String kind = "kill";
        String second = "";
        if (config.killDuringRestart() > 0 && random.nextDouble() < config.killDuringRestart()) {
          // A second crash inside the restart: anywhere from the fork to a little past the time
          // the last restart took (so some land after it serves, most while it opens the store).
          long delay = (long) (random.nextDouble() * 1.2 * lastRestartMillis);
          boolean serving = DaemonProcess.startAndKill(config.serverScript(), config.dataDir(),
              config.daemonFlags(), config.log(), Duration.ofMillis(delay));
          kind = "kill2";
          second = String.format(", killed again %d ms into its restart (%s)", delay,
              serving ? "already serving" : "while starting");
        } else if (config.termDuringRestart() > 0
            && random.nextDouble() < config.termDuringRestart()) {
          // An operator stopping the restart (SIGTERM) at the same kind of moment: it must stop
          // cleanly, whatever it was doing, and the start after it must find every page.
          long delay = (long) (random.nextDouble() * 1.2 * lastRestartMillis);
          DaemonProcess.TermOutcome t = DaemonProcess.startAndTerm(config.serverScript(),
              config.dataDir(), config.daemonFlags(), config.log(), Duration.ofMillis(delay));
          kind = "term2";
          second = String.format(", its restart stopped with SIGTERM %d ms in (%s, exit %d%s)",
              delay, t.serving() ? "already serving" : "while starting", t.status(),
              t.problem() == null ? "" : ": " + t.problem());
          if (t.problem() != null) {
            report.stopFailure(String.format("cycle %d: the restart stopped with SIGTERM %d ms"
                + " after the fork %s", cycle, delay, t.problem()));
          }
        }
        daemon = start();
        long restart = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - daemon.startNanos());
        lastRestartMillis = restart;
        CycleResult r = verify(daemon, cycle, kind, c, restart, -1);
        report.add(r);
        progress.printf("cycle %d/%d: killed after %d ms%s, %d acked puts, restart %d ms, %d"
                + " verified: %d exact, %d miss, %d wrong, %d stale, %d resurrected%n", cycle,
            config.cycles(), r.killAfterMillis(), second, r.putsAcked(), r.restartMillis(),
            r.verified(), r.exact(), r.miss(), r.wrong(), r.stale(), r.resurrected());
        if (c.rejects != null) {
          progress.println("  refused puts by error code: " + c.rejects);
        }
        if (config.stopOnFailure() && r.failures() > 0) {
          progress.printf("cycle %d failed: stopping (--stop-on-failure); the data directory is"
              + " kept%s%n", cycle, config.snapshotDir() == null ? ""
              : ", and " + config.snapshotDir() + " holds it as the kill left it");
          daemon.stop();
          return;
        }
      }
      if (config.cleanRestart()) {
        // The graceful stop under load: the writers run, then stop (every request answered),
        // then SIGTERM. The restart must serve every key put (and acknowledged) in that time,
        // less what the daemon's stop line says it dropped or could not write.
        Cycle c = write(daemon, config.durationNanos() / 2, random.nextLong(), true);
        long logBefore = Files.size(config.log());
        int status = daemon.stop();
        if (status == -1) {
          report.stopFailure("the daemon did not stop within the grace period after SIGTERM");
        }
        long allowed = status == -1 ? Long.MAX_VALUE : StopLine.pagesNotKept(config.log(), logBefore);
        daemon = start();
        long restart = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - daemon.startNanos());
        CycleResult r = verify(daemon, config.cycles() + 1, "clean", c, restart, allowed);
        report.add(r);
        progress.printf("clean stop after %d ms of writes: %d acked puts, the daemon's stop line"
                + " allows %s missing, restart %d ms, %d verified: %d exact, %d miss, %d lost%n",
            r.killAfterMillis(), r.putsAcked(), allowed == Long.MAX_VALUE ? "any" : allowed,
            r.restartMillis(), r.verified(), r.exact(), r.miss(), Math.max(0, r.lost()));
      }
      daemon.stop();
    } finally {
      daemon.close();
    }
  }

  private DaemonProcess start() throws IOException {
    return DaemonProcess.start(config.serverScript(), config.dataDir(), config.daemonFlags(),
        config.pattern().namespaceId(), config.log(), config.startTimeout());
  }

  private KvStoreClient client(int port, int connections) {
    return KvStoreClient.builder()
        .address("127.0.0.1", port)
        .namespaceId(config.pattern().namespaceId())
        .connections(connections)
        .ioThreads(Math.min(connections, 2))
        .requestTimeout(REQUEST_TIMEOUT)
        // Checked here, byte for byte: a corrupt page must count as wrong, not be hidden as a miss.
        .verifyChecksums(false)
        .build();
  }

  /** What the writers of one cycle did. */
  private static final class Cycle {
    long killAfterNanos;
    long putsAcked;
    long deletesAcked;
    long putsRejected;
    long liveReads;
    long liveFailures;
    long errors;
    /** "CODE_NAME=count, ..." of the refused puts, or null if none was refused. */
    String rejects;
    /**
     * Pages the SSD tier evicted during the cycle, as last polled (STATS), up to just before the
     * kill or stop: a tier that evicts may drop a page it served, so lost pages are not checked.
     */
    long ssdEvictions;
  }

  /**
   * Runs the writers until {@code killAfterNanos}, then kills the daemon under them, or, if {@code
   * graceful}, stops the writers (each finishes its request) and leaves the daemon running.
   */
  private Cycle write(DaemonProcess daemon, long killAfterNanos, long seed, boolean graceful)
      throws IOException {
    Cycle c = new Cycle();
    c.killAfterNanos = killAfterNanos;
    AtomicBoolean killed = new AtomicBoolean();
    AtomicBoolean stopAsked = new AtomicBoolean();
    List<Writer> writers = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    try (KvStoreClient client = client(daemon.port(), config.writers())) {
      SplittableRandom seeds = new SplittableRandom(seed);
      for (int w = 0; w < config.writers(); w++) {
        Writer writer = new Writer(w, config.writers(), client, model, config.pattern(),
            config.batch(), config.deleteRatio(), config.readRatio(), seeds.nextLong(), killed,
            stopAsked);
        writers.add(writer);
        Thread t = new Thread(writer, "crashtest-writer-" + w);
        t.setDaemon(true);
        threads.add(t);
      }
      threads.forEach(Thread::start);
      long end = System.nanoTime() + killAfterNanos;
      long left;
      while ((left = end - System.nanoTime()) > 0) {
        sleepNanos(Math.min(left, EVICTION_POLL_NANOS));
        c.ssdEvictions = Math.max(c.ssdEvictions, ssdEvictions(client));
      }
      if (graceful) {
        stopAsked.set(true); // each writer ends after its request's answer
      } else {
        // The flag first: a request that fails from here on failed because of the kill.
        killed.set(true);
        daemon.kill();
      }
      for (Thread t : threads) {
        t.join(TimeUnit.SECONDS.toMillis(REQUEST_TIMEOUT.toSeconds() * 2));
        if (t.isAlive()) {
          throw new IOException(t.getName() + " did not finish after the kill");
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    long[] rejects = new long[256];
    for (Writer w : writers) {
      c.putsAcked += w.putsAcked;
      c.deletesAcked += w.deletesAcked;
      c.putsRejected += w.putsRejected;
      c.liveReads += w.liveReads;
      for (Verdict v : Verdict.values()) {
        if (v.isFailure()) {
          c.liveFailures += w.liveVerdicts[v.ordinal()];
        }
      }
      for (int code = 0; code < rejects.length; code++) {
        rejects[code] += w.rejectsByCode[code];
      }
      if (w.errorBeforeKill != null) {
        c.errors++;
        report.failure("(not counted as a wrong page) " + w.errorBeforeKill);
      }
      if (w.firstLiveFailure != null) {
        report.failure(w.firstLiveFailure);
      }
    }
    for (int code = 0; code < rejects.length; code++) {
      if (rejects[code] > 0) {
        String item = ErrorCode.name(code) + "=" + rejects[code];
        c.rejects = c.rejects == null ? item : c.rejects + ", " + item;
      }
    }
    return c;
  }

  /**
   * Reads every key back and judges it. {@code allowedMisses} >= 0 after a graceful stop: of the
   * keys written since the last verification whose last write was an acknowledged put, at most
   * that many may be missing (the daemon's stop line); the others are lost.
   */
  private CycleResult verify(DaemonProcess daemon, int cycle, String kind, Cycle c, long restart,
      long allowedMisses) throws IOException {
    int pageLength = config.pattern().pageLength();
    int per = (int) Math.max(1, Math.min(VERIFY_BATCH_MAX, VERIFY_BATCH_BYTES / pageLength));
    ByteBuffer[] dsts = new ByteBuffer[per];
    for (int i = 0; i < per; i++) {
      dsts[i] = ByteBuffer.allocateDirect(pageLength);
    }
    ByteBuffer scratch = ByteBuffer.allocateDirect(pageLength);
    long[] counts = new long[Verdict.values().length];
    long verified = 0;
    // A page read back exactly after the last restart is on SSD (the memory tiers start empty);
    // if nothing wrote the key since, no crash may take it: the SSD tier keeps what it holds
    // (every durability mode, for a process kill), and it holds every key without evicting.
    boolean checkLost = config.checkLost() && verifiedOnce && c.ssdEvictions == 0;
    // After a graceful stop, acknowledged puts must all be there, unless the SSD tier evicted.
    boolean checkAcked = allowedMisses >= 0 && c.ssdEvictions == 0;
    if (c.ssdEvictions > 0 && ((config.checkLost() && verifiedOnce) || allowedMisses >= 0)) {
      progress.printf(Locale.ROOT, "cycle %d: the SSD tier evicted %,d pages (it was full): lost"
          + " pages not checked%n", cycle, c.ssdEvictions);
    }
    long lost = 0;
    long ackedMissing = 0;
    StringBuilder missingKeys = new StringBuilder();
    PagePattern p = config.pattern();
    try (KvStoreClient client = client(daemon.port(), 1)) {
      for (int from = 0; from < config.keys(); from += per) {
        int n = Math.min(per, config.keys() - from);
        long[] keys = new long[2 * n];
        ByteBuffer[] d = n == per ? dsts : java.util.Arrays.copyOf(dsts, n);
        for (int i = 0; i < n; i++) {
          keys[2 * i] = p.keyHi(from + i);
          keys[2 * i + 1] = p.keyLo(from + i);
          d[i].clear();
        }
        GetResult r;
        try {
          r = client.get(keys, d);
        } catch (RuntimeException e) {
          throw new IOException("verification GET failed after the restart: " + e.getMessage()
              + "; the daemon's log (" + config.log() + ") ends:\n" + daemon.logTail(), e);
        }
        for (int i = 0; i < n; i++) {
          int k = from + i;
          Verdict v = model.judge(k, d[i], 0, r.isHit(i) ? r.length(i) : -1, scratch);
          boolean wasExact = exactAtLastVerify[k];
          boolean untouched = model.writes(k) == writesAtLastVerify[k];
          exactAtLastVerify[k] = v == Verdict.EXACT;
          writesAtLastVerify[k] = model.writes(k);
          if (checkLost && v == Verdict.MISS && wasExact && untouched) {
            if (++lost <= LOST_LINES_PER_CYCLE) {
              report.failure(String.format("cycle %d: key %d (%016x%016x) was read back exactly"
                      + " after the last restart and not written since, and is now missing: a"
                      + " page the SSD tier held was lost", cycle, k, p.keyHi(k), p.keyLo(k)));
            }
          } else if (checkAcked && v == Verdict.MISS && !untouched
              && model.ackedPutOnly(k)) {
            // Written since the last verification, its last write an acknowledged put: the stop
            // must have kept it. (A key not written since keeps the verdict the kill gave it.)
            if (++ackedMissing <= LOST_LINES_PER_CYCLE) {
              missingKeys.append(missingKeys.length() == 0 ? "" : ", ").append(String.format(
                  "key %d (%016x%016x) version %d", k, p.keyHi(k), p.keyLo(k), model.ackedVersion(k)));
            }
          }
          if (!model.written(k) && v == Verdict.MISS) {
            continue; // never written, not there: nothing to verify
          }
          verified++;
          counts[v.ordinal()]++;
          if (v.isFailure()) {
            report.failure(String.format("cycle %d: key %d (%016x%016x) returned a %s page of %d"
                    + " bytes claiming version %d", cycle, k, p.keyHi(k), p.keyLo(k), v,
                r.length(i), p.claimedVersion(d[i], 0, r.length(i))));
          }
        }
      }
    }
    if (lost > LOST_LINES_PER_CYCLE) {
      report.failure(String.format("cycle %d: %d pages lost in all", cycle, lost));
    }
    if (checkAcked && ackedMissing > allowedMisses) {
      report.failure(String.format("cycle %d: after a graceful stop %d acknowledged puts are"
          + " missing, %d more than the daemon's stop line says it dropped or could not write"
          + " (%s%s)", cycle, ackedMissing, ackedMissing - allowedMisses, missingKeys,
          ackedMissing > LOST_LINES_PER_CYCLE ? ", ..." : ""));
      lost += ackedMissing - allowedMisses;
    }
    verifiedOnce = true;
    return new CycleResult(cycle, kind, TimeUnit.NANOSECONDS.toMillis(c.killAfterNanos),
        c.putsAcked, c.deletesAcked, c.putsRejected, model.uncertainKeys(), restart, verified,
        counts[Verdict.EXACT.ordinal()], counts[Verdict.MISS.ordinal()],
        counts[Verdict.WRONG.ordinal()], counts[Verdict.STALE.ordinal()],
        counts[Verdict.RESURRECTED.ordinal()], checkLost || checkAcked ? lost : -1,
        c.liveReads, c.liveFailures, c.errors);
  }

  /**
   * Pages the daemon's SSD tier has evicted since it started ({@code kvstore_tier_evictions_total
   * {tier="ssd"}} in STATS), or 0 if it cannot say.
   */
  private static long ssdEvictions(KvStoreClient client) {
    try {
      return Math.max(0, DaemonStats.sample(client.stats(), SSD_EVICTIONS));
    } catch (RuntimeException e) {
      // A daemon that cannot answer now: the next poll, or the verification, will say more.
      return 0;
    }
  }

  private static final String SSD_EVICTIONS = "kvstore_tier_evictions_total{tier=\"ssd\"}";

  private static void sleepNanos(long nanos) throws InterruptedException {
    long end = System.nanoTime() + nanos;
    long left;
    while ((left = end - System.nanoTime()) > 0) {
      TimeUnit.NANOSECONDS.sleep(left);
    }
  }
}
