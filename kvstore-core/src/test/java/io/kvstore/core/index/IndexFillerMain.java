package io.kvstore.core.index;

import io.kvstore.core.tier.TierKind;
import java.nio.file.Path;

/**
 * Fills a block index with N entries in a tight loop and checks a sample, run in a forked JVM by
 * {@link BlockIndexBoundedHeapTest} with a small heap: the index must live off-heap.
 *
 * <p>Arguments: data directory, entry count. Exits 0 on success, 2 on a wrong entry.
 */
public final class IndexFillerMain {

  private IndexFillerMain() {}

  /** Entry point. */
  public static void main(String[] args) {
    Path dir = Path.of(args[0]);
    long n = Long.parseLong(args[1]);
    try (BlockIndex index = BlockIndex.open(dir, n)) {
      for (long i = 0; i < n; i++) {
        index.markPresent(i, i * 0x9E3779B97F4A7C15L, TierKind.SSD, (int) (i & 0xFFFFF), i, ~i);
      }
      IndexEntry e = new IndexEntry();
      for (long i = 0; i < n; i += 9973) {
        if (!index.get(i, i * 0x9E3779B97F4A7C15L, e)
            || e.pageLength() != (int) (i & 0xFFFFF)
            || e.parentLo() != ~i) {
          System.err.println("wrong entry for " + i + ": " + e);
          System.exit(2);
        }
      }
      if (index.size() != n) {
        System.err.println("size " + index.size() + " != " + n);
        System.exit(2);
      }
      Runtime rt = Runtime.getRuntime();
      System.out.println("entries=" + n + " heapUsed=" + (rt.totalMemory() - rt.freeMemory()));
    }
  }
}
