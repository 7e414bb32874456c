package io.kvstore.bench.jmh;

import io.kvstore.bench.targets.TempDirs;
import io.kvstore.common.PageFormat;
import io.kvstore.core.store.TieredStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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
 * Page get and put per tier, each beside its physical baseline measured in the same run:
 *
 * <ul>
 *   <li>hot and DRAM get/put vs {@code memcpy}: a direct-buffer to direct-buffer copy of the same
 *       bytes from a working set of the same size;
 *   <li>SSD get vs a raw {@link FileChannel} positional read of the same bytes from one file; SSD put
 *       vs a raw positional write into the page cache (the baseline), and, for context, vs a
 *       raw write that also forces the file to the device once per 64 MiB written, which is what
 *       RocksDB's memtable flush does for the SSD tier's blob files (default durability {@code
 *       none}: no write-ahead log).
 * </ul>
 *
 * Each tier is measured alone (the other tiers at capacity 0), so every get is served by the tier
 * named and no promotion happens. Throughput is reported in ops/s; multiply by the page size for
 * bytes/s. Run: {@code bin/jmh StoreGetPutBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class StoreGetPutBenchmark {

  @Param({"65536", "2097152"})
  public int payloadBytes;

  @Param({"hot", "dram", "ssd"})
  public String tier;

  /** Working set: 64 MiB of pages (at least 16 pages). */
  private int pages;

  private TieredStore store;
  private Path dir;
  private ByteBuffer[] pageBufs;
  private ByteBuffer dst;
  private ByteBuffer memcpySrc;
  private FileChannel file;
  private int next;
  private long written;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    int pageLength = PageFormat.pageLength(payloadBytes);
    pages = Math.max(16, (64 << 20) / pageLength);
    long room = (long) pageLength * pages * 2 + (64L << 20);
    dir = Files.createTempDirectory("kvstore-jmh");
    store =
        TieredStore.builder()
            .dataDir(dir.resolve("store"))
            .maxPageBytes(pageLength)
            .hotBytes(tier.equals("hot") ? room : 0)
            .dramBytes(tier.equals("dram") ? room : 0)
            .ssdBytes(tier.equals("ssd") ? room * 4 : 0)
            .build();
    pageBufs = new ByteBuffer[pages];
    memcpySrc = ByteBuffer.allocateDirect(pageLength * pages);
    file = FileChannel.open(dir.resolve("raw.bin"), StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    for (int i = 0; i < pages; i++) {
      pageBufs[i] = Pages.page(7, i, payloadBytes, i);
      if (!store.put(pageBufs[i])) {
        throw new IllegalStateException("setup: tier " + tier + " refused page " + i);
      }
      memcpySrc.put(pageBufs[i].duplicate());
      file.write(pageBufs[i].duplicate(), (long) i * pageLength);
    }
    memcpySrc.clear();
    dst = ByteBuffer.allocateDirect(pageLength);
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    store.close();
    file.close();
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
      throw new IllegalStateException("miss on page " + i + " in tier " + tier);
    }
    return n;
  }

  @Benchmark
  public boolean put() {
    return store.put(pageBufs[nextIndex()]);
  }

  /** Baseline for hot/DRAM: copy one page's bytes between direct buffers. */
  @Benchmark
  public int baselineMemcpy() {
    int i = nextIndex();
    int len = dst.capacity();
    dst.clear();
    dst.put(memcpySrc.duplicate().position(i * len).limit((i + 1) * len));
    return dst.position();
  }

  /** Baseline for SSD get: a positional read of one page from a plain file. */
  @Benchmark
  public int baselineFileRead() throws IOException {
    int i = nextIndex();
    dst.clear();
    return file.read(dst, (long) i * dst.capacity());
  }

  /** Context for SSD put: a positional write, and a forced flush to the device every 64 MiB. */
  @Benchmark
  public int baselineFileWriteForced() throws IOException {
    int i = nextIndex();
    int n = file.write(pageBufs[i].duplicate(), (long) i * dst.capacity());
    written += n;
    if (written >= 64L << 20) {
      file.force(false);
      written = 0;
    }
    return n;
  }

  /** Baseline for SSD put: a positional write of one page to a plain file. */
  @Benchmark
  public int baselineFileWrite() throws IOException {
    int i = nextIndex();
    return file.write(pageBufs[i].duplicate(), (long) i * dst.capacity());
  }
}
