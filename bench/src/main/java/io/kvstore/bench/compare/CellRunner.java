package io.kvstore.bench.compare;

import io.kvstore.bench.report.Histograms;
import io.kvstore.bench.report.LatencySummary;
import io.kvstore.bench.targets.BenchPages;
import io.kvstore.bench.targets.Session;
import io.kvstore.bench.targets.Target;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.HdrHistogram.Histogram;

/**
 * Runs one cell against one target: one thread per connection, each with its own session, calling
 * the operation back to back on consecutive keys of the working set (each thread from its own
 * offset, wrapping) for the warm-up and then the measured window. A call counts if it started inside
 * the window (or, until each connection has {@link #MIN_CALLS}, after it); the window ends when the
 * last counted call does. Every fetched page is verified.
 *
 * <p>A session that fetches in place ({@link Session#fetchesInPlace()}: the daemon through shared
 * memory, with the SDK's page views) is measured that way: its call ends when the views are
 * handed out (the SDK has checked each page in place), then every page is verified here exactly as
 * a copied one (length, both CRCs, key, namespace) and the views are released; verifying and
 * releasing fall inside the throughput window, as the verification of copied pages does.
 */
final class CellRunner {

  /** Least measured calls per connection, however long they take. */
  static final int MIN_CALLS = 3;

  private final long namespaceId;
  private final long warmupNanos;
  private final long durationNanos;

  CellRunner(long namespaceId, long warmupNanos, long durationNanos) {
    this.namespaceId = namespaceId;
    this.warmupNanos = warmupNanos;
    this.durationNanos = durationNanos;
  }

  /** Puts every page of {@code ws} into {@code target}, so that gets find them. */
  static void preload(Target target, WorkingSet ws) throws IOException {
    try (Session s = target.openSession()) {
      int batch = 8;
      ByteBuffer[] views = new ByteBuffer[batch];
      for (int from = 0; from < ws.count(); from += batch) {
        int n = Math.min(batch, ws.count() - from);
        for (int i = 0; i < n; i++) {
          views[i] = ws.pages[from + i].duplicate();
        }
        int stored = s.put(views, n);
        if (stored != n) {
          throw new IOException(target.name() + " stored " + stored + " of " + n
              + " pages while preloading: is it large enough for the working set?");
        }
      }
    }
  }

  CellResult run(Target target, Cell cell, WorkingSet ws) throws IOException, InterruptedException {
    List<Session> sessions = new ArrayList<>();
    List<Loop> loops = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    try {
      for (int c = 0; c < cell.connections(); c++) {
        sessions.add(target.openSession());
      }
      long start = System.nanoTime();
      long measureFrom = start + warmupNanos;
      long measureUntil = measureFrom + durationNanos;
      for (int c = 0; c < cell.connections(); c++) {
        Loop loop = new Loop(sessions.get(c), cell, ws, c * ws.count() / cell.connections(),
            measureFrom, measureUntil);
        loops.add(loop);
        Thread t = new Thread(loop, "kvbench-compare-" + c);
        t.setDaemon(true);
        threads.add(t);
        t.start();
      }
      for (Thread t : threads) {
        t.join();
      }
      Histogram h = Histograms.newLatencyHistogram();
      long calls = 0;
      long pages = 0;
      long bytes = 0;
      long errors = 0;
      long misses = 0;
      // Every loop runs at least until the window's end (its last call may end a little before it,
      // the loop still checking that call's pages): the window is measured whole, or longer when
      // calls outlast it.
      long lastEnd = measureUntil;
      for (Loop l : loops) {
        if (l.failure != null) {
          throw l.failure instanceof IOException io ? io
              : new IOException(target.name() + " failed in " + cell.name() + ": " + l.failure,
                  l.failure);
        }
        h.add(l.latency);
        calls += l.calls;
        pages += l.pages;
        bytes += l.bytes;
        errors += l.errors;
        misses += l.misses;
        lastEnd = Math.max(lastEnd, l.lastEnd);
      }
      return new CellResult(target.name(), cell, calls, pages, bytes, lastEnd - measureFrom,
          LatencySummary.of(h), h, errors, misses);
    } finally {
      for (Session s : sessions) {
        s.close();
      }
    }
  }

  /** One connection's loop. */
  private final class Loop implements Runnable {
    private final Session session;
    private final Cell cell;
    private final WorkingSet ws;
    private final long measureFrom;
    private final long measureUntil;
    private final ByteBuffer[] views;
    private final ByteBuffer[] batchPages;
    private final ByteBuffer[] dsts;
    /** Pages lent in place by a session that fetches in place, else null. */
    private final ByteBuffer[] lent;
    private final long[] keys;
    private final Histogram latency = Histograms.newLatencyHistogram();
    private int next;
    long calls;
    long pages;
    long bytes;
    long errors;
    long misses;
    long lastEnd;
    volatile Throwable failure;

    Loop(Session session, Cell cell, WorkingSet ws, int offset, long measureFrom, long measureUntil) {
      this.session = session;
      this.cell = cell;
      this.ws = ws;
      this.next = offset;
      this.measureFrom = measureFrom;
      this.measureUntil = measureUntil;
      this.keys = new long[2 * cell.batch()];
      this.batchPages = new ByteBuffer[cell.batch()];
      this.lent = !cell.op().equals("put") && session.fetchesInPlace()
          ? new ByteBuffer[cell.batch()] : null;
      if (cell.op().equals("put")) {
        // Views of the shared pages, made before the clock starts: a put never moves their positions.
        views = new ByteBuffer[ws.count()];
        for (int i = 0; i < views.length; i++) {
          views[i] = ws.pages[i].duplicate();
        }
        dsts = null;
      } else {
        views = null;
        dsts = new ByteBuffer[cell.batch()];
        for (int i = 0; i < dsts.length; i++) {
          dsts[i] = lent != null ? null : ByteBuffer.allocateDirect(ws.pageLength);
        }
      }
    }

    @Override
    public void run() {
      try {
        // A cell whose calls outlast the window still gets MIN_CALLS measured ones.
        for (long now = System.nanoTime(); now < measureUntil || calls < MIN_CALLS;
            now = System.nanoTime()) {
          int first = next;
          int n = cell.batch();
          for (int i = 0; i < n; i++) {
            int k = (first + i) % ws.count();
            keys[2 * i] = ws.keys[2 * k];
            keys[2 * i + 1] = ws.keys[2 * k + 1];
            if (views != null) {
              batchPages[i] = views[k];
            }
          }
          next = (first + n) % ws.count();
          long t0 = System.nanoTime();
          int done;
          long moved = 0;
          int good = 0;
          if (views != null) {
            done = session.put(batchPages, n);
            good = done;
            moved = (long) done * ws.pageLength;
          } else if (lent != null) {
            done = session.fetchPrefixInPlace(keys, n, lent, ws.pageLength);
          } else {
            done = session.fetchPrefix(keys, n, dsts);
          }
          long t1 = System.nanoTime();
          if (dsts != null) {
            ByteBuffer[] got = lent != null ? lent : dsts;
            for (int i = 0; i < done; i++) {
              if (BenchPages.verify(got[i], keys[2 * i], keys[2 * i + 1], namespaceId,
                  ws.pageLength)) {
                good++;
                moved += ws.pageLength;
              } else if (t0 >= measureFrom) {
                errors++;
              }
            }
            if (lent != null) {
              session.releaseFetched();
              Arrays.fill(lent, null);
            }
          }
          if (t0 >= measureFrom) {
            Histograms.record(latency, t1 - t0);
            calls++;
            pages += good;
            bytes += moved;
            misses += n - done;
            lastEnd = t1;
          }
        }
      } catch (Throwable t) {
        // Reported by run() once every loop has ended.
        failure = t;
      }
    }
  }
}
