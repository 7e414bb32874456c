package io.kvstore.bench.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kvstore.bench.trace.Trace;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class BeladySimulatorTest {

  @Test
  void shouldEvictTheBlockUsedFarthestInTheFuture() {
    Trace t = SimTraces.of(
        new long[] {1}, new long[] {2}, new long[] {3}, new long[] {1}, new long[] {2});
    // On 3, block 2 (next used at 4) goes rather than 1 (next used at 3): 1 then hits.
    SimResult r = new BeladySimulator(t).run(2);
    assertEquals(1, r.hitBlocks());
    assertEquals(BeladySimulator.NAME, r.policy());
  }

  @Test
  void shouldEvictBlocksNeverUsedAgainFirst() {
    Trace t = SimTraces.of(new long[] {1, 2}, new long[] {9}, new long[] {1, 2});
    // With room for 2, MIN evicts 2 (used later than 1) for 9, then 9 (never used again) for 2.
    assertEquals(1, new BeladySimulator(t).run(2).hitBlocks());
    assertEquals(2, new BeladySimulator(t).run(3).hitBlocks());
  }

  @Test
  void shouldMatchANaiveMinOnRandomTraces() {
    for (long seed = 1; seed <= 10; seed++) {
      Trace t = SimTraces.random(seed, 300);
      BeladySimulator belady = new BeladySimulator(t);
      for (int capacity : new int[] {1, 3, 10, 40}) {
        assertEquals(naiveMinHits(t, capacity), belady.run(capacity).hitBlocks(),
            "seed " + seed + " capacity " + capacity);
      }
    }
  }

  /** MIN by brute force: on a miss with a full cache, scan forward for each cached block. */
  private static long naiveMinHits(Trace t, int capacity) {
    boolean[] cached = new boolean[t.uniqueBlocks()];
    int size = 0;
    long hits = 0;
    for (int r = 0; r < t.requestCount(); r++) {
      int k = t.requestStart(r);
      while (k < t.requestEnd(r) && cached[t.block(k)]) {
        k++;
      }
      hits += k - t.requestStart(r);
      for (int ref = t.requestStart(r); ref < t.requestEnd(r); ref++) {
        int b = t.block(ref);
        if (cached[b]) {
          continue;
        }
        if (size == capacity) {
          int victim = -1;
          long farthest = -1;
          for (int c = 0; c < cached.length; c++) {
            if (cached[c]) {
              long next = Long.MAX_VALUE;
              for (int f = ref + 1; f < t.blockReferences(); f++) {
                if (t.block(f) == c) {
                  next = f;
                  break;
                }
              }
              if (next > farthest) {
                farthest = next;
                victim = c;
              }
            }
          }
          cached[victim] = false;
          size--;
        }
        cached[b] = true;
        size++;
      }
    }
    Arrays.fill(cached, false);
    return hits;
  }
}
