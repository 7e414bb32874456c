package io.kvstore.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.store.TieredStore;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM to a real daemon process runs the graceful shutdown: the network layer is told to stop
 * with the configured grace while the store is still open, then the store is closed, and what was
 * stored during the grace period is on SSD after a restart. Slow: the forked JVM opens a Chronicle
 * Map index (10-16 s on a busy 2-core machine).
 */
@Tag("slow")
class ShutdownSignalTest {

  @TempDir Path dir;

  /**
   * The daemon and the test are two JVMs: the reopen also checks that one process reads the block
   * index another wrote. It did not, about one run in 25 in CI and every run from some launchers:
   * Chronicle laid out the index record's fields in an order that depended on the JVM, so the
   * reopened store read the tier word from the segment slot and found no page (fixed by the
   * record's fixed layout, see {@code IndexLayoutTest}). A lost page prints what is known of it.
   */
  @Test
  void shouldStopGracefullyOnSigterm() throws Exception {
    String lost = runOnce(dir.resolve("data"));
    assertNull(lost, lost);
  }

  /** One fork, SIGTERM, restart: null if the page came back, else what is known of the loss. */
  private String runOnce(Path data) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    String flags = System.getProperty("kvstore.jvm.flags", "").trim();
    if (!flags.isEmpty()) {
      cmd.addAll(Arrays.asList(flags.split("\\s+")));
    }
    cmd.addAll(List.of("-Xmx256m", "-cp", System.getProperty("java.class.path"),
        ForkedServerMain.class.getName(), "--data-dir", data.toString(), "--port", "0",
        "--metrics-port", "0", "--hot-bytes", "0", "--dram-bytes", "0", "--ssd-bytes", "64MiB",
        "--shutdown-grace-seconds", "3"));
    Process process = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    List<String> lines = new CopyOnWriteArrayList<>();
    CountDownLatch started = new CountDownLatch(1);
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          lines.add(line);
          if (line.contains("started; SIGTERM or Ctrl-C stops it gracefully")) {
            started.countDown();
          }
        }
      } catch (IOException e) {
        lines.add("reader failed: " + e);
      }
    }, "forked-daemon-output");
    reader.start();
    try {
      assertTrue(started.await(60, TimeUnit.SECONDS), "daemon did not start:\n" + String.join("\n", lines));
      // SIGTERM (on Linux and macOS). Through the handle, because Process.destroy() also closes
      // the pipes, which would lose the shutdown log this test reads.
      assertTrue(process.toHandle().destroy());
      assertTrue(process.waitFor(60, TimeUnit.SECONDS), "daemon did not stop:\n" + String.join("\n", lines));
    } finally {
      process.destroyForcibly();
    }
    reader.join(10_000);
    String output = String.join("\n", lines);
    assertEquals(143, process.exitValue(), output); // 128 + SIGTERM, as for any JVM ended by a signal
    int stopping = indexOf(lines, "stopping: no new connections or requests; waiting up to 3 s");
    int networkStopped = indexOf(lines, "network server stopped");
    int storeClosed = indexOf(lines, "store closed");
    int stopped = indexOf(lines, "KvStoreDaemon - stopped");
    assertTrue(0 <= stopping && stopping < networkStopped && networkStopped < storeClosed
        && storeClosed < stopped, output);

    String files = listing(data); // before the reopen changes the directory
    try (TieredStore reopened = TieredStore.builder().dataDir(data)
        .hotBytes(0).dramBytes(0).ssdBytes(64L << 20).build()) {
      ByteBuffer page = ByteBuffer.allocate(128);
      int n = reopened.get(RecordingNetworkServer.GRACE_KEY, page);
      if (n != 68) {
        return "reopened get: " + n + "\n" + output + "\nreopened: " + reopened.stats()
            + "\ndata directory after the stop:\n" + files;
      }
      byte[] payload = new byte[4];
      page.get(64, payload);
      assertEquals("[1, 2, 3, 4]", Arrays.toString(payload));
    }
    return null;
  }

  private static String listing(Path data) throws IOException {
    StringBuilder b = new StringBuilder();
    try (java.util.stream.Stream<Path> files = java.nio.file.Files.walk(data)) {
      files.sorted().forEach(p -> b.append("  ").append(data.relativize(p)).append(' ')
          .append(p.toFile().isFile() ? p.toFile().length() + " B" : "dir").append('\n'));
    }
    Path slots = data.resolve("ssd").resolve("segments").resolve("slots");
    if (java.nio.file.Files.exists(slots)) {
      b.append("  slots: ").append(java.nio.file.Files.readString(slots).replace('\n', ';'));
    }
    return b.toString();
  }

  private static int indexOf(List<String> lines, String fragment) {
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).contains(fragment)) {
        return i;
      }
    }
    return -1;
  }
}
