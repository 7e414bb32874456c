package io.kvstore.bench.sim;

import io.kvstore.bench.trace.Trace;
import io.kvstore.bench.trace.TraceBuilder;
import java.util.SplittableRandom;

/** Small hand-made and random traces for simulator tests. */
final class SimTraces {

  private SimTraces() {}

  /** A trace whose requests have these block hash ids, each block full (512 tokens). */
  static Trace of(long[]... requests) {
    TraceBuilder b = new TraceBuilder();
    for (int r = 0; r < requests.length; r++) {
      b.beginRequest(r * 1000L, requests[r].length * 512, 1);
      for (long id : requests[r]) {
        b.addBlock(id);
      }
    }
    return b.build("test", "mooncake", 512);
  }

  /**
   * A random conversation-like trace: each request extends a recent request's prefix (or starts a
   * new chain) with a few new blocks, so blocks recur as prefixes, like multi-turn chat.
   */
  static Trace random(long seed, int requests) {
    SplittableRandom random = new SplittableRandom(seed);
    long[][] all = new long[requests][];
    long nextId = 0;
    for (int r = 0; r < requests; r++) {
      long[] base = r > 0 && random.nextInt(3) > 0 ? all[Math.max(0, r - 1 - random.nextInt(8))] : new long[0];
      int keep = base.length == 0 ? 0 : 1 + random.nextInt(base.length);
      int fresh = 1 + random.nextInt(4);
      long[] blocks = new long[keep + fresh];
      System.arraycopy(base, 0, blocks, 0, keep);
      for (int i = keep; i < blocks.length; i++) {
        blocks[i] = nextId++;
      }
      all[r] = blocks;
    }
    return of(all);
  }
}
