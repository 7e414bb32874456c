package io.kvstore.bench.jmh;

import io.kvstore.bench.targets.TempDirs;
import io.kvstore.common.PageFormat;
import io.kvstore.core.store.StoreStats;
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
 * The write-back steady state: the DRAM tier (the only memory tier) is full before measuring, and
 * every put is of a new key, so every put evicts one dirty page that the write-back writers must
 * write to the SSD tier. Puts wait for the write-back queue rather than drop (the bounded wait is
 * set to a minute), so the put rate is the rate at which pages reach the SSD tier; teardown fails
 * the run if any page was dropped. Beside it, in the same run, the baseline: a raw positional
 * {@link FileChannel} write of one page into the page cache, no fsync (as in {@link
 * StoreGetPutBenchmark}). Run: {@code bin/jmh WriteBackBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 6, time = 5)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class WriteBackBenchmark {

  @Param({"65536", "2097152"})
  public int payloadBytes;

  /** Write-back writer threads. */
  @Param({"2"})
  public int writers;

  private static final long DRAM_BYTES = 64L << 20;
  private static final int SOURCE_PAGES = 32;

  private TieredStore store;
  private Path dir;
  private ByteBuffer[] source;
  private FileChannel file;
  private int filePages;
  private long nextKey;
  private int nextFilePage;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    int pageLength = PageFormat.pageLength(payloadBytes);
    dir = Files.createTempDirectory("kvstore-jmh-wb");
    store =
        TieredStore.builder()
            .dataDir(dir.resolve("store"))
            .maxPageBytes(pageLength)
            .hotBytes(0)
            .dramBytes(DRAM_BYTES)
            .ssdBytes(1L << 30)
            .writeBackThreads(writers)
            .writeBackMaxWaitMillis(60_000)
            .flushOnClose(false)
            .build();
    source = new ByteBuffer[SOURCE_PAGES];
    for (int i = 0; i < SOURCE_PAGES; i++) {
      source[i] = Pages.page(9, i, payloadBytes, i);
    }
    // Fill DRAM (and a little more) so that every measured put evicts a dirty page.
    long fill = DRAM_BYTES / pageLength + 4;
    for (int i = 0; i < fill; i++) {
      put();
    }
    filePages = (int) Math.max(16, (64L << 20) / pageLength);
    file =
        FileChannel.open(
            dir.resolve("raw.bin"),
            StandardOpenOption.CREATE,
            StandardOpenOption.READ,
            StandardOpenOption.WRITE);
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    StoreStats.WriteBackStats wb = store.stats().writeBack();
    System.out.println();
    System.out.println("write-back: " + wb);
    store.close();
    file.close();
    TempDirs.deleteRecursively(dir);
    if (wb.drops() > 0 || wb.failures() > 0) {
      throw new IllegalStateException(
          "pages were dropped or failed, the put rate overstates write-back: " + wb);
    }
  }

  /** A put of a new key (a page whose header names the key; payload from a small source set). */
  @Benchmark
  public boolean put() {
    long key = nextKey++;
    ByteBuffer page = source[(int) (key % SOURCE_PAGES)];
    // Re-key the page: write the key and recompute the header CRC (the payload CRC is unchanged).
    PageFormat.writeHeader(
        page,
        0,
        9,
        key,
        0,
        0,
        PageFormat.namespaceId(page, 0),
        PageFormat.tokenCount(page, 0),
        payloadBytes,
        PageFormat.payloadCrc(page, 0));
    if (!store.put(page)) {
      throw new IllegalStateException("put " + key + " refused");
    }
    return true;
  }

  /** Baseline: a positional write of one page to a plain file (page cache, no fsync). */
  @Benchmark
  public int baselineFileWrite() throws IOException {
    int i = nextFilePage;
    nextFilePage = i + 1 == filePages ? 0 : i + 1;
    ByteBuffer page = source[i % SOURCE_PAGES];
    return file.write(page.duplicate(), (long) i * page.capacity());
  }
}
