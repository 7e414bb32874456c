package io.kvstore.core.memory;

import io.kvstore.common.PageFormat;
import io.kvstore.core.store.TieredStore;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * How long puts wait for slab memory while an empty DRAM tier fills: 2 MiB puts, 2 ms apart, into a
 * fresh 1 GiB DRAM tier (64 slabs of 16 MiB), in a fresh JVM, printing the puts' latency
 * percentiles and how many took over 2 ms. A measurement tool, not a test:
 *
 * <pre>
 *   ./mvnw -B -o -q -pl kvstore-core -am test-compile dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt -Dmdep.includeScope=test
 *   CP=kvstore-core/target/test-classes:kvstore-core/target/classes:kvstore-common/target/classes:$(cat /tmp/cp.txt)
 *   java $(cat bin/jvm-flags) -XX:MaxDirectMemorySize=3g -cp $CP io.kvstore.core.memory.SlabFillLatency [prefault]
 * </pre>
 *
 * With {@code prefault} the store is built with {@code memoryPrefault(true)} and the fill starts 10
 * s after it opens (time for the background allocation of the whole tier).
 */
public final class SlabFillLatency {

  private SlabFillLatency() {}

  /**
   * Runs the fill and prints one line.
   *
   * @param args {@code prefault} or nothing
   * @throws Exception on any failure (a tool: the stack trace is the message)
   */
  public static void main(String[] args) throws Exception {
    int payload = 2 << 20;
    int pageLength = PageFormat.pageLength(payload);
    long dram = 1L << 30;
    int pages = (int) (dram / pageLength) - 8;
    boolean prefault = args.length > 0 && args[0].equals("prefault");
    try (TieredStore store = TieredStore.builder().hotBytes(0).dramBytes(dram).ssdBytes(0)
        .maxPageBytes(pageLength).memoryPrefault(prefault).build()) {
      if (prefault) {
        Thread.sleep(10_000);
      }
      ByteBuffer page = ByteBuffer.allocateDirect(pageLength);
      long[] nanos = new long[pages];
      for (int i = 0; i < pages; i++) {
        page.clear();
        PageFormat.writeHeader(page, 0, 1, i, 0, 0, 0, 16, payload);
        Thread.sleep(2); // a stream of puts, not one burst
        long start = System.nanoTime();
        if (!store.put(page.duplicate())) {
          throw new IllegalStateException("put " + i + " refused");
        }
        nanos[i] = System.nanoTime() - start;
      }
      long slow = Arrays.stream(nanos).filter(n -> n > 2_000_000).count();
      Arrays.sort(nanos);
      System.out.printf(
          "%d puts of 2 MiB into an empty 1 GiB DRAM tier%s: p50 %.0f us, p99 %.0f us, max %.2f ms,"
              + " puts over 2 ms: %d%n",
          pages, prefault ? " (prefaulted)" : "", nanos[pages / 2] / 1e3, nanos[(int) (pages * 0.99)] / 1e3, nanos[pages - 1] / 1e6,
          slow);
    }
  }
}
