package io.kvstore.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class KvBenchTest {

  @TempDir Path dir;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine cl = KvBench.commandLine();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    return cl.execute(args);
  }

  @Test
  void shouldPrintATableAndWriteJsonAndCsv() throws IOException {
    Path json = dir.resolve("sim.json");
    Path csv = dir.resolve("sim.csv");
    int code = run("sim", "-t", TestTraces.mooncakeFile().toString(), "-c", "5%,0.1",
        "-p", "lru", "--json", json.toString(), "--csv", csv.toString());
    assertEquals(0, code, err.toString());
    String table = out.toString();
    assertTrue(table.contains("43,924 unique blocks"), table);
    assertTrue(table.matches("(?s).*\\nlru +0\\.1548 \\(39\\.1%\\) +0\\.2598 \\(51\\.3%\\).*"), table);
    assertTrue(table.matches("(?s).*\\nbelady-min +0\\.3955 +0\\.5063.*"), table);

    JsonNode root = new ObjectMapper().readTree(json.toFile());
    assertEquals(43_924, root.path("trace").path("uniqueBlocks").asInt());
    assertEquals(4, root.path("results").size());
    JsonNode first = root.path("results").get(0);
    assertEquals("lru", first.path("policy").asText());
    assertEquals(2196, first.path("capacityBlocks").asInt());
    assertEquals(0.1548, first.path("hitRatio").asDouble(), 0.0001);

    List<String> rows = Files.readAllLines(csv);
    assertEquals(5, rows.size());
    assertTrue(rows.get(0).startsWith("policy,capacity_blocks,"), rows.get(0));
    assertTrue(rows.get(1).startsWith("lru,2196,"), rows.get(1));
    assertTrue(rows.get(3).startsWith("belady-min,2196,"), rows.get(3));
  }

  @Test
  void shouldRejectBadArgumentsWithAUsageError() {
    String trace = TestTraces.mooncakeFile().toString();
    assertUsageError("unknown eviction policy 'fifo'; valid names: ", "sim", "-t", trace, "-p", "fifo");
    assertUsageError("is not a share (5%, 0.05) or a block count", "sim", "-t", trace, "-c", "lots");
    assertUsageError("capacity share must be in (0%, 100%]", "sim", "-t", trace, "-c", "150%");
    assertUsageError("rounds down to 0 blocks", "sim", "-t", trace, "-c", "0.00001");
    assertUsageError("unknown trace format 'csv'", "sim", "-t", trace, "-f", "csv");
    assertUsageError("unknown admission policy 'never'", "sim", "-t", trace, "--admission", "never");
    assertUsageError("--admission-window must be in [1, 1000]: 0",
        "sim", "-t", trace, "--admission", "seen-twice", "--admission-window", "0");
    assertUsageError("Missing required option: '--trace=FILE'", "sim");
    assertUsageError("cannot read trace file", "sim", "-t", dir.resolve("absent.jsonl").toString());
    assertUsageError("missing subcommand");
  }

  private void assertUsageError(String message, String... args) {
    out.getBuffer().setLength(0);
    err.getBuffer().setLength(0);
    assertEquals(2, run(args), String.join(" ", args));
    assertTrue(err.toString().contains(message), err.toString());
    assertTrue(err.toString().contains("Usage: kvbench"), err.toString());
  }

  @Test
  void shouldPutSeenTwiceAdmissionInFrontOfEveryPolicy() {
    int code = run("sim", "-t", TestTraces.mooncakeFile().toString(), "-c", "5%", "-p", "lru",
        "--admission", "seen-twice", "--no-min");
    assertEquals(0, code, err.toString());
    // Remembering ~10x capacity references keeps one-hit blocks out and lifts LRU at 5%.
    assertTrue(out.toString().contains("admission: seen-twice"), out.toString());
    assertTrue(out.toString().matches("(?s).*\\nlru +0\\.1692\\n.*"), out.toString());
  }

  @Test
  void shouldReportAMalformedTraceWithFileAndLine() throws IOException {
    Path bad = dir.resolve("bad.jsonl");
    Files.writeString(bad, "{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 1,"
        + " \"hash_ids\": [1]}\n{\"timestamp\": 0}\n");
    assertEquals(1, run("sim", "-t", bad.toString()));
    assertEquals("kvbench: " + bad + ":2: missing field input_length", err.toString().trim());
  }
}
