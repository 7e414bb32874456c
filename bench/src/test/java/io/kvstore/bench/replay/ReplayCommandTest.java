package io.kvstore.bench.replay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvstore.bench.CliRunner;
import io.kvstore.bench.TestTraces;
import io.kvstore.bench.trace.Trace;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReplayCommandTest {

  @TempDir Path dir;

  private final CliRunner cli = new CliRunner();

  @Test
  void shouldReplayATraceSliceAgainstTheEmbeddedStore() throws IOException {
    Path out = dir.resolve("out");
    int code = cli.run("replay", "-t", TestTraces.mooncakeFile().toString(), "--requests", "120",
        "--page-size", "1KiB", "--hot-bytes", "64KiB", "--dram-bytes", "512KiB", "--ssd-bytes",
        "16MiB", "--data-dir", dir.resolve("data").toString(), "--out", out.toString(),
        "--no-progress");
    assertEquals(0, code, cli.err() + cli.out());
    assertTrue(cli.out().contains("kvbench replay: kvstore-embedded"), cli.out());

    Trace t = TestTraces.mooncake();
    long blocks = 0;
    long tokens = 0;
    for (int r = 0; r < 120; r++) {
      blocks += t.blockCount(r);
      tokens += t.inputLength(r);
    }
    JsonNode run = new ObjectMapper().readTree(out.resolve("report.json").toFile()).path("runs").get(0);
    assertEquals(120, run.path("requests").asLong());
    assertEquals(0, run.path("errors").asLong());
    JsonNode hits = run.path("hits");
    assertEquals(blocks, hits.path("blockReferences").asLong());
    assertEquals(tokens, hits.path("tokens").asLong());
    long hitBlocks = hits.path("hitBlocks").asLong();
    assertTrue(hitBlocks > 0, "the trace shares prefixes: " + hits);
    // Every hit block was fetched and verified; every other block was computed and stored.
    assertEquals(hitBlocks, run.path("fetch").path("pages").asLong());
    assertEquals(blocks - hitBlocks, run.path("put").path("pages").asLong());
    assertEquals((blocks - hitBlocks) * 1088, run.path("put").path("bytes").asLong());
    // Each hit is one get served by exactly one tier (the write-back queue counts as SSD).
    long tierHits = 0;
    for (JsonNode tier : run.path("tiers")) {
      tierHits += tier.path("hits").asLong();
    }
    assertEquals(List.of("hot", "dram", "ssd"),
        List.of(run.path("tiers").get(0).path("tier").asText(),
            run.path("tiers").get(1).path("tier").asText(),
            run.path("tiers").get(2).path("tier").asText()));
    assertEquals(hitBlocks, tierHits);
    assertTrue(run.path("tiers").get(1).path("demotedBytes").asLong() > 0, "DRAM gets hot's evictions");
    assertTrue(run.path("tiers").get(2).path("demotedBytes").asLong() > 0, "SSD gets DRAM's evictions");
    assertEquals(run.path("tiers").get(2).path("demotedPages").asLong() * 1088,
        run.path("tiers").get(2).path("demotedBytes").asLong());

    List<String> csv = Files.readAllLines(out.resolve("report.csv"));
    assertEquals(2, csv.size());
    for (String png : List.of("latency-cdf.png", "throughput.png")) {
      assertTrue(Files.size(out.resolve(png)) > 1000, png);
    }
  }

  @Test
  void shouldSweepTheDramTierAndPlotTheHitRatio() throws IOException {
    Path out = dir.resolve("sweep");
    int code = cli.run("replay", "-t", TestTraces.mooncakeFile().toString(), "--requests", "150",
        "--page-size", "1KiB", "--hot-bytes", "0", "--ssd-bytes", "0", "--policy", "lru", "-w", "1",
        "--dram-sweep", "256KiB,4MiB", "--out", out.toString(), "--no-progress");
    assertEquals(0, code, cli.err() + cli.out());
    JsonNode runs = new ObjectMapper().readTree(out.resolve("report.json").toFile()).path("runs");
    assertEquals(2, runs.size());
    assertEquals("dram=256KiB", runs.get(0).path("label").asText());
    double small = runs.get(0).path("hits").path("hitRatio").asDouble();
    double large = runs.get(1).path("hits").path("hitRatio").asDouble();
    // LRU is a stack algorithm: one worker in trace order, a larger cache holds a superset.
    assertTrue(large >= small && large > 0, small + " vs " + large);
    assertTrue(Files.size(out.resolve("hit-ratio.png")) > 1000);
  }

  @Test
  void shouldKeepTheScaledArrivalTimes() throws IOException {
    Path trace = dir.resolve("t.jsonl");
    Files.writeString(trace, String.join("\n",
        "{\"timestamp\": 0, \"input_length\": 600, \"output_length\": 1, \"hash_ids\": [1, 2]}",
        "{\"timestamp\": 1000, \"input_length\": 600, \"output_length\": 1, \"hash_ids\": [1, 3]}",
        "{\"timestamp\": 3000, \"input_length\": 600, \"output_length\": 1, \"hash_ids\": [1, 2]}"));
    Path out = dir.resolve("scaled");
    int code = cli.run("replay", "-t", trace.toString(), "--time-scale", "0.1", "--page-size",
        "1KiB", "--ssd-bytes", "0", "--out", out.toString(), "--no-progress");
    assertEquals(0, code, cli.err() + cli.out());
    JsonNode run = new ObjectMapper().readTree(out.resolve("report.json").toFile()).path("runs").get(0);
    // The last request is due 3 s x 0.1 after the first: the run cannot end before.
    assertTrue(run.path("elapsedSeconds").asDouble() >= 0.3, run.toString());
    assertEquals(6, run.path("hits").path("blockReferences").asLong());
    assertEquals(3, run.path("hits").path("hitBlocks").asLong(), "block 1 twice, then 1 and 2");
  }

  @Test
  void shouldReportAMalformedTraceLineByNumber() throws IOException {
    Path bad = dir.resolve("bad.jsonl");
    Files.writeString(bad, "{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 1,"
        + " \"hash_ids\": [1]}\n{\"timestamp\": 1, \"input_length\": 10, \"output_length\": 1,"
        + " \"hash_ids\": [1, \"x\"]}\n");
    assertEquals(1, cli.run("replay", "-t", bad.toString(), "--no-progress"));
    assertEquals("kvbench: " + bad + ":2: hash_ids[1] must be an integer, got 'x'", cli.err().trim());
  }

  @Test
  void shouldRejectBadArgumentsWithAUsageError() {
    String trace = TestTraces.mooncakeFile().toString();
    assertUsage("unknown unit 'k'", "replay", "-t", trace, "--page-size", "64k");
    assertUsage("--target daemon needs exactly one of --connect HOST:PORT and --start-daemon",
        "replay", "-t", trace, "--target", "daemon");
    assertUsage("--connect: port must be 1 to 65535", "replay", "-t", trace, "--target", "daemon",
        "--connect", "localhost:0");
    assertUsage("unknown target 'memcached'", "replay", "-t", trace, "--target", "memcached");
    assertUsage("--time-scale must be >= 0", "replay", "-t", trace, "--time-scale", "-1");
    assertUsage("need 1 to 1024 workers", "replay", "-t", trace, "-w", "0");
    assertUsage("--dram-sweep sizes must increase", "replay", "-t", trace, "--dram-sweep",
        "8MiB,1MiB");
    assertUsage("unknown eviction policy 'fifo'", "replay", "-t", trace, "--policy", "fifo");
    assertUsage("cannot read trace file", "replay", "-t", dir.resolve("absent").toString());
    assertUsage("--prefill-tokens-per-s must be a positive number", "replay", "-t", trace,
        "--prefill-tokens-per-s", "0");
  }

  private void assertUsage(String message, String... args) {
    assertEquals(2, cli.run(args), String.join(" ", args) + "\n" + cli.err());
    assertTrue(cli.err().contains(message), cli.err());
    assertTrue(cli.err().contains("Usage: kvbench replay"), cli.err());
  }
}
