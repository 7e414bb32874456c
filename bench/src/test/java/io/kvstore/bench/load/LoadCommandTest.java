package io.kvstore.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvstore.bench.CliRunner;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoadCommandTest {

  @TempDir Path dir;

  private final CliRunner cli = new CliRunner();

  private JsonNode run(String... args) throws IOException {
    String[] all = new String[args.length + 8];
    all[0] = "load";
    System.arraycopy(args, 0, all, 1, args.length);
    Path out = dir.resolve("out" + System.nanoTime());
    System.arraycopy(new String[] {"--ssd-bytes", "0", "--no-progress", "--out", out.toString(),
        "--page-size", "1KiB"}, 0, all, args.length + 1, 7);
    assertEquals(0, cli.run(all), cli.err() + cli.out());
    return new ObjectMapper().readTree(out.resolve("report.json").toFile()).path("runs").get(0);
  }

  @Test
  void shouldHitExactlyTheSharedPrefixOnceItIsStored() throws IOException {
    // 4 blocks per prompt, the first 2 shared by one of 2 prefixes; one reader, so each prefix
    // misses only the first time it is seen.
    JsonNode run = run("--requests", "200", "--prompt-tokens", "fixed:2048", "--block-tokens", "512",
        "--prefix-share", "0.5", "--prefixes", "2", "--readers", "1");
    JsonNode hits = run.path("hits");
    assertEquals(200, run.path("requests").asLong());
    assertEquals(800, hits.path("blockReferences").asLong());
    assertEquals(400 - 2 * 2, hits.path("hitBlocks").asLong());
    assertEquals(0.495, hits.path("prefixHitTokenRatio").asDouble(), 1e-9);
    assertEquals(0, run.path("errors").asLong());
    assertEquals(404, run.path("put").path("pages").asLong(), "every missed block is stored");
    assertTrue(cli.out().contains("synthetic: prompts fixed:2048 tokens, 512-token blocks, prefix"
        + " share 0.50 over 2 prefixes"), cli.out());
  }

  @Test
  void shouldRunReadersAndWritersForADuration() throws IOException {
    JsonNode run = run("--duration", "1s", "--requests", "100000", "--prompt-tokens",
        "uniform:512-4096", "--readers", "2", "--writers", "1", "--rate", "200");
    assertTrue(run.path("elapsedSeconds").asDouble() >= 1.0, run.toString());
    assertTrue(run.path("requests").asLong() > 0);
    assertEquals(3, run.path("workers").asInt());
    assertEquals(0, run.path("errors").asLong());
    assertTrue(run.path("put").path("pages").asLong() >= run.path("hits").path("blockReferences")
        .asLong() - run.path("hits").path("hitBlocks").asLong(), "writers store on top of readers");
  }

  @Test
  void shouldRejectBadArguments() {
    assertUsage("prompt length distribution must be fixed:N", "--prompt-tokens", "normal:5");
    assertUsage("--prefix-share must be in [0, 1]", "--prefix-share", "2");
    assertUsage("'3 days' is not a duration", "--duration", "3 days");
    assertUsage("--block-tokens must be in [1, ", "--block-tokens", "0");
    assertUsage("--requests must be >= 1", "--requests", "0");
  }

  private void assertUsage(String message, String... args) {
    String[] all = new String[args.length + 1];
    all[0] = "load";
    System.arraycopy(args, 0, all, 1, args.length);
    assertEquals(2, cli.run(all), String.join(" ", args) + "\n" + cli.err());
    assertTrue(cli.err().contains(message), cli.err());
  }
}
