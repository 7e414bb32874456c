package io.kvstore.server.cluster;

import io.kvstore.server.KvStoreServerCommand;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/** One real daemon in a forked JVM, on a given port and data directory, joined to a cluster. */
final class ForkedMember implements AutoCloseable {

  final int port;
  final Path data;
  final String cluster;
  private final List<String> lines = new CopyOnWriteArrayList<>();
  private Process process;
  private Thread reader;

  ForkedMember(int port, Path data, String cluster) {
    this.port = port;
    this.data = data;
    this.cluster = cluster;
  }

  String id() {
    return "127.0.0.1:" + port;
  }

  /** Starts the JVM (does not wait; see {@link #awaitStarted}). */
  ForkedMember start() throws IOException {
    lines.clear();
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    String flags = System.getProperty("kvstore.jvm.flags", "").trim();
    if (!flags.isEmpty()) {
      cmd.addAll(Arrays.asList(flags.split("\\s+")));
    }
    cmd.addAll(List.of("-Xmx256m", "-cp", System.getProperty("java.class.path"),
        KvStoreServerCommand.class.getName(), "--data-dir", data.toString(), "--host", "127.0.0.1",
        "--port", Integer.toString(port), "--metrics-port", "0", "--hot-bytes", "0",
        "--dram-bytes", "32MiB", "--ssd-bytes", "128MiB", "--shutdown-grace-seconds", "2",
        "--io-threads", "2", "--cluster", cluster));
    process = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    Process p = process;
    reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          lines.add(line);
        }
      } catch (IOException e) {
        lines.add("reader failed: " + e);
      }
    }, "member-log-" + port);
    reader.setDaemon(true);
    reader.start();
    return this;
  }

  void awaitStarted() throws InterruptedException {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < until && process.isAlive()) {
      if (lines.stream().anyMatch(l -> l.contains("started; SIGTERM or Ctrl-C stops it gracefully"))) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("daemon " + id() + " did not start:\n" + log());
  }

  boolean logged(String text) {
    return lines.stream().anyMatch(l -> l.contains(text));
  }

  String log() {
    return String.join("\n", lines);
  }

  /** SIGKILL: no deregistration, no flush. */
  void kill() throws InterruptedException {
    process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
  }

  /** SIGTERM: a graceful stop; returns the exit code. */
  int terminate() throws InterruptedException {
    process.toHandle().destroy(); // Process.destroy() would close the pipe before the last lines are read
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      throw new AssertionError("daemon " + id() + " did not stop:\n" + log());
    }
    reader.join(5_000);
    return process.exitValue();
  }

  @Override
  public void close() {
    if (process != null && process.isAlive()) {
      try {
        process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
