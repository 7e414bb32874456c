package io.kvstore.bench.replay;

import io.kvstore.bench.report.LatencySummary;
import io.kvstore.bench.report.ProgressBar;
import io.kvstore.bench.report.RunReport;
import io.kvstore.bench.report.TierResult;
import io.kvstore.bench.targets.Session;
import io.kvstore.bench.targets.Target;
import io.kvstore.bench.targets.TierCounters;
import io.kvstore.common.PageFormat;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;

/**
 * Runs a workload against a target: the calling thread dispatches requests at their (scaled)
 * arrival times into a bounded queue of twice the worker count, and a fixed set of {@link Worker}s,
 * each with its own session, plays them. When the workers fall behind, the queue fills and dispatch
 * waits: nothing is buffered without bound, and the run simply takes longer than the trace.
 *
 * <p>The measured time runs from the first dispatch to the last worker's end; sessions are opened
 * before and closed after it. The target's tier counters are read before and after.
 */
public final class Runner {

  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private Runner() {}

  /**
   * Runs {@code source} against {@code target}.
   *
   * @param progress a progress bar over requests (or seconds, for a run with a duration), updated
   *     from this thread; its total must match; null for none
   * @throws IOException if a session cannot be opened or a worker fails (the first failure; the run
   *     is stopped)
   */
  public static RunResult run(
      Target target, RequestSource source, String workload, RunConfig config, ProgressBar progress)
      throws IOException, InterruptedException {
    List<Session> sessions = new ArrayList<>();
    try {
      for (int i = 0; i < config.workers(); i++) {
        sessions.add(target.openSession());
      }
      return run(target, sessions, source, workload, config, progress);
    } finally {
      for (Session s : sessions) {
        s.close();
      }
    }
  }

  private static RunResult run(Target target, List<Session> sessions, RequestSource source,
      String workload, RunConfig config, ProgressBar progress)
      throws IOException, InterruptedException {
    BlockingQueue<Request> queue = new ArrayBlockingQueue<>(2 * config.workers());
    AtomicLong completed = new AtomicLong();
    LongAdder bytesMoved = new LongAdder();
    TierCounters before = target.counters();
    List<Recorder> recorders = new ArrayList<>();
    List<Worker> workers = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < config.workers(); i++) {
      Recorder rec = new Recorder(config.timelineBinNanos());
      Worker w = new Worker(sessions.get(i), i < config.readers(), queue, config, rec, completed,
          bytesMoved, 0x5EED + i);
      recorders.add(rec);
      workers.add(w);
      Thread t = new Thread(w, "kvbench-" + (i < config.readers() ? "reader-" : "writer-") + i);
      t.setDaemon(true);
      threads.add(t);
    }
    // The clock starts once every worker's buffers exist; Thread.start publishes it to them.
    final long start = System.nanoTime();
    for (Recorder rec : recorders) {
      rec.startAt(start);
    }
    for (Thread t : threads) {
      t.start();
    }
    Function<Long, String> rate = now -> String.format(Locale.ROOT, "%.3f GB/s",
        bytesMoved.sum() / Math.max(1e-9, (now - start) / 1e9) / 1e9);
    Dispatch d = new Dispatch(queue, workers, config, progress, completed, rate, start);
    try {
      d.dispatchAll(source);
    } finally {
      // Ask every worker to finish; a worker that failed no longer takes, so make room first.
      if (d.failure() != null) {
        queue.clear();
      }
      for (int i = 0; i < threads.size(); i++) {
        while (!queue.offer(Worker.POISON, POLL_NANOS, TimeUnit.NANOSECONDS)) {
          if (d.failure() != null) {
            queue.clear();
          }
        }
      }
      for (Thread t : threads) {
        while (t.isAlive()) {
          t.join(TimeUnit.NANOSECONDS.toMillis(POLL_NANOS));
          d.progress();
        }
      }
    }
    long elapsed = System.nanoTime() - start;
    Throwable failure = d.failure();
    if (failure != null) {
      throw failure instanceof IOException io ? io
          : new IOException("a worker failed: " + failure, failure);
    }
    if (progress != null) {
      progress.finish(d.progressDone(), rate.apply(System.nanoTime()));
    }
    Recorder all = new Recorder(config.timelineBinNanos());
    all.startAt(start);
    for (Recorder r : recorders) {
      all.add(r);
    }
    int pageLength = PageFormat.pageLength(config.payloadBytes());
    List<TierResult> tiers;
    try {
      tiers = target.counters().since(before, pageLength);
    } catch (IOException e) {
      // The target's counters after the run (the daemon's STATS) are one more call that can fail
      // (a daemon gone or stalled at the end): the run's own figures stand, the tiers' are left out.
      if (config.stopOnFailure()) {
        throw e;
      }
      all.failed(Worker.causeOf(e));
      tiers = List.of();
    }
    RunReport report = new RunReport(config.command(), target.name(), workload, config.label(),
        config.payloadBytes(), config.workers(), elapsed, all.requests, all.fetchCalls,
        all.pagesFetched, all.bytesFetched, all.putCalls, all.pagesPut, all.bytesPut,
        LatencySummary.of(all.fetchLatency), LatencySummary.of(all.putLatency),
        all.blockReferences, all.hitBlocks, all.tokens, all.hitTokens,
        tiers, all.errors, all.putRejects, all.failedCalls, all.failures,
        config.prefillTokensPerS(),
        LatencySummary.of(all.ttftWithout), LatencySummary.of(all.ttftWith),
        config.timelineBinNanos(), all.timeline(elapsed));
    return new RunResult(report, all.fetchLatency, all.putLatency);
  }

  /** The dispatching loop and its progress reporting, on the calling thread. */
  private static final class Dispatch {
    private final BlockingQueue<Request> queue;
    private final List<Worker> workers;
    private final RunConfig config;
    private final ProgressBar progress;
    private final AtomicLong completed;
    private final Function<Long, String> rate;
    private final long start;

    Dispatch(BlockingQueue<Request> queue, List<Worker> workers, RunConfig config,
        ProgressBar progress, AtomicLong completed, Function<Long, String> rate, long start) {
      this.queue = queue;
      this.workers = workers;
      this.config = config;
      this.progress = progress;
      this.completed = completed;
      this.rate = rate;
      this.start = start;
    }

    void dispatchAll(RequestSource source) throws InterruptedException {
      long firstArrival = Long.MIN_VALUE;
      for (Request r = source.next(); r != null; r = source.next()) {
        if (firstArrival == Long.MIN_VALUE) {
          firstArrival = r.arrivalMicros();
        }
        if (config.timeScale() > 0) {
          long due = start + Math.round((r.arrivalMicros() - firstArrival) * 1_000.0 * config.timeScale());
          for (long now = System.nanoTime(); now < due && !stop(); now = System.nanoTime()) {
            LockSupport.parkNanos(Math.min(due - now, POLL_NANOS));
            progress();
          }
        }
        while (!stop() && !queue.offer(r, POLL_NANOS, TimeUnit.NANOSECONDS)) {
          progress();
        }
        progress();
        if (stop()) {
          return;
        }
      }
    }

    /** Whether to stop dispatching: a worker failed or the duration is over. */
    private boolean stop() {
      return failure() != null
          || (config.durationNanos() > 0 && System.nanoTime() - start >= config.durationNanos());
    }

    Throwable failure() {
      for (Worker w : workers) {
        if (w.failure() != null) {
          return w.failure();
        }
      }
      return null;
    }

    long progressDone() {
      return config.durationNanos() > 0
          ? Math.min(config.durationNanos(), System.nanoTime() - start) / 1_000_000_000L
          : completed.get();
    }

    void progress() {
      if (progress != null) {
        long now = System.nanoTime();
        progress.update(progressDone(), rate.apply(now));
      }
    }
  }
}
