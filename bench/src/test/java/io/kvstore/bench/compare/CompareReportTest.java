package io.kvstore.bench.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.bench.report.Histograms;
import io.kvstore.bench.report.LatencySummary;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
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
        + "pages_per_s,gb_per_s,p50_us,p90_us,p99_us,p999_us,errors,misses\n"
        + "get,65536,32,4,kvstore-daemon,100,3200,3000000000,1.000,100.0,3200.0,3.0000,1.0,1.0,2.0,"
        + "2.0,0,0\n"
        + "get,65536,32,4,redis,100,3200,1000000000,1.000,100.0,3200.0,1.0000,2.0,2.0,4.0,4.0,0,0\n",
        r.toCsv());
    StringWriter s = new StringWriter();
    r.writeTable(new PrintWriter(s));
    assertTrue(s.toString().matches("(?s).*get 64 KiB x32 c4 +kvstore-daemon .* 3\\.000 .* 3\\.00 +0\\n.*"),
        s.toString());
    assertTrue(r.toJson().contains("\"command\" : \"kvbench compare --quick\""));
    assertTrue(r.toJson().contains("\"goal\" : \"batched 64 KiB lookup+get: kvstore-daemon GB/s >= 1.5x redis\""));
  }
}
