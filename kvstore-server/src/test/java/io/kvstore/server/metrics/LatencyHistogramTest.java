package io.kvstore.server.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LatencyHistogramTest {

  @Test
  void shouldHaveA125SeriesFromOneMicrosecondToTenSeconds() {
    long[] b = LatencyHistogram.boundsNanos();
    assertEquals(22, b.length);
    assertEquals(23, LatencyHistogram.bucketCount());
    assertEquals(1_000L, b[0]);
    assertEquals(2_000L, b[1]);
    assertEquals(5_000L, b[2]);
    assertEquals(10_000_000_000L, b[b.length - 1]);
    for (int i = 1; i < b.length; i++) {
      long ratio10 = b[i] * 10 / b[i - 1];
      assertTrue(ratio10 == 20 || ratio10 == 25, "bound " + i + " / bound " + (i - 1));
    }
  }

  @Test
  void shouldPutEachDurationInTheFirstBucketWhoseBoundIsAtLeastIt() {
    long[] b = LatencyHistogram.boundsNanos();
    assertEquals(0, LatencyHistogram.bucketIndex(0));
    assertEquals(0, LatencyHistogram.bucketIndex(-5));
    assertEquals(0, LatencyHistogram.bucketIndex(1));
    for (int i = 0; i < b.length; i++) {
      assertEquals(i, LatencyHistogram.bucketIndex(b[i]), "exactly on bound " + i);
      assertEquals(i + 1, LatencyHistogram.bucketIndex(b[i] + 1), "just past bound " + i);
      long previous = i == 0 ? 0 : b[i - 1];
      assertEquals(i, LatencyHistogram.bucketIndex(previous + 1), "just past the previous bound");
    }
    assertEquals(b.length, LatencyHistogram.bucketIndex(Long.MAX_VALUE));
  }

  @Test
  void shouldSnapshotCumulativeCountsAndSum() {
    LatencyHistogram h = new LatencyHistogram();
    h.recordNanos(500);             // <= 1us
    h.recordNanos(1_000);           // <= 1us
    h.recordNanos(1_001);           // <= 2us
    h.recordNanos(3_000_000);       // <= 5ms
    h.recordNanos(60_000_000_000L); // +Inf
    h.recordNanos(-7);              // counts as 0
    long[] cumulative = new long[LatencyHistogram.bucketCount()];
    assertEquals(6, h.snapshot(cumulative));
    long[] expected = new long[23];
    for (int i = 0; i < 23; i++) {
      expected[i] = i == 0 ? 3 : i < 11 ? 4 : i < 22 ? 5 : 6;
    }
    assertArrayEquals(expected, cumulative);
    assertEquals(6, h.count());
    assertEquals(500 + 1_000 + 1_001 + 3_000_000 + 60_000_000_000L, h.sumNanos());
  }

  @Test
  void shouldCountEveryRecordFromManyThreads() throws InterruptedException {
    LatencyHistogram h = new LatencyHistogram();
    int threads = 4;
    int perThread = 50_000;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch start = new CountDownLatch(1);
    for (int t = 0; t < threads; t++) {
      pool.execute(() -> {
        try {
          start.await();
        } catch (InterruptedException e) {
          return;
        }
        for (int i = 0; i < perThread; i++) {
          h.recordNanos(i % 3 == 0 ? 1_500 : 40_000);
        }
      });
    }
    start.countDown();
    pool.shutdown();
    assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS));
    long[] cumulative = new long[LatencyHistogram.bucketCount()];
    assertEquals((long) threads * perThread, h.snapshot(cumulative));
    long fast = (long) threads * ((perThread + 2) / 3);
    assertEquals(fast, cumulative[1]);
    assertEquals((long) threads * perThread, cumulative[5]);
    assertEquals(fast * 1_500 + ((long) threads * perThread - fast) * 40_000, h.sumNanos());
  }
}
