package io.kvstore.bench.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.bench.report.Histograms;
import io.kvstore.bench.report.LatencySummary;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

class CompareReportTest {

  private static CellResult result(String target, Cell cell, long bytesPerSecond, long p99) {
    return new CellResult(target, cell, 100, 100 * cell.batch(), bytesPerSecond, 1_000_000_000L,
        new LatencySummary(100, p99 / 2.0, p99 / 2, p99 / 2, p99, p99, p99),
        Histograms.newLatencyHistogram(), 0, 0);
  }

  @Test
  void shouldCheckEachGoalCellByCell() {
    Cell big = new Cell("get", 2 << 20, 1, 1);
    Cell bigPut = new Cell("put", 2 << 20, 32, 4);
    Cell batched = new Cell("get", 64 << 10, 32, 1);
    CompareReport r = new CompareReport("kvbench compare");
    r.add(result("kvstore-daemon", big, 3_000_000_000L, 900_000));
    r.add(result("redis", big, 2_000_000_000L, 1_000_000));
    r.add(result("raw-socket", big, 4_000_000_000L, 100_000));
    r.add(result("kvstore-daemon", bigPut, 1_000_000_000L, 5_000_000));
    r.add(result("redis", bigPut, 2_000_000_000L, 4_000_000));
    r.add(result("raw-socket", bigPut, 4_000_000_000L, 100_000));
    r.add(result("kvstore-daemon", batched, 1_400_000_000L, 100));
    r.add(result("redis", batched, 1_000_000_000L, 200));
    List<Goal> goals = r.goals();
    assertEquals("2 MiB pages: kvstore-daemon GB/s >= redis: met in 1 of 2 cells; missed in"
        + " put 2 MiB x32 c4 (0.50x)", goals.get(0).line());
    assertEquals("2 MiB pages: kvstore-daemon GB/s >= 70% of raw-socket: met in 1 of 2 cells;"
        + " missed in put 2 MiB x32 c4 (0.25x)", goals.get(1).line());
    assertEquals("batched 64 KiB lookup+get: kvstore-daemon GB/s >= 1.5x redis: met in 0 of 1"
        + " cells; missed in get 64 KiB x32 c1 (1.40x)", goals.get(2).line());
    assertEquals("every cell: kvstore-daemon p99 <= redis p99: met in 2 of 3 cells; missed in"
        + " put 2 MiB x32 c4 (p99 5000.0 us vs 4000.0 us)", goals.get(3).line());
  }

  @Test
  void shouldCompareSharedMemoryWithTheFloorForReferenceOnlyWhenTheFloorRan() {
    Cell get = new Cell("get", 2 << 20, 1, 1);
    Cell put = new Cell("put", 2 << 20, 1, 1);
    CompareReport r = new CompareReport("kvbench compare");
    r.add(result("kvstore-daemon-shm", get, 8_000_000_000L, 300_000));
    r.add(result("memcpy", get, 25_000_000_000L, 50_000));
    r.add(result("kvstore-daemon-shm", put, 6_000_000_000L, 400_000));
    r.add(result("memcpy", put, 15_000_000_000L, 150_000));
    String floorLine = "2 MiB pages (for reference): kvstore-daemon-shm GB/s >= 70% of floor";
    assertTrue(r.goals().stream().noneMatch(g -> g.description().equals(floorLine)),
        "no floor line without the floor target");
    r.add(result("floor", get, 16_000_000_000L, 80_000));
    r.add(result("floor", put, 8_000_000_000L, 230_000));
    Goal floor = r.goals().stream().filter(g -> g.description().equals(floorLine)).findFirst()
        .orElseThrow();
    assertEquals(floorLine + ": met in 1 of 2 cells; missed in get 2 MiB x1 c1 (0.50x)",
        floor.line());
  }

  @Test
  void shouldSayWhenAGoalWasNotMeasured() {
    CompareReport r = new CompareReport("kvbench compare");
    r.add(result("kvstore-embedded", new Cell("put", 4096, 1, 1), 1, 1));
    assertEquals("2 MiB pages: kvstore-embedded GB/s >= redis: not measured (no such cells, or a"
        + " side is missing)", r.goals().get(0).line());
  }

  @Test
  void shouldWriteExactCsvAndATableWithRatios() {
    Cell c = new Cell("get", 65536, 32, 4);
    CompareReport r = new CompareReport("kvbench compare --quick");
    r.add(result("kvstore-daemon", c, 3_000_000_000L, 2_000));
    r.add(result("redis", c, 1_000_000_000L, 4_000));
    assertEquals("op,page_bytes,batch,connections,target,calls,pages,bytes,elapsed_s,ops_per_s,"
        + "pages_per_s,gb_per_s,p50_us,p90_us,p99_us,p999_us,errors,misses,rounds,"
        + "round_gb_per_s_min,round_gb_per_s_max\n"
        + "get,65536,32,4,kvstore-daemon,100,3200,3000000000,1.000,100.0,3200.0,3.0000,1.0,1.0,2.0,"
        + "2.0,0,0,1,3.0000,3.0000\n"
        + "get,65536,32,4,redis,100,3200,1000000000,1.000,100.0,3200.0,1.0000,2.0,2.0,4.0,4.0,0,0,1,"
        + "1.0000,1.0000\n",
        r.toCsv());
    StringWriter s = new StringWriter();
    r.writeTable(new PrintWriter(s));
    assertTrue(s.toString().matches("(?s).*get 64 KiB x32 c4 +kvstore-daemon .* 3\\.000 .* 3\\.00 +0\\n.*"),
        s.toString());
    assertTrue(r.toJson().contains("\"command\" : \"kvbench compare --quick\""));
    assertTrue(r.toJson().contains("\"goal\" : \"batched 64 KiB lookup+get: kvstore-daemon GB/s >= 1.5x redis\""));
  }

  /** A round of {@code calls} calls of {@code latencyNanos} each, {@code bytes} in one second. */
  private static CellResult round(String target, Cell cell, long calls, long bytes, long latencyNanos) {
    Histogram h = Histograms.newLatencyHistogram();
    for (int i = 0; i < calls; i++) {
      Histograms.record(h, latencyNanos);
    }
    return new CellResult(target, cell, calls, calls * cell.batch(), bytes, 1_000_000_000L,
        LatencySummary.of(h), h, 0, 0);
  }

  @Test
  void shouldReportLaterRoundsTogetherWithTheFirst() {
    Cell c = new Cell("get", 2 << 20, 1, 1);
    CompareReport r = new CompareReport("kvbench compare --rounds 2");
    r.add(round("kvstore-daemon", c, 100, 1_000_000_000L, 1_000_000));
    r.add(round("raw-socket", c, 100, 2_000_000_000L, 500_000));
    r.add(round("kvstore-daemon", c, 300, 3_000_000_000L, 3_000_000));
    r.add(round("raw-socket", c, 100, 2_000_000_000L, 500_000));

    CellResult kv = r.result(c, "kvstore-daemon");
    assertEquals(400, kv.calls());
    assertEquals(4_000_000_000L, kv.bytes());
    assertEquals(2_000_000_000L, kv.elapsedNanos());
    assertEquals(2.0, kv.gigabytesPerSecond(), 1e-9, "4 GB over the two 1 s windows");
    // Percentiles over the calls of both rounds: three in four took 3 ms.
    assertEquals(3.0, kv.latency().p50Nanos() / 1e6, 0.01);
    assertEquals(2.5, kv.latency().meanNanos() / 1e6, 0.01, "(100 x 1 ms + 300 x 3 ms) / 400");
    assertEquals(List.of(1.0, 3.0), r.roundRates(c, "kvstore-daemon"));
    assertEquals(2, r.results().get(c).size(), "one row per target, not per round");
    // The goal is checked on the totals: 2.0 against 2.0 GB/s of raw.
    assertEquals("2 MiB pages: kvstore-daemon GB/s >= 70% of raw-socket: met in 1 of 1 cells",
        r.goals().get(1).line());

    StringWriter s = new StringWriter();
    r.writeTable(new PrintWriter(s));
    assertTrue(s.toString().startsWith("each row: 2 rounds together"), s.toString());
    assertTrue(s.toString().matches("(?s).*kvstore-daemon .* 2\\.000 .* 1\\.000-3\\.000\\n.*"),
        s.toString());
    assertTrue(r.toCsv().contains(",400,400,4000000000,2.000,200.0,200.0,2.0000,"), r.toCsv());
    assertTrue(r.toCsv().contains(",0,0,2,1.0000,3.0000\n"), r.toCsv());
    assertTrue(r.toJson().replaceAll("\\s", "").contains("\"roundsGigabytesPerSecond\":[1,3]"),
        r.toJson());

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> kv.plus(round("redis", c, 1, 1, 1)));
    assertTrue(e.getMessage().contains("cannot add redis"), e.getMessage());
  }
}
