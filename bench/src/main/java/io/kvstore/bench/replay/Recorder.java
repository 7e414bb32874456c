package io.kvstore.bench.replay;

import io.kvstore.bench.report.Histograms;
import io.kvstore.bench.report.TtftModel;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

/**
 * One worker's measurements, merged into the run's when the workers are done: nothing is shared
 * between workers while they run, so recording takes no lock.
 */
final class Recorder {

  final Histogram fetchLatency = Histograms.newLatencyHistogram();
  final Histogram putLatency = Histograms.newLatencyHistogram();
  final Histogram ttftWithout = Histograms.newLatencyHistogram();
  final Histogram ttftWith = Histograms.newLatencyHistogram();
  long requests;
  long fetchCalls;
  long pagesFetched;
  long bytesFetched;
  long putCalls;
  long pagesPut;
  long bytesPut;
  long putRejects;
  long blockReferences;
  long hitBlocks;
  long tokens;
  long hitTokens;
  long errors;
  long failedCalls;
  /** Failed calls by cause (rare: a map is fine here). */
  final Map<String, Long> failures = new TreeMap<>();
  private long startNanos;
  private final long binNanos;
  long[] timeline = new long[64];

  Recorder(long binNanos) {
    this.binNanos = binNanos;
  }

  /** Sets when the run started ({@link System#nanoTime()}), before the worker starts. */
  void startAt(long startNanos) {
    this.startNanos = startNanos;
  }

  void fetch(long nanos, int pages, long bytes, long endNanos) {
    Histograms.record(fetchLatency, nanos);
    fetchCalls++;
    pagesFetched += pages;
    bytesFetched += bytes;
    addToTimeline(endNanos, bytes);
  }

  void put(long nanos, int pages, long bytes, int rejected, long endNanos) {
    Histograms.record(putLatency, nanos);
    putCalls++;
    pagesPut += pages;
    bytesPut += bytes;
    putRejects += rejected;
    addToTimeline(endNanos, bytes);
  }

  /** A call that failed with {@code cause}. */
  void failed(String cause) {
    failedCalls++;
    failures.merge(cause, 1L, Long::sum);
  }

  /** A reader's request: its blocks, the leading run served, and the modeled TTFT. */
  void lookedUp(Request r, int run, long fetchNanos, TtftModel model) {
    blockReferences += r.blocks();
    hitBlocks += run;
    int hit = r.tokensInFirst(run);
    tokens += r.inputLength();
    hitTokens += hit;
    Histograms.record(ttftWithout, model.withoutStoreNanos(r.inputLength()));
    Histograms.record(ttftWith, model.withStoreNanos(r.inputLength(), hit, fetchNanos));
  }

  private void addToTimeline(long endNanos, long bytes) {
    int bin = (int) Math.max(0, (endNanos - startNanos) / binNanos);
    if (bin >= timeline.length) {
      timeline = Arrays.copyOf(timeline, Math.max(bin + 1, timeline.length * 2));
    }
    timeline[bin] += bytes;
  }

  /** Adds {@code other}'s measurements to this one's. */
  void add(Recorder other) {
    fetchLatency.add(other.fetchLatency);
    putLatency.add(other.putLatency);
    ttftWithout.add(other.ttftWithout);
    ttftWith.add(other.ttftWith);
    requests += other.requests;
    fetchCalls += other.fetchCalls;
    pagesFetched += other.pagesFetched;
    bytesFetched += other.bytesFetched;
    putCalls += other.putCalls;
    pagesPut += other.pagesPut;
    bytesPut += other.bytesPut;
    putRejects += other.putRejects;
    blockReferences += other.blockReferences;
    hitBlocks += other.hitBlocks;
    tokens += other.tokens;
    hitTokens += other.hitTokens;
    errors += other.errors;
    failedCalls += other.failedCalls;
    other.failures.forEach((cause, n) -> failures.merge(cause, n, Long::sum));
    if (other.timeline.length > timeline.length) {
      timeline = Arrays.copyOf(timeline, other.timeline.length);
    }
    for (int i = 0; i < other.timeline.length; i++) {
      timeline[i] += other.timeline[i];
    }
  }

  /**
   * The timeline's whole bins up to {@code elapsedNanos} (a last partial bin would read as a drop in
   * throughput); the first bin alone if the run was shorter than one.
   */
  long[] timeline(long elapsedNanos) {
    int bins = (int) Math.max(1, elapsedNanos / binNanos);
    return Arrays.copyOf(timeline, bins);
  }
}
