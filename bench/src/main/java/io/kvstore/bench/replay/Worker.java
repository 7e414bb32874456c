package io.kvstore.bench.replay;

import io.kvstore.bench.report.TtftModel;
import io.kvstore.bench.targets.BenchPages;
import io.kvstore.bench.targets.Session;
import io.kvstore.client.KvStoreException;
import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.common.PageFormat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * One worker of a run: takes requests from the run's bounded queue and plays them against its own
 * session. A reader does what an engine does before prefill: fetch the leading run of the prompt's
 * blocks in batches (stopping at the first batch that comes back short), verify every page, then
 * store the blocks that missed (the ones prefill computed). A writer stores every block.
 *
 * <p>Owns its buffers: {@code batch} destination pages and {@code batch} pages to put, direct,
 * allocated once; building a page copies a payload template and stamps the key (no per-page
 * objects).
 */
final class Worker implements Runnable {

  /** How long a worker waits after a failed call before its next request. */
  static final long FAILURE_PAUSE_MILLIS = 10;

  /** Put on the queue once per worker to tell it to finish. */
  static final Request POISON = new Request(-1, 0, 0, 1, new long[0]);

  private final Session session;
  private final boolean reader;
  private final BlockingQueue<Request> queue;
  private final RunConfig config;
  private final TtftModel ttft;
  private final Recorder recorder;
  private final AtomicLong completed;
  private final LongAdder bytesMoved;
  private final ByteBuffer[] dsts;
  private final ByteBuffer[] pages;
  private final ByteBuffer template;
  private final long[] keys;
  private final int pageLength;
  private volatile Throwable failure;

  Worker(Session session, boolean reader, BlockingQueue<Request> queue, RunConfig config,
      Recorder recorder, AtomicLong completed, LongAdder bytesMoved, long seed) {
    this.session = session;
    this.reader = reader;
    this.queue = queue;
    this.config = config;
    this.ttft = new TtftModel(config.prefillTokensPerS());
    this.recorder = recorder;
    this.completed = completed;
    this.bytesMoved = bytesMoved;
    this.pageLength = PageFormat.pageLength(config.payloadBytes());
    this.dsts = new ByteBuffer[config.batch()];
    this.pages = new ByteBuffer[config.batch()];
    for (int i = 0; i < config.batch(); i++) {
      dsts[i] = ByteBuffer.allocateDirect(pageLength);
      pages[i] = ByteBuffer.allocateDirect(pageLength);
    }
    this.template = BenchPages.payloadTemplate(config.payloadBytes(), seed);
    this.keys = new long[2 * config.batch()];
  }

  /** The error that stopped this worker, or null. */
  Throwable failure() {
    return failure;
  }

  @Override
  public void run() {
    try {
      for (Request r = queue.take(); r != POISON; r = queue.take()) {
        play(r);
        completed.incrementAndGet();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Throwable t) {
      // Recorded for the coordinator, which stops the run and reports it.
      failure = t;
    }
  }

  /**
   * Plays one request: a reader fetches its leading run, then stores the blocks after it. A request
   * with a failed call is abandoned there and left out of the figures (requests, hit ratio, TTFT):
   * only the failure is counted. Calls made before it are counted as any call is.
   */
  private void play(Request r) throws IOException, InterruptedException {
    int run = 0;
    if (reader) {
      long start = System.nanoTime();
      run = fetchPrefix(r);
      if (run < 0) {
        return;
      }
      recorder.lookedUp(r, run, System.nanoTime() - start, ttft);
    }
    if (store(r, run)) {
      recorder.requests++;
    }
  }

  /**
   * A call that failed (the target's error, e.g. a connection closed by a daemon's restart, a
   * timeout, a refusal): ends the run with it under {@code --stop-on-failure}, else counts it by
   * its cause, pauses {@link #FAILURE_PAUSE_MILLIS} and goes on with the next request. Its latency
   * is not recorded.
   */
  private void failed(IOException e) throws IOException, InterruptedException {
    if (config.stopOnFailure()) {
      throw e;
    }
    recorder.failed(causeOf(e));
    // The SDK fails calls at once while it has no connection: without a pause every worker would
    // spin through requests for as long as a daemon is down, counting thousands of failures and
    // taking the CPU the daemon restarting on the same host needs. An engine would recompute.
    Thread.sleep(FAILURE_PAUSE_MILLIS);
  }

  /** The error code of a failed SDK call, else the class of the failure's cause. */
  static String causeOf(IOException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof KvStoreException k) {
        return ErrorCode.name(k.code());
      }
    }
    Throwable root = e.getCause() != null ? e.getCause() : e;
    return root.getClass().getSimpleName();
  }

  /** Fetches the leading run of {@code r}'s blocks; returns its length, or -1 if a call failed. */
  private int fetchPrefix(Request r) throws IOException, InterruptedException {
    int blocks = r.blocks();
    long[] all = r.keys();
    int run = 0;
    while (run < blocks) {
      int n = Math.min(config.batch(), blocks - run);
      System.arraycopy(all, 2 * run, keys, 0, 2 * n);
      long t0 = System.nanoTime();
      int got;
      try {
        got = session.fetchPrefix(all, run, keys, n, dsts);
      } catch (IOException e) {
        failed(e);
        return -1;
      }
      long t1 = System.nanoTime();
      long bytes = 0;
      int good = 0;
      while (good < got) {
        ByteBuffer page = dsts[good];
        if (!BenchPages.verify(page, keys[2 * good], keys[2 * good + 1], config.namespaceId(),
            pageLength)) {
          // Wrong bytes are never used: the run ends there, as at a miss, and the error is counted.
          recorder.errors++;
          break;
        }
        bytes += page.remaining();
        good++;
      }
      recorder.fetch(t1 - t0, good, bytes, t1);
      bytesMoved.add(bytes);
      run += good;
      if (good < n) {
        break;
      }
    }
    return run;
  }

  /** Stores blocks {@code [from, blocks)} of {@code r} in batches; false if a call failed. */
  private boolean store(Request r, int from) throws IOException, InterruptedException {
    long[] all = r.keys();
    int blocks = r.blocks();
    for (int b = from; b < blocks; ) {
      int n = Math.min(config.batch(), blocks - b);
      for (int i = 0; i < n; i++) {
        int block = b + i;
        long parentHi = block == 0 ? 0 : all[2 * block - 2];
        long parentLo = block == 0 ? 0 : all[2 * block - 1];
        BenchPages.build(pages[i], template, all[2 * block], all[2 * block + 1], parentHi, parentLo,
            config.namespaceId(), r.tokensInBlock(block), config.payloadBytes());
      }
      long t0 = System.nanoTime();
      int stored;
      try {
        stored = session.put(all, b, pages, n);
      } catch (IOException e) {
        failed(e);
        return false;
      }
      long t1 = System.nanoTime();
      long bytes = (long) n * pageLength;
      recorder.put(t1 - t0, n, bytes, n - stored, t1);
      bytesMoved.add(bytes);
      b += n;
    }
    return true;
  }
}
