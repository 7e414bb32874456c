package io.kvstore.bench.jmh;

import io.kvstore.common.PageFormat;
import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.dram.DramTier;
import io.kvstore.core.tier.hot.HotTier;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.agrona.BufferUtil;
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
 * Get and put of one memory tier (hot or DRAM) used directly, without the store, by 1, 2 or 4
 * threads (JMH's {@code -t}), beside {@code memcpy} of the same page size by the same threads in the
 * same run: how close a tier comes to the copy it must do anyway, and how it scales with threads.
 *
 * <p>The tier holds a 64 MiB working set of pages (at least 64) with room to spare, so nothing is
 * evicted; a put replaces a resident page of the same size. Each thread walks the pages from its own
 * start with its own destination buffer, so threads touch different pages at any instant and meet
 * only in the tier's locks (one per tier before sharding, one per shard after). {@code order}
 * chooses the walk: {@code sequential} (key 0, 1, 2 ...: pages put in that order sit next to each
 * other in an unsharded tier, which memory prefetching rewards; a sharded tier spreads consecutive
 * keys over its shards' slabs) or {@code random} (a fixed random permutation, as hashed block keys
 * and concurrent requests make it). Only the public
 * {@code Tier} API and the tiers' long-standing factories are used, so the same class measures older
 * versions of the tiers too. Run: {@code bin/jmh MemoryTierBenchmark -t 4}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
public class MemoryTierBenchmark {

  @Param({"4096", "65536"})
  public int payloadBytes;

  @Param({"hot", "dram"})
  public String tier;

  @Param({"sequential", "random"})
  public String order;

  private Tier store;
  private ByteBuffer[] pages;
  private ByteBuffer memcpySource;
  private int pageLength;
  private int pageCount;
  private int[] walk;
  private final AtomicInteger threadSeq = new AtomicInteger();

  /** Per-thread cursor and destination. */
  @State(Scope.Thread)
  public static class Cursor {
    ByteBuffer dst;
    int next;

    @Setup(Level.Trial)
    public void setUp(MemoryTierBenchmark bench) {
      dst = ByteBuffer.allocateDirect(bench.pageLength);
      // Threads start a quarter of the working set apart.
      next = (bench.threadSeq.getAndIncrement() * (bench.pageCount / 4)) % bench.pageCount;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      BufferUtil.free(dst);
    }

    int nextIndex(int[] walk) {
      int i = next;
      next = i + 1 == walk.length ? 0 : i + 1;
      return walk[i];
    }
  }

  @Setup(Level.Trial)
  public void setUp() {
    pageLength = PageFormat.pageLength(payloadBytes);
    pageCount = Math.max(64, (64 << 20) / pageLength);
    long capacity = 2L * pageLength * pageCount + (64L << 20);
    store =
        tier.equals("hot")
            ? HotTier.create(capacity, pageLength)
            : DramTier.builder(capacity, pageLength).build();
    pages = new ByteBuffer[pageCount];
    memcpySource = ByteBuffer.allocateDirect(pageLength * pageCount);
    for (int i = 0; i < pageCount; i++) {
      pages[i] = Pages.page(9, i, payloadBytes, i);
      if (!store.put(pages[i])) {
        throw new IllegalStateException("setup: tier " + tier + " refused page " + i);
      }
      memcpySource.put(pages[i].duplicate());
    }
    memcpySource.clear();
    walk = new int[pageCount];
    for (int i = 0; i < pageCount; i++) {
      walk[i] = i;
    }
    if (order.equals("random")) {
      SplittableRandom random = new SplittableRandom(42);
      for (int i = pageCount - 1; i > 0; i--) {
        int j = random.nextInt(i + 1);
        int swap = walk[i];
        walk[i] = walk[j];
        walk[j] = swap;
      }
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    store.close();
    BufferUtil.free(memcpySource);
    for (ByteBuffer page : pages) {
      BufferUtil.free(page);
    }
  }

  @Benchmark
  public int get(Cursor cursor) {
    int i = cursor.nextIndex(walk);
    ByteBuffer dst = cursor.dst.clear();
    int n = store.get(9, i, dst);
    if (n < 0) {
      throw new IllegalStateException("miss on page " + i + " in tier " + tier);
    }
    return n;
  }

  @Benchmark
  public boolean put(Cursor cursor) {
    return store.put(pages[cursor.nextIndex(walk)]);
  }

  /** Baseline: copy one page's bytes between direct buffers, from the same size of working set. */
  @Benchmark
  public int baselineMemcpy(Cursor cursor) {
    int i = cursor.nextIndex(walk);
    ByteBuffer dst = cursor.dst.clear();
    dst.put(memcpySource.duplicate().position(i * pageLength).limit((i + 1) * pageLength));
    return dst.position();
  }
}
