package io.kvstore.bench.crash;

import io.kvstore.bench.targets.DaemonLog;
import io.kvstore.client.KvStoreClient;
import io.kvstore.client.KvStoreException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One life of the daemon under test: forked from its launcher on a loopback port it picks itself
 * (port 0) with the crash test's data directory, killed with SIGKILL (the crash) or stopped with
 * SIGTERM (the clean end). Each life appends its output to the same log file, so a failed restart
 * shows why.
 *
 * <p>The port is read from this life's own "serving the kvstore protocol on host:port" log line,
 * not chosen beforehand: a port found free and handed to the daemon could be taken by another
 * process while the daemon opened its store (seconds after a crash), and the crash test then
 * wrote to and verified against that other server (seen with tests running beside it: a cycle
 * found every page missing, the next "stale" pages).
 */
final class DaemonProcess implements AutoCloseable {

  private static final long STOP_GRACE_SECONDS = 60;
  private final Process process;
  private final int port;
  private final long startNanos;
  private final Path log;

  private DaemonProcess(Process process, int port, long startNanos, Path log) {
    this.process = process;
    this.port = port;
    this.startNanos = startNanos;
    this.log = log;
  }

  /**
   * Forks {@code script} with {@code flags} after the address (port 0), metrics-off and data-dir
   * flags, waits for its log line naming the port it serves on, and until it answers a PING there.
   *
   * @throws IOException if it exits or does not answer within {@code timeout}; it is killed then
   */
  static DaemonProcess start(Path script, Path dataDir, List<String> flags, long namespaceId,
      Path log, Duration timeout) throws IOException {
    Launch launch = launch(script, dataDir, flags, log);
    Process p = launch.process();
    long start = launch.startNanos();
    long ownOutputFrom = launch.ownOutputFrom();
    DaemonProcess starting = new DaemonProcess(p, -1, start, log);
    long deadline = start + timeout.toNanos();
    try {
      int port = -1;
      while (true) {
        if (!p.isAlive()) {
          throw new IOException("the daemon exited with status " + p.exitValue()
              + " at start; its log (" + log + ") ends:\n" + starting.logTail());
        }
        if (port < 0) {
          port = DaemonLog.servingPort(log, ownOutputFrom);
        }
        if (port > 0 && answers(port, namespaceId)) {
          return new DaemonProcess(p, port, start, log);
        }
        if (System.nanoTime() > deadline) {
          throw new IOException("the daemon did not answer within " + timeout.toSeconds()
              + " s" + (port < 0 ? " (it logged no \"serving the kvstore protocol on\" line)" : "")
              + "; its log (" + log + ") ends:\n" + starting.logTail());
        }
        Thread.sleep(50);
      }
    } catch (InterruptedException e) {
      starting.kill();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while starting the daemon", e);
    } catch (IOException | RuntimeException e) {
      starting.kill();
      throw e;
    }
  }

  /** A forked daemon: its process, when it was forked, and where its own output starts in the log. */
  private record Launch(Process process, long startNanos, long ownOutputFrom) {}

  private static Launch launch(Path script, Path dataDir, List<String> flags, Path log)
      throws IOException {
    List<String> cmd = new ArrayList<>(List.of(script.toAbsolutePath().toString(),
        "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0",
        "--data-dir", dataDir.toString()));
    cmd.addAll(flags);
    Files.writeString(log, "=== " + String.join(" ", cmd) + "\n", StandardCharsets.UTF_8,
        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    long ownOutputFrom = Files.size(log);
    long start = System.nanoTime();
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    DaemonLog.keepServingLine(pb.environment());
    return new Launch(pb.start(), start, ownOutputFrom);
  }

  /**
   * Forks the daemon as {@link #start} does and SIGKILLs it {@code delay} later, whatever it is
   * doing then: a second crash, inside the restart that follows a crash (the index being discarded,
   * RocksDB replaying its log, the SSD directory being rebuilt, the tiers allocated).
   *
   * @return whether it had already logged that it serves (the kill then came after the restart)
   */
  static boolean startAndKill(Path script, Path dataDir, List<String> flags, Path log,
      Duration delay) throws IOException {
    return startAndSignal(script, dataDir, flags, log, delay, true).serving();
  }

  /**
   * What became of a restart stopped with SIGTERM ({@link #startAndTerm}).
   *
   * @param serving whether it had logged that it serves when the signal was sent
   * @param status its exit status, or -1 when it did not exit within the grace period (then killed)
   * @param problem what was wrong with the stop (no exit, an uncaught exception, a stop with
   *     errors, an exit status other than 0 or 143), or null
   */
  record TermOutcome(boolean serving, int status, String problem) {}

  /**
   * Forks the daemon as {@link #start} does and sends it SIGTERM {@code delay} later, whatever it
   * is doing then (an operator stopping a restart that takes long): it must exit within the grace
   * period, with status 0 or 143, no uncaught exception and no stop with errors in its own output,
   * leaving its data directory for the next start.
   */
  static TermOutcome startAndTerm(Path script, Path dataDir, List<String> flags, Path log,
      Duration delay) throws IOException {
    return startAndSignal(script, dataDir, flags, log, delay, false);
  }

  /** {@link #startAndKill} ({@code kill}: status -1, no problem looked for) or {@link #startAndTerm}. */
  private static TermOutcome startAndSignal(Path script, Path dataDir, List<String> flags,
      Path log, Duration delay, boolean kill) throws IOException {
    Launch launch = launch(script, dataDir, flags, log);
    DaemonProcess d = new DaemonProcess(launch.process(), -1, launch.startNanos(), log);
    try {
      Thread.sleep(delay.toMillis());
      boolean serving = DaemonLog.servingPort(log, launch.ownOutputFrom()) > 0;
      String when = delay.toMillis() + " ms after the fork ("
          + (serving ? "serving" : "still starting") + ")";
      if (kill) {
        d.kill();
        Files.writeString(log, "=== SIGKILL " + when + "\n", StandardCharsets.UTF_8,
            StandardOpenOption.APPEND);
        return new TermOutcome(serving, -1, null);
      }
      int status = d.stop();
      String own = DaemonLog.ownOutput(log, launch.ownOutputFrom());
      String problem = null;
      if (status == -1) {
        problem = "did not exit within " + STOP_GRACE_SECONDS + " s of SIGTERM (killed)";
      } else if (own.contains("Exception in thread")) {
        problem = "an uncaught exception: " + own.lines()
            .filter(l -> l.contains("Exception in thread")).findFirst().orElse("");
      } else if (own.contains("stopped, with errors")) {
        problem = "it stopped with errors (see its log)";
      } else if (status != 0 && status != 128 + 15) {
        problem = "it exited with status " + status;
      }
      Files.writeString(log, "=== SIGTERM " + when + ": exit status " + status
          + (problem == null ? "" : ", " + problem) + "\n", StandardCharsets.UTF_8,
          StandardOpenOption.APPEND);
      return new TermOutcome(serving, status, problem);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while restarting the daemon to signal it", e);
    } finally {
      d.close();
    }
  }

  /** The protocol port. */
  int port() {
    return port;
  }

  /** When it was forked ({@link System#nanoTime()}). */
  long startNanos() {
    return startNanos;
  }

  /** Whether it still runs. */
  boolean isAlive() {
    return process.isAlive();
  }

  /**
   * SIGKILL; waits until it is gone. The launcher must exec the JVM (bin/kvstore-server does), so
   * the process forked is the daemon itself.
   */
  void kill() {
    process.destroyForcibly();
    try {
      process.waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * SIGTERM, then SIGKILL if it has not exited after a grace period.
   *
   * @return its exit status, or -1 when it had to be killed
   */
  int stop() {
    process.destroy();
    try {
      if (process.waitFor(STOP_GRACE_SECONDS, TimeUnit.SECONDS)) {
        return process.exitValue();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    kill();
    return -1;
  }

  /** Kills it if it still runs. */
  @Override
  public void close() {
    if (process.isAlive()) {
      kill();
    }
  }

  /** The last lines of the log. */
  String logTail() {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return "(cannot read " + log + ": " + e.getMessage() + ")";
    }
  }

  private static boolean answers(int port, long namespaceId) {
    try (KvStoreClient c = KvStoreClient.builder().address("127.0.0.1", port)
        .namespaceId(namespaceId).connections(1).ioThreads(1)
        .connectTimeout(Duration.ofSeconds(1)).build()) {
      c.ping();
      return true;
    } catch (KvStoreException e) {
      return false;
    }
  }
}
