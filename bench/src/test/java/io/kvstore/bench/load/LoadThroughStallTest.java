package io.kvstore.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvstore.bench.CliRunner;
import io.kvstore.common.PageFormat;
import io.kvstore.common.TcpRelay;
import io.kvstore.server.KvStoreDaemon;
import io.kvstore.server.config.ServerConfig;
import io.kvstore.server.net.KvStoreNetworkServerFactory;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kvbench load --request-timeout} against a daemon behind a link that stops carrying bytes
 * (a stalled network path: the connections stay open, nothing arrives): the calls fail with
 * CLIENT_TIMEOUT after the given time and are counted, and so is the STATS that reads the tiers'
 * counters at the end; the report is written all the same.
 */
class LoadThroughStallTest {

  @TempDir Path dir;

  @Test
  void shouldCountCallsThatTimeOutOnAStalledLinkAndEndOnTime() throws Exception {
    ServerConfig config = ServerConfig.builder().host("127.0.0.1").port(0).metricsPort(0)
        .dataDir(dir.resolve("daemon")).dramBytes(64 << 20).ssdBytes(0)
        .maxPageBytes(PageFormat.pageLength(16 << 10)).shutdownGraceSeconds(1).build();
    KvStoreDaemon daemon = new KvStoreDaemon(config, new KvStoreNetworkServerFactory());
    daemon.start();
    CliRunner cli = new CliRunner();
    Path out = dir.resolve("out");
    try (TcpRelay relay = new TcpRelay(daemon.networkPort())) {
      CompletableFuture<Integer> load = CompletableFuture.supplyAsync(() -> cli.run("load",
          "--target", "daemon", "--connect", "127.0.0.1:" + relay.port(), "--duration", "4s",
          "--requests", "1000000", "--readers", "1", "--writers", "1", "--page-size", "16KiB",
          "--request-timeout", "500ms", "--no-progress", "--out", out.toString()));
      for (int i = 0; i < 3000 && daemon.metrics().bytesIn() < (1 << 20); i++) {
        Thread.sleep(10);
      }
      relay.stall();
      int status = load.get(60, TimeUnit.SECONDS);
      assertTrue(java.nio.file.Files.exists(out.resolve("report.json")), cli.out() + cli.err());
      JsonNode run = new ObjectMapper().readTree(out.resolve("report.json").toFile())
          .path("runs").get(0);
      assertEquals(1, status, cli.out() + cli.err());
      assertTrue(run.path("failedCalls").path("byCause").path("CLIENT_TIMEOUT").asLong() > 0,
          run.path("failedCalls").toString());
      assertTrue(run.path("requests").asLong() > 0, "requests before the stall completed");
    } finally {
      daemon.stop();
    }
  }

  @Test
  void shouldRefuseARequestTimeoutThatIsNotADuration() {
    CliRunner cli = new CliRunner();
    assertEquals(2, cli.run("load", "--target", "daemon", "--connect", "127.0.0.1:1",
        "--request-timeout", "soon"));
    assertTrue(cli.err().contains("'soon' is not a duration"), cli.err());
  }
}
