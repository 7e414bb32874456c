package io.kvstore.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.TmpfsMount;
import io.kvstore.core.store.TieredStore;
import io.kvstore.server.config.ConfigKey;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class KvStoreServerCommandTest {

  @TempDir Path dir;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private CommandLine commandLine(KvStoreServerCommand command) {
    CommandLine cl = KvStoreServerCommand.commandLine(command);
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    return cl;
  }

  private KvStoreServerCommand command(NetworkServerFactory factory, Map<String, String> env) {
    return new KvStoreServerCommand(factory, env, dir, false);
  }

  /** Small tiers so the store opens fast; ports picked free. */
  private List<String> smallDaemonArgs(int metricsPort, String... more) {
    List<String> args = new ArrayList<>(List.of("--data-dir", dir.resolve("data").toString(),
        "--port", "0", "--metrics-port", Integer.toString(metricsPort), "--hot-bytes", "4MiB",
        "--dram-bytes", "8MiB", "--ssd-bytes", "64MiB", "--shutdown-grace-seconds", "7"));
    args.addAll(List.of(more));
    return args;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void shouldPrintTheDirectMemoryTheSettingsNeedWithoutStarting() {
    int code = commandLine(command(null, Map.of("KVSTORE_HOT_BYTES", "1GiB")))
        .execute("--print-direct-memory", "--dram-bytes", "6GiB", "--ssd-bytes", "0",
            "--data-dir", dir.resolve("never").toString());
    assertEquals(0, code, err.toString());
    // hot + DRAM + the request headroom (no SSD tier: no write-back queue), plus 25%
    assertEquals(((1L << 30) + (6L << 30) + (1L << 30)) * 5 / 4, Long.parseLong(out.toString().strip()));
    assertFalse(Files.exists(dir.resolve("never")), "the store must not be opened");
  }

  @Test
  void shouldListOneFlagPerSettingInTheHelp() {
    int code = commandLine(command(null, Map.of())).execute("--help");
    assertEquals(0, code);
    String help = out.toString();
    for (ConfigKey key : ConfigKey.values()) {
      assertTrue(help.contains(key.flag() + "="), key.flag() + " missing from\n" + help);
      assertTrue(help.contains(key.envVar()), key.envVar());
    }
    assertTrue(help.contains("--config=FILE"));
    assertTrue(help.contains("--auth-token=NAME=TOKEN:NAMESPACES"));
    assertTrue(help.matches("(?s).*\\b2 +bad configuration or command line.*"), help);
    assertTrue(help.matches("(?s).*\\b143 +stopped gracefully on SIGTERM.*"), help);
  }

  @Test
  void shouldPrintTheVersionFromTheBuild() {
    assertEquals(0, commandLine(command(null, Map.of())).execute("--version"));
    assertTrue(out.toString().matches("kvstore-server \\d+\\.\\d+\\.\\d+.*\\s*"), out.toString());
  }

  @Test
  void shouldExitWith2AndSayWhatIsWrongWithABadConfiguration() {
    Map<String, String> env = Map.of("KVSTORE_MAX_BATCH", "many");
    int code = commandLine(command(null, env)).execute("--dram-bytes", "lots",
        "--data-dir", dir.resolve("data").toString());
    assertEquals(KvStoreServerCommand.EXIT_BAD_CONFIG, code);
    assertEquals("kvstore-server: Invalid configuration (2 problems):\n"
        + "  bad value 'lots' for dram.bytes (from flag --dram-bytes): expected a size: a"
        + " non-negative integer with an optional unit B, KiB, MiB, GiB, TiB (powers of 1024) or KB,"
        + " MB, GB, TB (powers of 1000), case-insensitive, e.g. 64MiB\n"
        + "  bad value 'many' for max.batch (from environment variable KVSTORE_MAX_BATCH): expected"
        + " an integer from 1 to 1048576\n", err.toString());
    assertFalse(Files.exists(dir.resolve("data")), "nothing is opened for a bad configuration");
  }

  @Test
  void shouldExitWith2ForAMissingConfigFileAndForUnknownFlags() {
    int code = commandLine(command(null, Map.of())).execute("--config", dir.resolve("nope.conf").toString());
    assertEquals(2, code);
    assertTrue(err.toString().startsWith("kvstore-server: Invalid configuration: configuration file "),
        err.toString());
    assertEquals(2, commandLine(command(null, Map.of())).execute("--dram-byte", "1GiB"));
    assertTrue(err.toString().contains("Unknown options: '--dram-byte', '1GiB'"), err.toString());
    assertTrue(err.toString().contains("Possible solutions: --dram-bytes"), err.toString());
  }

  @Test
  void shouldExitWith2WhenTheStoreRefusesTheSettings() {
    int code = commandLine(command(new RecordingNetworkServer.Factory(false), Map.of()))
        .execute(smallDaemonArgs(0, "--ssd-admission", "sometimes").toArray(String[]::new));
    assertEquals(2, code);
    assertTrue(err.toString().startsWith("kvstore-server: Invalid configuration: the store refused the"
        + " settings: "), err.toString());
    assertTrue(err.toString().contains("sometimes"), err.toString());
  }

  @Test
  void shouldServeMetricsAndStopInOrderOnRequest() throws Exception {
    RecordingNetworkServer.Factory factory = new RecordingNetworkServer.Factory(false);
    KvStoreServerCommand cmd = command(factory, Map.of());
    int metricsPort = freePort();
    CommandLine cl = commandLine(cmd);
    CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(
        () -> cl.execute(smallDaemonArgs(metricsPort, "--writeback-queue-bytes", "3MiB")
            .toArray(String[]::new)));
    KvStoreDaemon daemon = cmd.awaitRunning(Duration.ofSeconds(60));
    assertNotNull(daemon, "daemon did not start: " + err);
    assertEquals(metricsPort, daemon.metricsPort());
    RecordingNetworkServer net = factory.last;
    assertEquals(List.of("start"), net.events);
    try (Socket s = new Socket("127.0.0.1", daemon.networkPort())) {
      assertTrue(s.isConnected());
    }

    HttpResponse<String> metrics = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, metrics.statusCode());
    assertTrue(metrics.body().contains("kvstore_tier_capacity_bytes{tier=\"dram\"} 8388608.0\n"), metrics.body());
    assertTrue(metrics.body().contains("kvstore_tier_capacity_bytes{tier=\"ssd\"} 6.7108864E7\n"));
    assertTrue(metrics.body().contains("kvstore_op_latency_seconds_count{op=\"get\"} 0\n"));
    // the store got the write-back settings from the daemon's flags
    assertTrue(metrics.body().contains("\nkvstore_writeback_queue_capacity_bytes 3145728.0\n"),
        metrics.body());
    // The daemon registers the JVM's, Netty's and the health metrics too.
    assertTrue(metrics.body().contains("\njvm_buffer_pool_used_bytes{pool=\"direct\"} "), metrics.body());
    assertTrue(metrics.body().contains("\nnetty_allocator_used_bytes{allocator=\"default\",memory=\"direct\"} "));
    assertTrue(metrics.body().contains("\nkvstore_ssd_degraded 0.0\n"));
    HttpResponse<String> ready = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + "/health/ready")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, ready.statusCode());
    assertEquals("{\"status\":\"ready\",\"ssd\":\"ok\"}\n", ready.body());
    assertFalse(exit.isDone());

    cmd.requestStop();
    assertEquals(0, exit.get(60, TimeUnit.SECONDS));
    assertEquals(List.of("start", "shutdownGracefully PT7S", "in-flight put stored: true", "close"),
        net.events);
    assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", metricsPort).close());
    // The store was closed (RocksDB would refuse a second open of a directory this process holds).
    TieredStore.builder().dataDir(dir.resolve("data")).hotBytes(0).dramBytes(0).ssdBytes(64L << 20)
        .build().close();
  }

  @Test
  void shouldCloseEverythingAndExitWith1WhenTheNetworkCannotStart() throws Exception {
    RecordingNetworkServer.Factory factory = new RecordingNetworkServer.Factory(true);
    int metricsPort = freePort();
    int code = commandLine(command(factory, Map.of()))
        .execute(smallDaemonArgs(metricsPort).toArray(String[]::new));
    assertEquals(KvStoreServerCommand.EXIT_FAILED, code);
    assertEquals("kvstore-server: could not start: simulated bind failure on port 0\n", err.toString());
    assertEquals(List.of("start", "close"), factory.last.events);
    assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", metricsPort).close());
    try (TieredStore reopened = TieredStore.builder().dataDir(dir.resolve("data"))
        .hotBytes(0).dramBytes(0).ssdBytes(64L << 20).build()) {
      assertEquals(-1, reopened.get(RecordingNetworkServer.GRACE_KEY, ByteBuffer.allocate(128)));
    }
  }

  @Test
  void shouldAnswerLivenessAndSayStartingWhileTheStoreOpens() throws Exception {
    // The store's open held (as a long crash rebuild holds it): the health endpoints already
    // answer, live and not ready; the protocol port is not open yet.
    CountDownLatch opening = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    KvStoreDaemon.beforeStoreOpenForTest = () -> {
      opening.countDown();
      try {
        release.await(60, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    };
    try {
      RecordingNetworkServer.Factory factory = new RecordingNetworkServer.Factory(false);
      KvStoreServerCommand cmd = command(factory, Map.of());
      int metricsPort = freePort();
      CommandLine cl = commandLine(cmd);
      CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(
          () -> cl.execute(smallDaemonArgs(metricsPort).toArray(String[]::new)));
      assertTrue(opening.await(60, TimeUnit.SECONDS), "the daemon reached the store's open: " + err);
      HttpClient http = HttpClient.newHttpClient();
      HttpResponse<String> live = http.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + metricsPort + "/health/live")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, live.statusCode());
      HttpResponse<String> ready = http.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + metricsPort + "/health/ready")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(503, ready.statusCode());
      assertEquals("{\"status\":\"starting\",\"ssd\":\"ok\"}\n", ready.body());
      HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + metricsPort + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, metrics.statusCode());
      assertTrue(metrics.body().contains("\nkvstore_ssd_degraded 0.0\n"), metrics.body());
      assertNull(factory.last, "no network server before the store is open");

      release.countDown();
      KvStoreDaemon daemon = cmd.awaitRunning(Duration.ofSeconds(60));
      assertNotNull(daemon, "daemon did not start: " + err);
      ready = http.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + metricsPort + "/health/ready")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, ready.statusCode());
      assertEquals("{\"status\":\"ready\",\"ssd\":\"ok\"}\n", ready.body());
      cmd.requestStop();
      assertEquals(0, exit.get(60, TimeUnit.SECONDS));
    } finally {
      KvStoreDaemon.beforeStoreOpenForTest = null;
      release.countDown();
    }
  }

  @Test
  void shouldExitWith1BeforeTouchingTheStoreWhenTheMetricsPortIsInUse() throws Exception {
    try (ServerSocket taken = new ServerSocket(0)) {
      RecordingNetworkServer.Factory factory = new RecordingNetworkServer.Factory(false);
      int code = commandLine(command(factory, Map.of()))
          .execute(smallDaemonArgs(taken.getLocalPort()).toArray(String[]::new));
      assertEquals(KvStoreServerCommand.EXIT_FAILED, code);
      assertTrue(err.toString().startsWith("kvstore-server: could not start: "), err.toString());
      assertNull(factory.last, "no network server");
      assertFalse(Files.exists(dir.resolve("data")), "the data directory was not created");
    }
  }

  @Test
  void shouldExitWith1InOneLineBeforeTouchingTheStoreWhenTheProtocolPortIsInUse() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
      RecordingNetworkServer.Factory factory = new RecordingNetworkServer.Factory(false);
      List<String> args = smallDaemonArgs(0);
      args.set(args.indexOf("--port") + 1, Integer.toString(taken.getLocalPort()));
      int code = commandLine(command(factory, Map.of())).execute(args.toArray(String[]::new));
      assertEquals(KvStoreServerCommand.EXIT_FAILED, code);
      assertEquals("kvstore-server: could not start: cannot listen for the kvstore protocol on"
          + " 127.0.0.1:" + taken.getLocalPort() + ": address already in use: another process"
          + " listens there; stop it or choose another port (port, --port)\n", err.toString());
      assertNull(factory.last, "no network server");
      assertFalse(Files.exists(dir.resolve("data")), "the store was not opened");
    }
  }

  @Test
  void shouldExitWith1InOneLineWhenTheDataDirectoryIsAFile() throws Exception {
    Files.write(dir.resolve("data"), new byte[] {7});
    RecordingNetworkServer.Factory factory = new RecordingNetworkServer.Factory(false);
    int code = commandLine(command(factory, Map.of()))
        .execute(smallDaemonArgs(0).toArray(String[]::new));
    assertEquals(KvStoreServerCommand.EXIT_FAILED, code);
    assertEquals("kvstore-server: could not start: the data directory "
        + dir.resolve("data").toAbsolutePath() + " is not a directory (a file is in the way)\n",
        err.toString());
    assertNull(factory.last, "no network server");
  }

  @Test
  void shouldExitWith1AndSayWhoHoldsADataDirectoryInUse() throws Exception {
    // Another store (here in this process) holds the data directory: the daemon refuses it with
    // the store's message, and the holder keeps it.
    try (TieredStore holder = TieredStore.builder().dataDir(dir.resolve("data"))
        .hotBytes(0).dramBytes(0).ssdBytes(64L << 20).build()) {
      RecordingNetworkServer.Factory factory = new RecordingNetworkServer.Factory(false);
      int code = commandLine(command(factory, Map.of()))
          .execute(smallDaemonArgs(0).toArray(String[]::new));
      assertEquals(KvStoreServerCommand.EXIT_FAILED, code);
      assertTrue(err.toString().startsWith("kvstore-server: could not start: the data directory "),
          err.toString());
      assertTrue(err.toString().contains("is in use by another store (process "
          + ProcessHandle.current().pid() + ")"), err.toString());
      assertEquals(1, err.toString().lines().count(), err.toString());
      assertEquals(-1, holder.get(1, 2, ByteBuffer.allocate(128)), "the holder still serves");
    }
  }

  @Test
  void shouldExitWith1InOneLineWhenTheBlockIndexCannotFitTheDataDisk() throws Exception {
    // index.dir = data on an 8 MiB disk: the index of a 64 MiB SSD tier at 16 KiB pages does fit,
    // one of 1 GiB does not.
    try (TmpfsMount disk = TmpfsMount.mount(dir.resolve("disk"), "size=8m")) {
      RecordingNetworkServer.Factory factory = new RecordingNetworkServer.Factory(false);
      List<String> args = new ArrayList<>(List.of("--data-dir", disk.dir().resolve("data").toString(),
          "--port", "0", "--metrics-port", "0", "--hot-bytes", "0", "--dram-bytes", "8MiB",
          "--ssd-bytes", "1GiB", "--index-dir", "data"));
      int code = commandLine(command(factory, Map.of())).execute(args.toArray(String[]::new));
      assertEquals(KvStoreServerCommand.EXIT_FAILED, code);
      assertTrue(err.toString().startsWith("kvstore-server: could not start: cannot open the block"
          + " index: needs "), err.toString());
      assertTrue(err.toString().contains("lower the SSD capacity"), err.toString());
      assertEquals(1, err.toString().lines().count(), "one line, no stack trace: " + err);
      assertNull(factory.last, "no network server");
    }
  }

  @Test
  void shouldExitWith1InOneLineWhenTheIndexDirectoryIsAFile() throws Exception {
    Path file = Files.writeString(dir.resolve("not-a-dir"), "x");
    RecordingNetworkServer.Factory factory = new RecordingNetworkServer.Factory(false);
    int code = commandLine(command(factory, Map.of()))
        .execute(smallDaemonArgs(0, "--index-dir", file.toString()).toArray(String[]::new));
    assertEquals(KvStoreServerCommand.EXIT_FAILED, code);
    assertTrue(err.toString().startsWith("kvstore-server: could not start: cannot use the block"
        + " index directory " + file + " (index.dir): "), err.toString());
    assertEquals(1, err.toString().lines().count(), "one line, no stack trace: " + err);
    assertNull(factory.last, "no network server");
  }

  @Test
  void shouldExitWith1InOneLineWhenTheIndexDirectoryHasNoRoom() throws Exception {
    // index.dir on a real tmpfs too small for the block index: one line saying what is missing.
    try (TmpfsMount shm = TmpfsMount.mount(dir.resolve("shm"), "size=1m")) {
      RecordingNetworkServer.Factory factory = new RecordingNetworkServer.Factory(false);
      int code = commandLine(command(factory, Map.of()))
          .execute(smallDaemonArgs(0, "--index-dir", shm.dir().resolve("index").toString())
              .toArray(String[]::new));
      assertEquals(KvStoreServerCommand.EXIT_FAILED, code);
      assertTrue(err.toString().startsWith("kvstore-server: could not start: the block index"
          + " directory " + shm.dir().resolve("index")), err.toString());
      assertTrue(err.toString().contains("has no room for the block index"), err.toString());
      assertTrue(err.toString().contains("give that file system more room"), err.toString());
      assertEquals(1, err.toString().lines().count(), "one line, no stack trace: " + err);
      assertNull(factory.last, "no network server");
    }
  }

  @Test
  void shouldExitWith1InOneLineWhenTheDataDirectoryCrashedUnderAnotherDurability() throws Exception {
    // A store with a log, then what a kill leaves of its SSD tier: no clean-close marker.
    try (TieredStore store = TieredStore.builder().dataDir(dir.resolve("data"))
        .hotBytes(0).dramBytes(0).ssdBytes(64L << 20).ssdDurability("wal").build()) {
      assertEquals(-1, store.get(1, 2, ByteBuffer.allocate(128)));
    }
    Files.delete(dir.resolve("data").resolve("ssd").resolve("segments").resolve("clean"));
    RecordingNetworkServer.Factory factory = new RecordingNetworkServer.Factory(false);
    int code = commandLine(command(factory, Map.of()))
        .execute(smallDaemonArgs(0, "--ssd-durability", "none").toArray(String[]::new));
    assertEquals(KvStoreServerCommand.EXIT_FAILED, code);
    assertTrue(err.toString().startsWith("kvstore-server: could not start: the SSD tier in "),
        err.toString());
    assertTrue(err.toString().contains(" did not close cleanly under ssd.durability = wal"),
        err.toString());
    assertEquals(1, err.toString().lines().count(), "one line, no stack trace: " + err);
    assertNull(factory.last, "no network server");
  }

  @Test
  void shouldExitWith1InOneLineWhenTheIndexDirectoryIsInUse() throws Exception {
    // Another store (another data directory) runs its index from the directory given.
    Path shared = dir.resolve("index-shared");
    try (TieredStore holder = TieredStore.builder().dataDir(dir.resolve("other"))
        .hotBytes(0).dramBytes(0).ssdBytes(64L << 20).ssdDurability("wal").indexDir(shared)
        .build()) {
      RecordingNetworkServer.Factory factory = new RecordingNetworkServer.Factory(false);
      int code = commandLine(command(factory, Map.of()))
          .execute(smallDaemonArgs(0, "--index-dir", shared.toString()).toArray(String[]::new));
      assertEquals(KvStoreServerCommand.EXIT_FAILED, code);
      assertTrue(err.toString().startsWith(
          "kvstore-server: could not start: the block index directory " + shared), err.toString());
      assertTrue(err.toString().contains("in use by the store of another data directory ("
          + dir.resolve("other").toAbsolutePath().normalize() + ")"), err.toString());
      assertEquals(1, err.toString().lines().count(), err.toString());
      assertEquals(-1, holder.get(1, 2, ByteBuffer.allocate(128)), "the holder still serves");
    }
  }

  /**
   * Damaged location records (a RocksDB manifest whose checksum fails): one line that names them
   * and both ways out; with --ssd-corrupt-records discard the same data directory starts.
   */
  @Test
  void shouldExitWith1InOneLineOnDamagedLocationRecordsAndStartWithDiscard() throws Exception {
    TieredStore.builder().dataDir(dir.resolve("data")).hotBytes(0).dramBytes(0)
        .ssdBytes(64L << 20).build().close();
    Path rocks = dir.resolve("data").resolve("ssd").resolve("locations");
    try (var files = Files.list(rocks)) {
      for (Path m : files.filter(p -> p.getFileName().toString().startsWith("MANIFEST-")).toList()) {
        byte[] b = Files.readAllBytes(m);
        for (int at = 0; at < b.length; at += 7) {
          b[at] ^= (byte) 0xA5;
        }
        Files.write(m, b);
      }
    }
    RecordingNetworkServer.Factory factory = new RecordingNetworkServer.Factory(false);
    int code = commandLine(command(factory, Map.of()))
        .execute(smallDaemonArgs(0).toArray(String[]::new));
    assertEquals(KvStoreServerCommand.EXIT_FAILED, code);
    assertTrue(err.toString().startsWith("kvstore-server: could not start: the SSD tier's location"
        + " records in " + rocks.toAbsolutePath() + " are corrupt (RocksDB: "), err.toString());
    assertTrue(err.toString().contains("or set ssd.corrupt.records to discard"), err.toString());
    assertEquals(1, err.toString().lines().count(), err.toString());
    assertNull(factory.last, "no network server");

    KvStoreServerCommand discard = command(factory, Map.of());
    CommandLine cl = commandLine(discard);
    CompletableFuture<Integer> run = CompletableFuture.supplyAsync(() -> cl.execute(
        smallDaemonArgs(0, "--ssd-corrupt-records", "discard").toArray(String[]::new)));
    try {
      assertNotNull(discard.awaitRunning(Duration.ofSeconds(60)), "did not start: " + err);
      assertNotNull(factory.last, "serving");
    } finally {
      discard.requestStop();
    }
    assertEquals(KvStoreServerCommand.EXIT_OK, run.get(60, TimeUnit.SECONDS));
  }

  @Test
  void shouldExitWith1WithoutANetworkImplementation() throws Exception {
    // The test classpath may hold the real network layer; a command without an injected factory
    // looks it up there, so only the lookup itself is tested on an empty class loader.
    try (URLClassLoader empty = new URLClassLoader(new URL[0], null)) {
      IllegalStateException e =
          assertThrows(IllegalStateException.class, () -> NetworkServerFactory.load(empty));
      assertEquals("no network server implementation on the classpath: expected a"
          + " io.kvstore.server.NetworkServerFactory registered in META-INF/services", e.getMessage());
    }
  }

  @Test
  void shouldReturnNoDaemonWhenTheConfigurationIsBad() throws InterruptedException {
    KvStoreServerCommand cmd = command(null, Map.of());
    assertEquals(2, commandLine(cmd).execute("--port", "-1"));
    assertNull(cmd.awaitRunning(Duration.ofMillis(10)));
  }
}
