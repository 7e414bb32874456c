package io.kvstore.bench.crash;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Freezes the file system of the crash test's data directory ({@code fsfreeze}) for a while at a
 * fixed interval, on a thread of its own, while the daemon is written, killed and restarted: what
 * a snapshot agent does, and what a disk that stops answering writes looks like to the daemon
 * ({@code --freeze-every}, {@code --freeze-for}). Needs root and a file system that can be frozen
 * (ext4, xfs; not tmpfs), and refuses the root file system, which holds everything else. Thaws
 * when closed, and from a shutdown hook if the run is interrupted (a run killed with SIGKILL during
 * a freeze leaves it frozen: {@code fsfreeze -u MOUNTPOINT}).
 */
final class DiskFreezer implements AutoCloseable {

  private final Path mountPoint;
  private final long everyNanos;
  private final long forNanos;
  private final Thread thread;
  private final Thread hook;
  private volatile boolean stop;
  private volatile int freezes;
  private volatile String failure;

  private DiskFreezer(Path mountPoint, long everyNanos, long forNanos) {
    this.mountPoint = mountPoint;
    this.everyNanos = everyNanos;
    this.forNanos = forNanos;
    this.thread = new Thread(this::loop, "kvbench-disk-freezer");
    this.thread.setDaemon(true);
    this.hook = new Thread(this::thawQuietly, "kvbench-disk-thaw");
  }

  /**
   * Checks that the file system holding {@code dataDir} can be frozen (by freezing and thawing it
   * once) and starts the loop.
   *
   * @throws IOException saying why not: the root file system, no fsfreeze, not root, or a file
   *     system that cannot be frozen
   */
  static DiskFreezer start(Path dataDir, long everyNanos, long forNanos) throws IOException {
    String target = run("findmnt", "-n", "-o", "TARGET", "-T", dataDir.toAbsolutePath().toString());
    if (target == null || target.isBlank()) {
      throw new IOException("cannot find the file system of " + dataDir + " (findmnt)");
    }
    Path mount = Path.of(target.strip());
    if (mount.getNameCount() == 0) {
      throw new IOException("--freeze-every would freeze the root file system, which holds " + dataDir
          + " and everything else on the host: give --data-dir on a file system of its own (a"
          + " loop-mounted ext4, bench/README.md)");
    }
    String frozen = runChecked("fsfreeze", "-f", mount.toString());
    if (frozen != null) {
      throw new IOException("cannot freeze " + mount + " (the file system of --data-dir): " + frozen
          + " (fsfreeze needs root and a file system that can be frozen, such as ext4 or xfs)");
    }
    runChecked("fsfreeze", "-u", mount.toString());
    DiskFreezer f = new DiskFreezer(mount, everyNanos, forNanos);
    Runtime.getRuntime().addShutdownHook(f.hook);
    f.thread.start();
    return f;
  }

  /** Freezes done so far. */
  int freezes() {
    return freezes;
  }

  /** The mount point frozen. */
  Path mountPoint() {
    return mountPoint;
  }

  /** What went wrong in the loop (a freeze or thaw refused), or null. */
  String failure() {
    return failure;
  }

  private void loop() {
    try {
      while (!stop) {
        TimeUnit.NANOSECONDS.sleep(everyNanos);
        if (stop) {
          break;
        }
        String out = runChecked("fsfreeze", "-f", mountPoint.toString());
        if (out != null) {
          failure = "fsfreeze -f " + mountPoint + ": " + out;
          return;
        }
        freezes++;
        try {
          TimeUnit.NANOSECONDS.sleep(forNanos);
        } finally {
          String thawed = runChecked("fsfreeze", "-u", mountPoint.toString());
          if (thawed != null) {
            failure = "fsfreeze -u " + mountPoint + ": " + thawed;
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      failure = e.toString();
    }
  }

  private void thawQuietly() {
    try {
      runChecked("fsfreeze", "-u", mountPoint.toString()); // "not frozen" when it is not: fine
    } catch (IOException e) {
      // the hook or close tried; nothing more to do
    }
  }

  /** Stops the loop and leaves the file system thawed. */
  @Override
  public void close() {
    stop = true;
    thread.interrupt();
    try {
      thread.join(TimeUnit.NANOSECONDS.toMillis(forNanos) + 10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    thawQuietly();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // already shutting down: the hook thaws
    }
  }

  /** Runs a command; its output, or null if it could not be run or failed. */
  private static String run(String... cmd) throws IOException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        return null;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted running " + String.join(" ", cmd), e);
    }
    return out;
  }

  /** Runs a command; null if it succeeded, else its exit code and output. */
  private static String runChecked(String... cmd) throws IOException {
    Process p;
    try {
      p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    } catch (IOException e) {
      return "cannot run " + cmd[0] + ": " + e.getMessage();
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return String.join(" ", cmd) + " did not end";
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted running " + String.join(" ", cmd), e);
    }
    return p.exitValue() == 0 ? null : "exit " + p.exitValue() + ": " + out;
  }
}
