package io.kvstore.server.cluster;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real etcd server (Debian's {@code etcd-server} package, 3.4) for tests: one member in a temp
 * directory on free ports, its output in a log file, stopped by {@link #close()}.
 */
final class EtcdProcess implements AutoCloseable {

  /** Where Debian installs etcd; PATH is searched too. */
  static Path binary() {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      Path p = Path.of(dir.isEmpty() ? "." : dir, "etcd");
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    Path debian = Path.of("/usr/bin/etcd");
    return Files.isExecutable(debian) ? debian : null;
  }

  static final String MISSING = "etcd is not installed: `apt-get install -y etcd-server` (Debian's"
      + " package, 3.4; .ci/run installs it) to run the cluster tests against a real etcd";

  private final Process process;
  private final Path log;
  final int clientPort;

  EtcdProcess(Path dir) throws Exception {
    this.log = dir.resolve("etcd.log");
    // The ports are free when chosen, not when etcd binds them: another process can take one in
    // between (seen in CI: "bind: address already in use" on an ephemeral port). Then etcd exits
    // and is started again on other ports.
    Process started = null;
    int port = 0;
    for (int attempt = 1; started == null; attempt++) {
      port = freePort();
      Process p = start(dir.resolve("etcd-data-" + attempt), port, freePort());
      if (awaitHealthy(p, port)) {
        started = p;
      } else {
        stop(p);
        if (attempt == 3 || !log().contains("address already in use")) {
          throw new AssertionError("etcd did not start:\n" + log());
        }
      }
    }
    this.process = started;
    this.clientPort = port;
  }

  private Process start(Path data, int clientPort, int peerPort) throws IOException {
    String client = "http://127.0.0.1:" + clientPort;
    String peer = "http://127.0.0.1:" + peerPort;
    return new ProcessBuilder(List.of(binary().toString(), "--name", "t", "--data-dir", data.toString(),
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", "t=" + peer, "--log-level", "warn"))
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
  }

  /** Whether etcd answers healthy within 30 s; false as soon as it exits. */
  private static boolean awaitHealthy(Process p, int clientPort) throws InterruptedException {
    HttpClient http = HttpClient.newHttpClient();
    URI health = URI.create("http://127.0.0.1:" + clientPort + "/health");
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < until && p.isAlive()) {
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(health)
            .timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200 && r.body().contains("true")) {
          return true;
        }
      } catch (IOException e) {
        // not up yet
      }
      Thread.sleep(100);
    }
    return false;
  }

  String endpoint() {
    return "127.0.0.1:" + clientPort;
  }

  String log() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Override
  public void close() {
    stop(process);
  }

  private static void stop(Process process) {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }
}
