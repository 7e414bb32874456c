package io.kvstore.bench.jmh;

import io.kvstore.bench.targets.TempDirs;
import io.kvstore.core.store.TieredStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@code lookupPrefix} over a chain of 1,000 blocks, all present, in the tier named: the cost an
 * engine pays before prefill to learn how much of a long prompt it can fetch. Small pages, since
 * only the key directory is consulted. Run: {@code bin/jmh LookupPrefixBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
public class LookupPrefixBenchmark {

  private static final int CHAIN = 1000;

  @Param({"dram", "ssd"})
  public String tier;

  private TieredStore store;
  private Path dir;
  private final long[] keys = new long[2 * CHAIN];
  private final int[] perTier = new int[3];

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    dir = Files.createTempDirectory("kvstore-jmh-lookup");
    store =
        TieredStore.builder()
            .dataDir(dir)
            .maxPageBytes(4096 + 64)
            .hotBytes(0)
            .dramBytes(tier.equals("dram") ? 64L << 20 : 0)
            .ssdBytes(tier.equals("ssd") ? 64L << 20 : 0)
            .build();
    for (int i = 0; i < CHAIN; i++) {
      keys[2 * i] = 0x1234L;
      keys[2 * i + 1] = i;
      if (!store.put(Pages.page(0x1234L, i, 4096, i))) {
        throw new IllegalStateException("setup put refused");
      }
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    store.close();
    TempDirs.deleteRecursively(dir);
  }

  @Benchmark
  public int lookupPrefix1000() {
    int run = store.lookupPrefix(keys, CHAIN, perTier);
    if (run != CHAIN) {
      throw new IllegalStateException("run " + run + " != " + CHAIN);
    }
    return run;
  }
}
