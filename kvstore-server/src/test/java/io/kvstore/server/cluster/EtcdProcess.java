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
    this.clientPort = freePort();
    int peerPort = freePort();
    Path data = dir.resolve("etcd-data");
    this.log = dir.resolve("etcd.log");
    String client = "http://127.0.0.1:" + clientPort;
    String peer = "http://127.0.0.1:" + peerPort;
    process = new ProcessBuilder(List.of(binary().toString(), "--name", "t", "--data-dir", data.toString(),
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", "t=" + peer, "--log-level", "warn"))
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
    HttpClient http = HttpClient.newHttpClient();
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(client + "/health"))
            .timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200 && r.body().contains("true")) {
          return;
        }
      } catch (IOException e) {
        // not up yet
      }
      if (System.nanoTime() > until || !process.isAlive()) {
        close();
        throw new AssertionError("etcd did not start:\n" + log());
      }
      Thread.sleep(100);
    }
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
