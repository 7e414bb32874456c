package io.kvstore.bench.jmh;

import io.kvstore.bench.targets.TempDirs;
import io.kvstore.core.store.TieredStore;
import java.io.IOException;
import java.nio.ByteBuffer;
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
 * The page directory's cost on the memory path: get and put (a replace) of pages held in the DRAM
 * tier, in a store without an SSD tier (no block index) and in one with it (every memory put and
 * eviction also updates the index), beside {@code baselineMemcpy} (a direct-buffer copy of the same
 * bytes) measured in the same run. The working set (32 MiB) fits DRAM: nothing is evicted, nothing
 * is written to SSD. Run: {@code bin/jmh DirectoryCostBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class DirectoryCostBenchmark {

  @Param({"16384"})
  public int payloadBytes;

  /** Whether the store has an SSD tier, and so a block index. */
  @Param({"false", "true"})
  public boolean withSsd;

  private TieredStore store;
  private Path dir;
  private ByteBuffer[] pageBufs;
  private ByteBuffer memcpySrc;
  private ByteBuffer dst;
  private int pages;
  private int next;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    int pageLength = io.kvstore.common.PageFormat.pageLength(payloadBytes);
    pages = (32 << 20) / pageLength;
    dir = Files.createTempDirectory("kvstore-jmh-dir");
    store =
        TieredStore.builder()
            .dataDir(dir.resolve("store"))
            .maxPageBytes(pageLength)
            .hotBytes(0)
            .dramBytes(64L << 20)
            .ssdBytes(withSsd ? 256L << 20 : 0)
            .flushOnClose(false)
            .build();
    pageBufs = new ByteBuffer[pages];
    memcpySrc = ByteBuffer.allocateDirect(pageLength * pages);
    for (int i = 0; i < pages; i++) {
      pageBufs[i] = Pages.page(7, i, payloadBytes, i);
      if (!store.put(pageBufs[i])) {
        throw new IllegalStateException("setup: page " + i + " refused");
      }
      memcpySrc.put(pageBufs[i].duplicate());
    }
    memcpySrc.clear();
    dst = ByteBuffer.allocateDirect(pageLength);
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    store.close();
    TempDirs.deleteRecursively(dir);
  }

  private int nextIndex() {
    int i = next;
    next = i + 1 == pages ? 0 : i + 1;
    return i;
  }

  @Benchmark
  public int get() {
    int i = nextIndex();
    dst.clear();
    int n = store.get(7, i, dst);
    if (n < 0) {
      throw new IllegalStateException("miss on page " + i);
    }
    return n;
  }

  @Benchmark
  public boolean put() {
    if (!store.put(pageBufs[nextIndex()])) {
      throw new IllegalStateException("put refused");
    }
    return true;
  }

  /** Baseline: copy one page's bytes between direct buffers. */
  @Benchmark
  public int baselineMemcpy() {
    int i = nextIndex();
    int len = dst.capacity();
    dst.clear();
    dst.put(memcpySrc.duplicate().position(i * len).limit((i + 1) * len));
    return dst.position();
  }
}
