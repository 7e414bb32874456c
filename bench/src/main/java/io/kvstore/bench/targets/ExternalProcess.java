package io.kvstore.bench.targets;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A server process a target forked (the daemon, redis-server): output to a log file, started until a
 * readiness check passes, stopped with SIGTERM (then SIGKILL after a grace period) on close.
 */
final class ExternalProcess implements AutoCloseable {

  private static final long STOP_GRACE_SECONDS = 30;

  private final String what;
  private final Process process;
  private final Path log;

  private ExternalProcess(String what, Process process, Path log) {
    this.what = what;
    this.process = process;
    this.log = log;
  }

  /**
   * Starts {@code command} in {@code workDir}, output to {@code log}, and waits until {@code ready}
   * answers true (polled every 100 ms).
   *
   * @throws IOException if it cannot start, exits, or is not ready within {@code timeoutSeconds}
   *     (the message has the end of its log); the process is stopped then
   */
  static ExternalProcess start(
      String what, List<String> command, Path workDir, Path log, BooleanSupplier ready,
      long timeoutSeconds) throws IOException {
    return start(what, command, workDir, env -> { }, log, ready, timeoutSeconds);
  }

  /** As above, with {@code environment} adjusting the child's environment first. */
  static ExternalProcess start(
      String what, List<String> command, Path workDir,
      Consumer<Map<String, String>> environment, Path log,
      BooleanSupplier ready, long timeoutSeconds) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(command)
        .directory(workDir.toFile())
        .redirectErrorStream(true)
        .redirectOutput(log.toFile());
    environment.accept(pb.environment());
    Process p = pb.start();
    ExternalProcess ep = new ExternalProcess(what, p, log);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    try {
      while (true) {
        if (!p.isAlive()) {
          throw new IOException(what + " exited with status " + p.exitValue() + " at start ("
              + String.join(" ", command) + "); its log ends:\n" + ep.logTail());
        }
        if (ready.getAsBoolean()) {
          return ep;
        }
        if (System.nanoTime() > deadline) {
          throw new IOException(what + " was not ready after " + timeoutSeconds + " s ("
              + String.join(" ", command) + "); its log ends:\n" + ep.logTail());
        }
        Thread.sleep(100);
      }
    } catch (InterruptedException e) {
      ep.close();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while starting " + what, e);
    } catch (IOException | RuntimeException e) {
      ep.close();
      throw e;
    }
  }

  /** The last lines of the process's log. */
  String logTail() {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return "(cannot read " + log + ": " + e.getMessage() + ")";
    }
  }

  /** The process id. */
  long pid() {
    return process.pid();
  }

  /** Whether the process still runs. */
  boolean isAlive() {
    return process.isAlive();
  }

  /** SIGKILL, as a crash: no clean stop (the cluster target's member kill). */
  void kill() {
    try {
      process.destroyForcibly().waitFor(STOP_GRACE_SECONDS, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** SIGTERM, wait up to 30 s for a clean exit, then SIGKILL. Idempotent. */
  @Override
  public void close() {
    if (!process.isAlive()) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(STOP_GRACE_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(STOP_GRACE_SECONDS, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return what + " (pid " + process.pid() + ")";
  }

  /** A TCP port on the loopback interface that was free a moment ago. */
  static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot find a free port: " + e.getMessage(), e);
    }
  }

  /** The executable {@code name} on the PATH, or null. */
  static Path onPath(String name) {
    String path = System.getenv("PATH");
    if (path == null) {
      return null;
    }
    for (String dir : path.split(java.io.File.pathSeparator)) {
      if (dir.isEmpty()) {
        continue;
      }
      Path p = Path.of(dir, name);
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }
}
