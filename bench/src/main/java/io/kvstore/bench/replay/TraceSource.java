package io.kvstore.bench.replay;

import io.kvstore.bench.trace.Trace;
import io.kvstore.common.Namespace;

/**
 * The requests of a {@link Trace}. Every distinct block gets its key once, up front: the chained key
 * of its tokens ({@link SyntheticTokens}) after the block before it in the first request that has
 * it. A trace's hash ids already identify prefixes (equal id, equal prefix), so later requests
 * reuse that key.
 */
public final class TraceSource implements RequestSource {

  private final Trace trace;
  private final int count;
  private final long[] keyTable;
  private int next;

  /**
   * @param maxRequests how many requests to take from the start of the trace (0: all)
   */
  public TraceSource(Trace trace, Namespace namespace, int maxRequests) {
    if (namespace.blockSize() != trace.blockTokens()) {
      throw new IllegalArgumentException("namespace block size " + namespace.blockSize()
          + " differs from the trace's " + trace.blockTokens());
    }
    this.trace = trace;
    this.count = maxRequests <= 0 ? trace.requestCount() : Math.min(maxRequests, trace.requestCount());
    this.keyTable = new long[2 * trace.uniqueBlocks()];
    boolean[] done = new boolean[trace.uniqueBlocks()];
    SyntheticTokens tokens = new SyntheticTokens(namespace);
    for (int r = 0; r < count; r++) {
      long parentHi = 0;
      long parentLo = 0;
      for (int ref = trace.requestStart(r); ref < trace.requestEnd(r); ref++) {
        int b = trace.block(ref);
        if (!done[b]) {
          tokens.key(trace.hashId(b), parentHi, parentLo, keyTable, 2 * b);
          done[b] = true;
        }
        parentHi = keyTable[2 * b];
        parentLo = keyTable[2 * b + 1];
      }
    }
  }

  @Override
  public Request next() {
    if (next >= count) {
      return null;
    }
    int r = next++;
    int start = trace.requestStart(r);
    long[] keys = new long[2 * trace.blockCount(r)];
    for (int i = 0; i < keys.length / 2; i++) {
      int b = trace.block(start + i);
      keys[2 * i] = keyTable[2 * b];
      keys[2 * i + 1] = keyTable[2 * b + 1];
    }
    return new Request(r, trace.timestampMicros(r) - trace.timestampMicros(0), trace.inputLength(r),
        trace.blockTokens(), keys);
  }

  @Override
  public long size() {
    return count;
  }

  @Override
  public String describe() {
    return String.format("trace %s (%s), %,d of %,d requests", trace.source(), trace.format(), count,
        trace.requestCount());
  }
}
