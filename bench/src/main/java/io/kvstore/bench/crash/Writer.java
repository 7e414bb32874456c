package io.kvstore.bench.crash;

import io.kvstore.client.GetResult;
import io.kvstore.client.KvStoreClient;
import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.PutResult;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One writer thread of a cycle: puts new versions of its own keys ({@code k % writers == index}),
 * deletes some and reads some back, recording every acknowledgement in the {@link KeyModel} before
 * the next request, until the daemon is killed under it (its request fails).
 *
 * <p>A request that fails leaves its puts "uncertain" (the daemon may or may not hold them) and ends
 * this writer's cycle: issuing more writes to a key whose last write has an unknown outcome could
 * let that write land after a newer one, which the model could not tell from a bug.
 */
final class Writer implements Runnable {

  private final int index;
  private final int writers;
  private final KvStoreClient client;
  private final KeyModel model;
  private final PagePattern pattern;
  private final int batch;
  private final double deleteRatio;
  private final double readRatio;
  private final SplittableRandom random;
  /** Set just before the kill: a request that fails after it failed because of the kill. */
  private final AtomicBoolean killed;
  /** Set to end the run between requests (a graceful stop follows, not a kill). */
  private final AtomicBoolean stopAsked;
  private final int ownKeys;

  private final ByteBuffer[] pages;
  private final ByteBuffer scratch;
  private final int[] chosen;

  long putsAcked;
  long deletesAcked;
  long putsRejected;
  long liveReads;
  final long[] liveVerdicts = new long[Verdict.values().length];
  /** A request that failed while the daemon was still meant to run, or null. */
  String errorBeforeKill;
  /** A wrong or stale page seen while running, or null. */
  String firstLiveFailure;
  /** Refused pages per error code (index: the code), to say why puts were refused. */
  final long[] rejectsByCode = new long[256];

  Writer(int index, int writers, KvStoreClient client, KeyModel model, PagePattern pattern,
      int batch, double deleteRatio, double readRatio, long seed, AtomicBoolean killed,
      AtomicBoolean stopAsked) {
    this.index = index;
    this.writers = writers;
    this.client = client;
    this.model = model;
    this.pattern = pattern;
    this.deleteRatio = deleteRatio;
    this.readRatio = readRatio;
    this.random = new SplittableRandom(seed);
    this.killed = killed;
    this.stopAsked = stopAsked;
    this.ownKeys = (model.keys() - index + writers - 1) / writers;
    this.batch = Math.max(1, Math.min(batch, ownKeys));
    this.pages = new ByteBuffer[this.batch];
    for (int i = 0; i < this.batch; i++) {
      pages[i] = ByteBuffer.allocateDirect(pattern.pageLength());
    }
    this.scratch = ByteBuffer.allocateDirect(pattern.pageLength());
    this.chosen = new int[this.batch];
  }

  @Override
  public void run() {
    if (ownKeys <= 0) {
      return;
    }
    // Until a request fails: the kill, or a failure before it. Stopping at the kill flag instead
    // would let every writer finish its request between the flag and the signal, so no request
    // would ever be in flight at the crash. Before a graceful stop, until asked: every request
    // then has its answer.
    while (!stopAsked.get()) {
      chooseKeys();
      double op = random.nextDouble();
      boolean ok;
      if (op < deleteRatio) {
        ok = delete();
      } else if (op < deleteRatio + readRatio) {
        ok = read();
      } else {
        ok = put();
      }
      if (!ok) {
        return;
      }
    }
  }

  /** Distinct keys of this writer. */
  private void chooseKeys() {
    for (int i = 0; i < batch; i++) {
      int k;
      boolean dup;
      do {
        k = index + writers * random.nextInt(ownKeys);
        dup = false;
        for (int j = 0; j < i; j++) {
          dup |= chosen[j] == k;
        }
      } while (dup);
      chosen[i] = k;
    }
  }

  private long[] keys() {
    long[] keys = new long[2 * batch];
    for (int i = 0; i < batch; i++) {
      keys[2 * i] = pattern.keyHi(chosen[i]);
      keys[2 * i + 1] = pattern.keyLo(chosen[i]);
    }
    return keys;
  }

  private boolean put() {
    long[] versions = new long[batch];
    for (int i = 0; i < batch; i++) {
      versions[i] = model.nextVersion(chosen[i]);
      pattern.build(pages[i], chosen[i], versions[i]);
    }
    PutResult r;
    try {
      r = client.put(pages);
    } catch (RuntimeException e) {
      for (int i = 0; i < batch; i++) {
        model.putUncertain(chosen[i], versions[i]);
      }
      return failed("PUT", e);
    }
    for (int i = 0; i < batch; i++) {
      if (r.status(i) == ErrorCode.OK) {
        model.putAcked(chosen[i], versions[i]);
        putsAcked++;
      } else {
        // Refused (e.g. NO_SPACE): it should not be stored, but nothing here depends on that.
        model.putUncertain(chosen[i], versions[i]);
        putsRejected++;
        rejectsByCode[r.status(i) & 0xff]++;
      }
    }
    return true;
  }

  private boolean delete() {
    for (int i = 0; i < batch; i++) {
      model.deleteSent(chosen[i]);
    }
    try {
      client.delete(keys());
    } catch (RuntimeException e) {
      // Unknown outcome: the last acknowledged version stays acceptable, and so does a miss.
      return failed("DELETE", e);
    }
    for (int i = 0; i < batch; i++) {
      model.deleteAcked(chosen[i]);
    }
    deletesAcked += batch;
    return true;
  }

  private boolean read() {
    for (ByteBuffer p : pages) {
      p.clear();
    }
    GetResult r;
    try {
      r = client.get(keys(), pages);
    } catch (RuntimeException e) {
      return failed("GET", e);
    }
    for (int i = 0; i < batch; i++) {
      Verdict v = model.judge(chosen[i], pages[i], 0, r.isHit(i) ? r.length(i) : -1, scratch);
      liveVerdicts[v.ordinal()]++;
      liveReads++;
      if (v.isFailure() && firstLiveFailure == null) {
        firstLiveFailure = v + " page of key " + chosen[i] + " read while the daemon ran";
      }
    }
    return true;
  }

  private boolean failed(String op, RuntimeException e) {
    if (!killed.get()) {
      errorBeforeKill = op + " failed before the kill: " + e;
    }
    return false;
  }
}
