package io.kvstore.bench.sim;

import io.kvstore.bench.trace.Trace;
import java.util.Arrays;

/*
 * Implementation notes.
 *
 * Belady's MIN (L. A. Belady, "A study of replacement algorithms for a virtual-storage computer",
 * IBM Systems Journal 5(2), 1966): on a miss with a full cache, evict the block whose next reference
 * is farthest in the future; a block never referenced again is the farthest of all. It needs the
 * future, so it is only an offline bound: what any policy could reach on this trace with this
 * capacity (under "always admit": MIN here stores every missed block, as the online policies do).
 *
 * nextRef[i] is the index of the next reference to the same block after reference i (NEVER if
 * none), computed in one backward pass. The cache is an indexed binary max-heap of blocks keyed by
 * their next reference: a hit re-keys the block to its new next reference (sift up: the key only
 * grows), a miss pops the maximum. O(log capacity) per reference, primitive arrays only.
 */

/** Belady's MIN on a trace, with the same prefix-hit semantics as {@link PrefixCacheSimulator}. */
public final class BeladySimulator {

  /** The policy name in reports. */
  public static final String NAME = "belady-min";

  private static final int NEVER = Integer.MAX_VALUE;

  private final Trace trace;
  private final int[] nextRef;

  /** Prepares {@code trace} (one pass to find each reference's next reference). */
  public BeladySimulator(Trace trace) {
    this.trace = trace;
    int refs = trace.blockReferences();
    nextRef = new int[refs];
    int[] upcoming = new int[trace.uniqueBlocks()];
    Arrays.fill(upcoming, NEVER);
    for (int i = refs - 1; i >= 0; i--) {
      int block = trace.block(i);
      nextRef[i] = upcoming[block];
      upcoming[block] = i;
    }
  }

  /** Replays the trace with a cache of {@code capacity} blocks. */
  public SimResult run(int capacity) {
    if (capacity <= 0) {
      throw new IllegalArgumentException("capacity must be positive: " + capacity);
    }
    // heap[i] = block; key[block] = its next reference; pos[block] = its heap index or -1.
    int[] heap = new int[capacity];
    int[] key = new int[trace.uniqueBlocks()];
    int[] pos = new int[trace.uniqueBlocks()];
    Arrays.fill(pos, -1);
    int size = 0;
    long hits = 0;
    long insertions = 0;
    long evictions = 0;
    for (int r = 0; r < trace.requestCount(); r++) {
      int start = trace.requestStart(r);
      int end = trace.requestEnd(r);
      int k = start;
      while (k < end && pos[trace.block(k)] >= 0) {
        k++;
      }
      hits += k - start;
      for (int ref = start; ref < end; ref++) {
        int block = trace.block(ref);
        if (pos[block] >= 0) {
          key[block] = nextRef[ref];
          siftUp(heap, key, pos, pos[block]);
          continue;
        }
        if (size == capacity) {
          int victim = heap[0];
          pos[victim] = -1;
          size--;
          if (size > 0) {
            heap[0] = heap[size];
            pos[heap[0]] = 0;
            siftDown(heap, key, pos, 0, size);
          }
          evictions++;
        }
        key[block] = nextRef[ref];
        heap[size] = block;
        pos[block] = size;
        siftUp(heap, key, pos, size);
        size++;
        insertions++;
      }
    }
    return new SimResult(NAME, capacity, hits, trace.blockReferences(), insertions, evictions);
  }

  private static void siftUp(int[] heap, int[] key, int[] pos, int i) {
    int block = heap[i];
    while (i > 0) {
      int parent = (i - 1) >>> 1;
      if (key[heap[parent]] >= key[block]) {
        break;
      }
      heap[i] = heap[parent];
      pos[heap[i]] = i;
      i = parent;
    }
    heap[i] = block;
    pos[block] = i;
  }

  private static void siftDown(int[] heap, int[] key, int[] pos, int i, int size) {
    int block = heap[i];
    while (true) {
      int child = 2 * i + 1;
      if (child >= size) {
        break;
      }
      if (child + 1 < size && key[heap[child + 1]] > key[heap[child]]) {
        child++;
      }
      if (key[heap[child]] <= key[block]) {
        break;
      }
      heap[i] = heap[child];
      pos[heap[i]] = i;
      i = child;
    }
    heap[i] = block;
    pos[block] = i;
  }
}
