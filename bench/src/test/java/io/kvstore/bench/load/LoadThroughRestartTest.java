package io.kvstore.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvstore.bench.CliRunner;
import io.kvstore.common.PageFormat;
import io.kvstore.server.KvStoreDaemon;
import io.kvstore.server.config.ServerConfig;
import io.kvstore.server.net.KvStoreNetworkServerFactory;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kvbench load} against a daemon that stops and comes back on the same port mid-run: the
 * calls that fail are counted by cause and the run goes on against the new daemon (exit status 1,
 * the report says how many); with {@code --stop-on-failure} the first failed call ends the run.
 */
class LoadThroughRestartTest {

  @TempDir Path dir;

  private KvStoreDaemon daemon(String name, int port) throws Exception {
    ServerConfig config = ServerConfig.builder().host("127.0.0.1").port(port).metricsPort(0)
        .dataDir(dir.resolve(name)).hotBytes(1 << 20).dramBytes(64 << 20).ssdBytes(0)
        .maxPageBytes(PageFormat.pageLength(64 << 10)).shutdownGraceSeconds(1).build();
    KvStoreDaemon d = new KvStoreDaemon(config, new KvStoreNetworkServerFactory());
    d.start();
    return d;
  }

  private static void awaitBytesIn(KvStoreDaemon d, long bytes) throws InterruptedException {
    for (int i = 0; i < 3000 && d.metrics().bytesIn() < bytes; i++) {
      Thread.sleep(10);
    }
    assertTrue(d.metrics().bytesIn() >= bytes, "the load reached the daemon");
  }

  @Test
  void shouldCountTheCallsADaemonRestartFailsAndGoOn() throws Exception {
    KvStoreDaemon first = daemon("first", 0);
    int port = first.networkPort();
    KvStoreDaemon second = null;
    CliRunner cli = new CliRunner();
    Path out = dir.resolve("out");
    CompletableFuture<Integer> load = CompletableFuture.supplyAsync(() -> cli.run("load",
        "--target", "daemon", "--connect", "127.0.0.1:" + port, "--duration", "5s",
        "--requests", "1000000", "--prompt-tokens", "uniform:512-4096", "--readers", "2",
        "--writers", "2", "--page-size", "16KiB", "--no-progress", "--out", out.toString()));
    try {
      awaitBytesIn(first, 4 << 20);
      first.stop();
      Thread.sleep(300);
      second = daemon("second", port);
      int status = load.get(60, TimeUnit.SECONDS);
      JsonNode run = new ObjectMapper().readTree(out.resolve("report.json").toFile())
          .path("runs").get(0);
      JsonNode failed = run.path("failedCalls");
      assertEquals(1, status, "a run with failed calls exits with 1\n" + cli.out() + cli.err());
      assertTrue(failed.path("total").asLong() > 0, failed.toString());
      long byCause = 0;
      for (JsonNode n : failed.path("byCause")) {
        byCause += n.asLong();
      }
      assertEquals(failed.path("total").asLong(), byCause, "every failed call has its cause");
      assertTrue(cli.out().matches("(?s).*\\nfailed      [0-9,]+ calls \\((CONNECTION_CLOSED|"
          + "SHUTTING_DOWN) .*; the run went on; .*"), cli.out());
      assertEquals(0, run.path("errors").asLong(), "no page failed verification");
      assertTrue(run.path("requests").asLong() > 0);
      assertTrue(second.metrics().bytesIn() > 1 << 20, "the run went on against the new daemon");
    } finally {
      first.stop();
      if (second != null) {
        second.stop();
      }
    }
  }

  @Test
  void shouldEndTheRunAtTheFirstFailedCallWhenAsked() throws Exception {
    KvStoreDaemon only = daemon("only", 0);
    CliRunner cli = new CliRunner();
    CompletableFuture<Integer> load = CompletableFuture.supplyAsync(() -> cli.run("load",
        "--target", "daemon", "--connect", "127.0.0.1:" + only.networkPort(), "--duration", "120s",
        "--requests", "1000000", "--readers", "1", "--writers", "1", "--page-size", "16KiB",
        "--no-progress", "--stop-on-failure"));
    try {
      awaitBytesIn(only, 1 << 20);
    } finally {
      only.stop();
    }
    // Without the flag this run would go on for its 120 s; with it, the first failure ends it.
    int status = load.get(60, TimeUnit.SECONDS);
    assertTrue(status != 0, cli.out() + cli.err());
    assertTrue(cli.err().matches("(?s).*(GET|PUT) failed: (CONNECTION_CLOSED|SHUTTING_DOWN).*"),
        cli.err());
  }
}
