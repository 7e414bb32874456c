package io.kvstore.bench.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvstore.bench.CliRunner;
import io.kvstore.bench.targets.RedisTarget;
import io.kvstore.bench.targets.Session;
import io.kvstore.bench.targets.Target;
import io.kvstore.bench.targets.TierCounters;
import io.kvstore.common.PageFormat;
import io.kvstore.common.TcpRelay;
import io.kvstore.server.KvStoreDaemon;
import io.kvstore.server.config.ServerConfig;
import io.kvstore.server.net.KvStoreNetworkServerFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CompareCommandTest {

  @TempDir Path dir;

  private final CliRunner cli = new CliRunner();

  private static final String[] SMALL = {"--page-sizes", "4KiB", "--batches", "1,4", "--connections",
      "1,2", "--duration", "100ms", "--warmup", "20ms", "--working-set", "512KiB", "--dram-bytes",
      "16MiB", "--no-progress", "--target-warmup", "0ms"};

  private String[] args(String targets, Path out) {
    String[] all = new String[SMALL.length + 5];
    all[0] = "compare";
    all[1] = "--targets";
    all[2] = targets;
    all[3] = "--out";
    all[4] = out.toString();
    System.arraycopy(SMALL, 0, all, 5, SMALL.length);
    return all;
  }

  @Test
  void shouldRunTheMatrixAgainstTheStoreAndTheRawSocket() throws IOException {
    Path out = dir.resolve("out");
    assertEquals(0, cli.run(args("embedded,raw", out)), cli.err() + cli.out());
    List<String> csv = Files.readAllLines(out.resolve("compare.csv"));
    assertEquals(1 + 2 * 4 * 2, csv.size(), "2 ops x 4 cells x 2 targets");
    JsonNode root = new ObjectMapper().readTree(out.resolve("compare.json").toFile());
    assertEquals(8, root.path("cells").size());
    assertEquals(0, root.path("warmup").size(), "--target-warmup 0ms: no warm-up runs");
    for (JsonNode cell : root.path("cells")) {
      for (JsonNode r : cell.path("results")) {
        assertEquals(0, r.path("errors").asLong(), r.toString());
        assertEquals(0, r.path("misses").asLong(), r.toString());
        assertTrue(r.path("calls").asLong() >= CellRunner.MIN_CALLS, r.toString());
        assertEquals(r.path("pages").asLong() * 4160, r.path("bytes").asLong());
      }
    }
    assertEquals(4, root.path("goals").size());
    assertTrue(cli.out().contains("goal: every cell: kvstore-embedded p99 <= redis p99: not measured"),
        cli.out());
    for (String png : List.of("throughput.png", "latency-cdf-get-4KiB.png", "latency-cdf-put-4KiB.png")) {
      assertTrue(Files.size(out.resolve(png)) > 1000, png);
    }
  }

  @Test
  void shouldWarmUpEveryTargetOnEveryCellBeforeTheMatrix() throws IOException {
    Path out = dir.resolve("warm");
    String[] a = args("embedded,raw", out);
    a[a.length - 1] = "400ms"; // --target-warmup: each of the 8 cells gets its 100 ms minimum
    assertEquals(0, cli.run(a), cli.err() + cli.out());
    JsonNode root = new ObjectMapper().readTree(out.resolve("compare.json").toFile());
    // Each target ran each of the 8 cells once, unmeasured, before the matrix.
    JsonNode warm = root.path("warmup");
    assertEquals(16, warm.size(), warm.toString());
    for (int i = 0; i < 16; i++) {
      JsonNode w = warm.get(i);
      assertEquals(i < 8 ? "kvstore-embedded" : "raw-socket", w.path("target").asText(), w.toString());
      assertEquals(root.path("cells").get(i % 8).path("op").asText(),
          w.path("cell").asText().split(" ")[0], w.toString());
      assertTrue(w.path("calls").asLong() >= CellRunner.MIN_CALLS, w.toString());
    }
    assertEquals(8, root.path("cells").size(), "the warm-up adds no cell to the report");
    for (JsonNode cell : root.path("cells")) {
      for (JsonNode r : cell.path("results")) {
        assertEquals(0, r.path("errors").asLong(), r.toString());
        assertEquals(0, r.path("misses").asLong(), r.toString());
      }
    }
    assertEquals(2, cli.run("compare", "--target-warmup", "soon"));
    assertTrue(cli.err().contains("soon"), cli.err());
  }

  @Test
  void shouldRunEveryCellOncePerRoundAndReportTheRoundsTogether() throws IOException {
    Path out = dir.resolve("rounds");
    String[] a = args("embedded,raw", out);
    String[] withRounds = new String[a.length + 2];
    System.arraycopy(a, 0, withRounds, 0, a.length);
    withRounds[a.length] = "--rounds";
    withRounds[a.length + 1] = "2";
    assertEquals(0, cli.run(withRounds), cli.err() + cli.out());
    JsonNode root = new ObjectMapper().readTree(out.resolve("compare.json").toFile());
    assertEquals(8, root.path("cells").size(), "rounds add to the cells, not cells to the report");
    for (JsonNode cell : root.path("cells")) {
      assertEquals(2, cell.path("results").size(), cell.toString());
      for (JsonNode r : cell.path("results")) {
        JsonNode perRound = r.path("roundsGigabytesPerSecond");
        assertEquals(2, perRound.size(), r.toString());
        assertTrue(r.path("calls").asLong() >= 2 * CellRunner.MIN_CALLS, r.toString());
        // Two windows of 100 ms each.
        assertTrue(r.path("elapsedSeconds").asDouble() >= 0.2, r.toString());
        double total = r.path("gigabytesPerSecond").asDouble();
        double lo = Math.min(perRound.get(0).asDouble(), perRound.get(1).asDouble());
        double hi = Math.max(perRound.get(0).asDouble(), perRound.get(1).asDouble());
        assertTrue(total >= lo * 0.999 && total <= hi * 1.001, "the total lies between its rounds: " + r);
        assertEquals(0, r.path("errors").asLong() + r.path("misses").asLong(), r.toString());
      }
    }
    assertTrue(cli.out().contains("each row: 2 rounds together"), cli.out());
    assertTrue(cli.out().contains("rounds GB/s"), cli.out());

    assertEquals(2, cli.run("compare", "--rounds", "0"));
    assertTrue(cli.err().contains("--rounds must be 1 to 100, got 0"), cli.err());
  }

  @Test
  void shouldCompareWithRedis() throws IOException {
    assumeTrue(RedisTarget.serverAvailable(),
        "redis-server is not on the PATH (apt-get install redis-server): compare with Redis not run");
    Path out = dir.resolve("redis");
    assertEquals(0, cli.run(args("embedded,redis", out)), cli.err() + cli.out());
    assertTrue(cli.out().matches("(?s).*get 4 KiB x4 c2 +kvstore-embedded .*\\n +redis .*"), cli.out());
    assertTrue(cli.out().contains("goal: every cell: kvstore-embedded p99 <= redis p99: met in "),
        cli.out());
  }

  /**
   * A daemon behind a link that stops carrying bytes mid-run (the connections stay open, nothing
   * arrives): with --request-timeout the stalled call fails after that long and the run stops
   * with the call's error (a matrix with a failed call measures nothing), instead of waiting the
   * default 60 s.
   */
  @Test
  void shouldStopOnACallThatTimesOutOnAStalledLink() throws Exception {
    ServerConfig config = ServerConfig.builder().host("127.0.0.1").port(0).metricsPort(0)
        .dataDir(dir.resolve("daemon")).dramBytes(64 << 20).ssdBytes(0)
        .maxPageBytes(PageFormat.pageLength(16 << 10)).shutdownGraceSeconds(1).build();
    KvStoreDaemon daemon = new KvStoreDaemon(config, new KvStoreNetworkServerFactory());
    daemon.start();
    try (TcpRelay relay = new TcpRelay(daemon.networkPort())) {
      CompletableFuture<Integer> run = CompletableFuture.supplyAsync(() -> cli.run("compare",
          "--targets", "daemon", "--connect", "127.0.0.1:" + relay.port(),
          "--request-timeout", "500ms", "--ops", "get", "--page-sizes", "16KiB", "--batches", "1",
          "--connections", "1", "--duration", "3s", "--warmup", "0ms", "--target-warmup", "0ms",
          "--working-set", "1MiB", "--no-progress"));
      long preload = 64L * PageFormat.pageLength(16 << 10);
      for (int i = 0; i < 3000 && daemon.metrics().bytesOut() < preload; i++) {
        Thread.sleep(10); // until the preload is stored and GETs are answered
      }
      relay.stall();
      int status = run.get(60, TimeUnit.SECONDS);
      assertEquals(1, status, cli.out() + cli.err());
      Matcher m = Pattern.compile("GET failed: CLIENT_TIMEOUT: no answer to GET from \\S+ within"
          + " (\\d+) ms").matcher(cli.err());
      assertTrue(m.find(), cli.err());
      assertTrue(Integer.parseInt(m.group(1)) <= 500, "the timeout asked for: " + cli.err());
    } finally {
      daemon.stop();
    }
  }

  @Test
  void shouldRunTheFloorTargetInTheMatrixAndVerifyEveryPageItLends() throws IOException {
    Path out = dir.resolve("floor");
    assertEquals(0, cli.run(args("floor,memcpy", out)), cli.err() + cli.out());
    JsonNode root = new ObjectMapper().readTree(out.resolve("compare.json").toFile());
    int floorRows = 0;
    for (JsonNode cell : root.path("cells")) {
      for (JsonNode r : cell.path("results")) {
        assertEquals(0, r.path("errors").asLong(), r.toString());
        assertEquals(0, r.path("misses").asLong(), r.toString());
        if (r.path("target").asText().equals("floor")) {
          floorRows++;
          assertTrue(r.path("calls").asLong() >= CellRunner.MIN_CALLS, r.toString());
          assertEquals(r.path("pages").asLong() * 4160, r.path("bytes").asLong());
        }
      }
    }
    assertEquals(8, floorRows, "every get and put cell");
  }

  @Test
  void shouldCloseTargetsNewestFirstEvenWhenOneFailsToClose() {
    List<String> closed = new java.util.ArrayList<>();
    List<Target> targets = List.of(
        closing("daemon", closed, null),
        closing("daemon-shm", closed, new IllegalStateException("shm close failed")),
        closing("redis", closed, new IllegalStateException("redis close failed")));
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> CompareCommand.closeNewestFirst(targets));
    // daemon-shm's clients go before the daemon they share stops; a failing close stops nothing.
    assertEquals(List.of("redis", "daemon-shm", "daemon"), closed);
    assertEquals("redis close failed", e.getMessage());
    assertEquals(1, e.getSuppressed().length);
    assertEquals("shm close failed", e.getSuppressed()[0].getMessage());
  }

  private static Target closing(String name, List<String> closed, RuntimeException failure) {
    return new Target() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public Session openSession() {
        throw new UnsupportedOperationException("a target only closed in this test");
      }

      @Override
      public TierCounters counters() {
        return TierCounters.NONE;
      }

      @Override
      public void close() {
        closed.add(name);
        if (failure != null) {
          throw failure;
        }
      }
    };
  }

  @Test
  void shouldRejectBadArguments() {
    assertEquals(2, cli.run("compare", "--targets", "memcached"));
    assertTrue(cli.err().contains("unknown target 'memcached'"), cli.err());
    assertEquals(2, cli.run("compare", "--ops", "scan"));
    assertTrue(cli.err().contains("unknown op 'scan'"), cli.err());
    assertEquals(2, cli.run("compare", "--duration", "0ms"));
    assertTrue(cli.err().contains("--duration must be > 0"), cli.err());
    assertEquals(2, cli.run("compare", "--request-timeout", "0ms"));
    assertTrue(cli.err().contains("--request-timeout must be at least 1ms, got 0ms"), cli.err());
  }
}
