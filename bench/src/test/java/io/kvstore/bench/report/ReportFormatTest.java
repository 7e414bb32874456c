package io.kvstore.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ReportFormatTest {

  /** A run with round numbers: 2 s, 100 requests, 1 GB moved. */
  static RunReport sample(String label, List<TierResult> tiers) {
    return new RunReport("replay", "kvstore-embedded", "trace t.jsonl, 100 requests", label, 65536,
        4, 2_000_000_000L, 100, 300, 5_000, 400_000_000L, 100, 7_500, 600_000_000L,
        new LatencySummary(300, 1500.5, 1000, 2000, 5000, 9000, 12000),
        new LatencySummary(100, 20_000, 18_000, 30_000, 50_000, 70_000, 80_000),
        10_000, 4_000, 5_000_000, 1_900_000, tiers, 0, 2, 3,
        Map.of("TIMEOUT", 1L, "CONNECTION_CLOSED", 2L), 10_000,
        new LatencySummary(100, 500_000_000, 400_000_000, 900_000_000, 990_000_000, 0, 0),
        new LatencySummary(100, 300_000_000, 200_000_000, 800_000_000, 950_000_000, 0, 0),
        1_000_000_000L, new long[] {400_000_000L, 600_000_000L});
  }

  static final List<TierResult> TIERS = List.of(
      new TierResult("hot", 1_000, 10, 655_360, 0, 0),
      new TierResult("dram", 3_000, 0, 0, 20, 1_310_720));

  @Test
  void shouldDeriveRatesAndRatios() {
    RunReport r = sample("", TIERS);
    assertEquals(50.0, r.requestsPerSecond(), 1e-9);
    assertEquals(200.0, r.opsPerSecond(), 1e-9);
    assertEquals(6_250.0, r.pagesPerSecond(), 1e-9);
    assertEquals(0.5, r.gigabytesPerSecond(), 1e-12);
    assertEquals(0.4, r.hitRatio(), 1e-12);
    assertEquals(0.38, r.prefixHitTokenRatio(), 1e-12);
    assertEquals(0.3, r.tierHitRatio(TIERS.get(1)), 1e-12);
    assertEquals(655_360, r.promotedBytes());
    assertEquals(1_310_720, r.demotedBytes());
    assertEquals(0.4, r.timelineGigabytesPerSecond()[0], 1e-12);
  }

  @Test
  void shouldWriteExactJson() {
    String expected = """
        {
          "runs" : [ {
            "command" : "replay",
            "target" : "kvstore-embedded",
            "workload" : "trace t.jsonl, 100 requests",
            "label" : "dram=1GiB",
            "pageBytes" : 65536,
            "workers" : 4,
            "elapsedSeconds" : 2,
            "requests" : 100,
            "throughput" : {
              "requestsPerSecond" : 50,
              "opsPerSecond" : 200,
              "pagesPerSecond" : 6250,
              "gigabytesPerSecond" : 0.5
            },
            "fetch" : {
              "calls" : 300,
              "pages" : 5000,
              "bytes" : 400000000,
              "latencyMicros" : {
                "count" : 300,
                "mean" : 1.501,
                "p50" : 1,
                "p90" : 2,
                "p99" : 5,
                "p99.9" : 9,
                "max" : 12
              }
            },
            "put" : {
              "calls" : 100,
              "pages" : 7500,
              "bytes" : 600000000,
              "rejects" : 2,
              "latencyMicros" : {
                "count" : 100,
                "mean" : 20,
                "p50" : 18,
                "p90" : 30,
                "p99" : 50,
                "p99.9" : 70,
                "max" : 80
              }
            },
            "hits" : {
              "blockReferences" : 10000,
              "hitBlocks" : 4000,
              "hitRatio" : 0.4,
              "tokens" : 5000000,
              "hitTokens" : 1900000,
              "prefixHitTokenRatio" : 0.38
            },
            "tiers" : [ {
              "tier" : "hot",
              "hits" : 1000,
              "hitRatio" : 0.1,
              "promotedPages" : 10,
              "promotedBytes" : 655360,
              "demotedPages" : 0,
              "demotedBytes" : 0
            }, {
              "tier" : "dram",
              "hits" : 3000,
              "hitRatio" : 0.3,
              "promotedPages" : 0,
              "promotedBytes" : 0,
              "demotedPages" : 20,
              "demotedBytes" : 1310720
            } ],
            "ttftMillis" : {
              "prefillTokensPerSecond" : 10000.0,
              "withoutStore" : {
                "mean" : 500,
                "p50" : 400,
                "p99" : 990
              },
              "withStore" : {
                "mean" : 300,
                "p50" : 200,
                "p99" : 950
              }
            },
            "errors" : 0,
            "failedCalls" : {
              "total" : 3,
              "byCause" : {
                "CONNECTION_CLOSED" : 2,
                "TIMEOUT" : 1
              }
            },
            "timeline" : {
              "binSeconds" : 1,
              "gigabytesPerSecond" : [ 0.4, 0.6 ]
            }
          } ]
        }
        """;
    assertEquals(expected, ReportFormat.toJson(List.of(sample("dram=1GiB", TIERS))));
  }

  @Test
  void shouldWriteExactCsvWithTheUnionOfTiers() {
    String csv = ReportFormat.toCsv(List.of(sample("a,b", TIERS),
        sample("", List.of(new TierResult("redis", 4_000, 0, 0, 0, 0)))));
    String[] lines = csv.split("\n");
    assertEquals(3, lines.length);
    assertEquals("command,target,workload,label,page_bytes,workers,elapsed_s,requests,"
        + "requests_per_s,ops_per_s,pages_per_s,gb_per_s,fetch_calls,fetch_mean_us,fetch_p50_us,"
        + "fetch_p90_us,fetch_p99_us,fetch_p999_us,put_calls,put_mean_us,put_p50_us,put_p90_us,"
        + "put_p99_us,put_p999_us,hit_ratio,prefix_hit_token_ratio,hot_hit_ratio,"
        + "hot_promoted_bytes,hot_demoted_bytes,dram_hit_ratio,dram_promoted_bytes,"
        + "dram_demoted_bytes,redis_hit_ratio,redis_promoted_bytes,redis_demoted_bytes,"
        + "ttft_no_store_mean_ms,ttft_no_store_p50_ms,ttft_no_store_p99_ms,ttft_kvstore_mean_ms,"
        + "ttft_kvstore_p50_ms,ttft_kvstore_p99_ms,errors,put_rejects,failed_calls", lines[0]);
    assertEquals("replay,kvstore-embedded,\"trace t.jsonl, 100 requests\",\"a,b\",65536,4,2.000,100,"
        + "50.0,200.0,6250.0,0.5000,300,1.5,1.0,2.0,5.0,9.0,100,20.0,18.0,30.0,50.0,70.0,"
        + "0.4000,0.3800,0.1000,655360,0,0.3000,0,1310720,,,,"
        + "500.000,400.000,990.000,300.000,200.000,950.000,0,2,3", lines[1]);
    assertTrue(lines[2].contains(",0.4000,0.3800,,,,,,,0.4000,0,0,500.000,"), lines[2]);
  }

  @Test
  void shouldPrintATableWithEveryNumber() {
    StringWriter s = new StringWriter();
    ReportFormat.writeTable(sample("", TIERS), new PrintWriter(s));
    String t = s.toString();
    assertTrue(t.contains("throughput  50.0 requests/s  200.0 ops/s  6,250.0 pages/s  0.500 GB/s"), t);
    assertTrue(t.matches("(?s).*\\n  fetch +300 +1\\.5 +1\\.0 +2\\.0 +5\\.0 +9\\.0 +12\\.0\\n.*"), t);
    assertTrue(t.contains("hit ratio   0.4000 (4,000 of 10,000 blocks); prefix-hit tokens 0.3800"), t);
    assertTrue(t.contains("  dram      hit ratio 0.3000  promoted 0 B (0 pages)  demoted 1.25 MiB"
        + " (20 pages)"), t);
    assertTrue(t.matches("(?s).*\\n  kvstore +300\\.00 +200\\.00 +950\\.00\\n.*"), t);
    assertTrue(t.contains("errors      0 pages failed verification, 2 puts refused"), t);
    assertTrue(t.contains("failed      3 calls (CONNECTION_CLOSED 2, TIMEOUT 1; the run went on;"
        + " their requests are left out of the figures above)"), t);
  }

  @Test
  void shouldFormatBytesInBinaryUnits() {
    assertEquals("512 B", ReportFormat.bytes(512));
    assertEquals("64 KiB", ReportFormat.bytes(65536));
    assertEquals("2 MiB", ReportFormat.bytes(2 << 20));
    assertEquals("1.50 GiB", ReportFormat.bytes(3L << 29));
  }
}
