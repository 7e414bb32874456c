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
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
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

  /** A TCP relay to a daemon that can stop relaying (bytes already read are held, not sent). */
  static final class StallingRelay implements AutoCloseable {
    private final ServerSocket listener;
    private final int target;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile boolean stalled;

    StallingRelay(int target) throws IOException {
      this.target = target;
      this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      Thread accept = new Thread(this::acceptLoop, "relay-accept");
      accept.setDaemon(true);
      accept.start();
    }

    int port() {
      return listener.getLocalPort();
    }

    void stall() {
      stalled = true;
    }

    private void acceptLoop() {
      try {
        while (true) {
          Socket in = listener.accept();
          Socket out = new Socket(InetAddress.getLoopbackAddress(), target);
          sockets.add(in);
          sockets.add(out);
          pump(in, out);
          pump(out, in);
        }
      } catch (IOException e) {
        // closed
      }
    }

    private void pump(Socket from, Socket to) {
      Thread t = new Thread(() -> {
        byte[] buf = new byte[64 << 10];
        try (InputStream i = from.getInputStream(); OutputStream o = to.getOutputStream()) {
          for (int n; (n = i.read(buf)) >= 0; ) {
            while (stalled) {
              Thread.sleep(50);
            }
            o.write(buf, 0, n);
          }
        } catch (IOException | InterruptedException e) {
          // a side closed
        }
      }, "relay-pump");
      t.setDaemon(true);
      t.start();
    }

    @Override
    public void close() throws IOException {
      listener.close();
      for (Socket s : sockets) {
        s.close();
      }
    }
  }

  @Test
  void shouldCountCallsThatTimeOutOnAStalledLinkAndEndOnTime() throws Exception {
    ServerConfig config = ServerConfig.builder().host("127.0.0.1").port(0).metricsPort(0)
        .dataDir(dir.resolve("daemon")).dramBytes(64 << 20).ssdBytes(0)
        .maxPageBytes(PageFormat.pageLength(16 << 10)).shutdownGraceSeconds(1).build();
    KvStoreDaemon daemon = new KvStoreDaemon(config, new KvStoreNetworkServerFactory());
    daemon.start();
    CliRunner cli = new CliRunner();
    Path out = dir.resolve("out");
    try (StallingRelay relay = new StallingRelay(daemon.networkPort())) {
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
