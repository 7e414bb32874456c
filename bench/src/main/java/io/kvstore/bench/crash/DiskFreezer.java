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
    Result target = exec("findmnt", "-n", "-o", "TARGET", "-T", dataDir.toAbsolutePath().toString());
    if (target.exit() != 0 || target.out().isBlank()) {
      throw new IOException("cannot find the file system of " + dataDir + " (findmnt: "
          + target.out() + ")");
    }
    Path mount = Path.of(target.out());
    if (mount.getNameCount() == 0) {
      throw new IOException("--freeze-every would freeze the root file system, which holds " + dataDir
          + " and everything else on the host: give --data-dir on a file system of its own (a"
          + " loop-mounted ext4, bench/README.md)");
    }
    String frozen = exec("fsfreeze", "-f", mount.toString()).failure();
    if (frozen != null) {
      throw new IOException("cannot freeze " + mount + " (the file system of --data-dir): " + frozen
          + " (fsfreeze needs root and a file system that can be frozen, such as ext4 or xfs)");
    }
    exec("fsfreeze", "-u", mount.toString());
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
        String out = exec("fsfreeze", "-f", mountPoint.toString()).failure();
        if (out != null) {
          failure = "fsfreeze -f " + mountPoint + ": " + out;
          return;
        }
        freezes++;
        try {
          TimeUnit.NANOSECONDS.sleep(forNanos);
        } finally {
          String thawed = exec("fsfreeze", "-u", mountPoint.toString()).failure();
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
      exec("fsfreeze", "-u", mountPoint.toString()); // "not frozen" when it is not: fine
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

  /** A command's exit status (-1: it could not be run or did not end) and output. */
  private record Result(int exit, String out) {
    /** Null if it succeeded, else what it said. */
    String failure() {
      return exit == 0 ? null : "exit " + exit + ": " + out;
    }
  }

  private static Result exec(String... cmd) throws IOException {
    Process p;
    try {
      p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    } catch (IOException e) {
      return new Result(-1, "cannot run " + cmd[0] + ": " + e.getMessage());
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return new Result(-1, String.join(" ", cmd) + " did not end");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted running " + String.join(" ", cmd), e);
    }
    return new Result(p.exitValue(), out);
  }
}
