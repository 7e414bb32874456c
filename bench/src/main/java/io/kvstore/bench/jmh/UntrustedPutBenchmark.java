package io.kvstore.bench.jmh;

import io.kvstore.bench.targets.TempDirs;
import io.kvstore.common.PageFormat;
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
 * The daemon's side of a shared-memory PUT ({@code spec/4-shared-memory.md} §4.4), in-process, on
 * pages in a direct buffer standing for the client's region, into a memory-only store (DRAM):
 *
 * <ul>
 *   <li>{@code stagedPut}: what the daemon did before: copy the page into a staging buffer, then
 *       {@link TieredStore#put} (CRC pass over the staging copy, copy into the tier);
 *   <li>{@code putCopyVerified}: {@link TieredStore#putCopyVerified}: one copy into the tier, CRC
 *       over the copy chunk by chunk;
 *   <li>{@code trustedPut}: {@link TieredStore#put} straight from the buffer (the TCP path, where
 *       the frame is the daemon's own): a CRC pass over the source, then one copy;
 *   <li>{@code baselineMemcpy}: one copy of the same bytes between direct buffers.
 * </ul>
 *
 * Ratios between them, measured in the same run, are what to read. Run: {@code bin/jmh
 * UntrustedPutBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
public class UntrustedPutBenchmark {

  @Param({"2097152"})
  public int payloadBytes;

  /** Working set: 64 MiB of pages (at least 16), as in {@link StoreGetPutBenchmark}. */
  private int pages;

  private TieredStore store;
  private Path dir;
  private ByteBuffer region;
  private ByteBuffer[] views;
  private ByteBuffer staging;
  private ByteBuffer dst;
  private int pageLength;
  private int next;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    pageLength = PageFormat.pageLength(payloadBytes);
    pages = Math.max(16, (64 << 20) / pageLength);
    dir = Files.createTempDirectory("kvstore-jmh");
    store = TieredStore.builder().dataDir(dir.resolve("store")).maxPageBytes(pageLength)
        .hotBytes(0).dramBytes((long) pageLength * pages * 2 + (64L << 20)).ssdBytes(0).build();
    region = ByteBuffer.allocateDirect(pageLength * pages);
    views = new ByteBuffer[pages];
    for (int i = 0; i < pages; i++) {
      region.put(Pages.page(7, i, payloadBytes, i));
      views[i] = region.slice(i * pageLength, pageLength);
      if (!store.put(views[i])) {
        throw new IllegalStateException("setup: the store refused page " + i);
      }
    }
    staging = ByteBuffer.allocateDirect(pageLength);
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
  public boolean stagedPut() {
    ByteBuffer src = views[nextIndex()];
    staging.put(0, src, 0, pageLength);
    return store.put(staging.clear());
  }

  @Benchmark
  public boolean putCopyVerified() {
    return store.putCopyVerified(views[nextIndex()], 42);
  }

  @Benchmark
  public boolean trustedPut() {
    return store.put(views[nextIndex()]);
  }

  @Benchmark
  public int baselineMemcpy() {
    dst.put(0, views[nextIndex()], 0, pageLength);
    return dst.capacity();
  }
}
