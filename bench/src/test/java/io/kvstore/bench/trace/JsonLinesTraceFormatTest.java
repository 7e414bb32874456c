package io.kvstore.bench.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.bench.TestTraces;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonLinesTraceFormatTest {

  @TempDir Path dir;

  private Path write(String name, String content) throws IOException {
    Path file = dir.resolve(name);
    Files.writeString(file, content, StandardCharsets.UTF_8);
    return file;
  }

  @Test
  void shouldLoadRequestsIntoDenseArrays() throws IOException {
    Path file = write("t.jsonl",
        "{\"timestamp\": 0, \"input_length\": 1024, \"output_length\": 7, \"hash_ids\": [40, 41]}\n"
            + "\n"
            + "{\"hash_ids\": [40, 41, 99], \"timestamp\": 25, \"input_length\": 1100,"
            + " \"output_length\": 3, \"extra\": {\"a\": [1, 2]}}\n");
    Trace t = TraceFormats.MOONCAKE.read(file);
    assertEquals(2, t.requestCount());
    assertEquals(3, t.uniqueBlocks());
    assertEquals(5, t.blockReferences());
    assertEquals(512, t.blockTokens());
    assertEquals("t.jsonl", t.source());
    assertEquals(25_000, t.timestampMicros(1));
    assertEquals(1100, t.inputLength(1));
    assertEquals(3, t.outputLength(1));
    assertEquals(2, t.requestStart(1));
    assertEquals(5, t.requestEnd(1));
    // Dense ids in order of first appearance; the trace's ids are kept.
    assertEquals(0, t.block(2));
    assertEquals(1, t.block(3));
    assertEquals(2, t.block(4));
    assertEquals(99, t.hashId(2));
    assertFalse(t.lastBlockPartial(0));
    assertTrue(t.lastBlockPartial(1));
  }

  @Test
  void shouldReadBailianSecondsAnd64BitUnsignedHashes() throws IOException {
    Path file = write("b.jsonl",
        "{\"chat_id\": 1, \"parent_chat_id\": -1, \"timestamp\": 61.114, \"input_length\": 20,"
            + " \"output_length\": 132, \"type\": \"text\", \"turn\": 1,"
            + " \"hash_ids\": [18446744073709551615, 5]}\n");
    Trace t = TraceFormats.BAILIAN.read(file);
    assertEquals(61_114_000, t.timestampMicros(0));
    assertEquals(-1L, t.hashId(0));
    assertEquals(16, t.blockTokens());
  }

  @Test
  void shouldReadGzippedTraces() throws IOException {
    Path file = dir.resolve("t.jsonl.gz");
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
      out.write("{\"timestamp\": 1, \"input_length\": 10, \"output_length\": 1, \"hash_ids\": [3]}\n"
          .getBytes(StandardCharsets.UTF_8));
    }
    assertEquals(1, TraceFormats.MOONCAKE.read(file).blockReferences());
  }

  @Test
  void shouldLoadTheMooncakeSyntheticTrace() {
    Trace t = TestTraces.mooncake();
    assertEquals(3_993, t.requestCount());
    assertEquals(43_924, t.uniqueBlocks());
    assertEquals(121_877, t.blockReferences());
  }

  @Test
  void shouldNameFileLineAndProblemOfAMalformedLine() throws IOException {
    String ok = "{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 1, \"hash_ids\": [1]}\n";
    assertProblem(ok + "{\"timestamp\": 0, \"input_length\": 10", 2, "not valid JSON");
    assertProblem(ok + ok + "[1, 2]", 3, "expected a JSON object");
    assertProblem("{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 1}", 1,
        "missing field hash_ids");
    assertProblem("{\"timestamp\": \"x\", \"input_length\": 10, \"output_length\": 1,"
        + " \"hash_ids\": [1]}", 1, "timestamp must be a number, got 'x'");
    assertProblem("{\"timestamp\": -1, \"input_length\": 10, \"output_length\": 1,"
        + " \"hash_ids\": [1]}", 1, "timestamp must be finite and >= 0");
    assertProblem("{\"timestamp\": 0, \"input_length\": -5, \"output_length\": 1,"
        + " \"hash_ids\": []}", 1, "input_length must be >= 0");
    assertProblem("{\"timestamp\": 0, \"input_length\": 1.5, \"output_length\": 1,"
        + " \"hash_ids\": [1]}", 1, "input_length must be an integer");
    assertProblem("{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 1,"
        + " \"hash_ids\": [1, \"a\"]}", 1, "hash_ids[1] must be an integer, got 'a'");
    assertProblem("{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 1,"
        + " \"hash_ids\": 7}", 1, "hash_ids must be an array");
    assertProblem("{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 1,"
        + " \"hash_ids\": [1, 2]}", 1, "hash_ids has 2 blocks but input_length 10 needs");
    assertProblem("{\"timestamp\": 0, \"timestamp\": 1, \"input_length\": 10,"
        + " \"output_length\": 1, \"hash_ids\": [1]}", 1, "field timestamp appears twice");
    assertProblem(ok.trim() + " {}", 1, "unexpected content after the JSON object");
    assertProblem("{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 1,"
        + " \"hash_ids\": [18446744073709551616]}", 1, "does not fit in 64 bits");
  }

  private void assertProblem(String content, long line, String problem) throws IOException {
    Path file = write("bad.jsonl", content);
    TraceFormatException e =
        assertThrows(TraceFormatException.class, () -> TraceFormats.MOONCAKE.read(file));
    assertEquals(line, e.line());
    assertEquals(file, e.file());
    assertTrue(e.getMessage().startsWith(file + ":" + line + ": "), e.getMessage());
    assertTrue(e.getMessage().contains(problem), e.getMessage());
  }

  @Test
  void shouldListKnownFormatsForAnUnknownName() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> TraceFormats.byName("csv"));
    assertTrue(e.getMessage().contains("bailian, mooncake"), e.getMessage());
    assertEquals(TraceFormats.MOONCAKE, TraceFormats.byName("mooncake"));
  }
}
