package io.kvstore.common;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A real, small ext4 file system on a loop device for a test, which can be frozen ({@code
 * fsfreeze}, what snapshot and backup agents do, and what a stalled disk looks like to a writer);
 * unmounted and its image deleted on close. Needs root (CI runs as root), {@code mkfs.ext4} and
 * {@code fsfreeze}: elsewhere the test is skipped, with the reason. Shared with the other modules'
 * tests through this module's test jar.
 */
public final class Ext4Mount implements AutoCloseable {

  private final Path dir;
  private final Path image;
  private Process watchdog;

  private Ext4Mount(Path dir, Path image) {
    this.dir = dir;
    this.image = image;
  }

  /** Makes an ext4 file system of {@code megabytes} in {@code image} and mounts it on {@code dir}. */
  public static Ext4Mount mount(Path dir, Path image, int megabytes) throws IOException {
    String user = System.getProperty("user.name");
    assumeTrue("root".equals(user), "mounting a loop device needs root; the tests run as " + user);
    assumeTrue(onPath("mkfs.ext4") && onPath("fsfreeze"), "mkfs.ext4 or fsfreeze is not installed");
    Files.createDirectories(dir);
    try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
      f.setLength((long) megabytes << 20);
    }
    String mkfs = Commands.run("mkfs.ext4", "-q", "-F", image.toString());
    assumeTrue(mkfs == null, "mkfs.ext4 failed: " + mkfs);
    String out = Commands.run("mount", "-o", "loop,errors=remount-ro", image.toString(), dir.toString());
    assumeTrue(out == null, "mount -o loop failed (no loop devices in this container?): " + out);
    return new Ext4Mount(dir, image);
  }

  /**
   * Raises an ext4 error on the file system (through {@code /sys/fs/ext4/DEV/trigger_fs_error},
   * what the kernel does on a failed metadata write): mounted {@code errors=remount-ro}, it turns
   * read-only at once, and every later write fails with EROFS.
   */
  public void failToReadOnly() throws IOException {
    String dev = null;
    for (String line : Files.readAllLines(Path.of("/proc/mounts"))) {
      String[] f = line.split(" ");
      if (f.length > 1 && f[1].equals(dir.toAbsolutePath().toString())) {
        dev = f[0];
      }
    }
    assumeTrue(dev != null, "no /proc/mounts line for " + dir);
    Path trigger = Path.of("/sys/fs/ext4", Path.of(dev).getFileName().toString(), "trigger_fs_error");
    assumeTrue(Files.exists(trigger), "this kernel has no " + trigger);
    Files.writeString(trigger, "kvstore test: fail to read-only\n");
  }

  /** Unmounts, repairs ({@code e2fsck -fy}, as an operator would after an error) and mounts again. */
  public void repairAndRemount() throws IOException {
    thaw();
    String out = Commands.run("umount", dir.toString());
    assertTrue(out == null, "umount failed: " + out);
    Commands.run("e2fsck", "-fy", image.toString()); // exit 1: errors corrected
    out = Commands.run("mount", "-o", "loop,errors=remount-ro", image.toString(), dir.toString());
    assertTrue(out == null, "mount failed: " + out);
  }

  /** The mount point. */
  public Path dir() {
    return dir;
  }

  /**
   * Freezes the file system: every write to it (a write call, a store into a shared mapping of one
   * of its files that must dirty a page) waits until {@link #thaw}. A separate process thaws it
   * after {@code watchdogSeconds} whatever happens to this JVM, so that a test whose process
   * stalls cannot leave it frozen.
   */
  public void freeze(int watchdogSeconds) throws IOException {
    String out = Commands.run("fsfreeze", "-f", dir.toString());
    assertTrue(out == null, "fsfreeze -f failed: " + out);
    watchdog =
        new ProcessBuilder(
                "sh", "-c", "sleep " + watchdogSeconds + "; fsfreeze -u '" + dir + "' 2>/dev/null")
            .redirectErrorStream(true)
            .start();
  }

  /** Work to run while the file system is frozen. */
  @FunctionalInterface
  public interface Work {
    void run() throws Exception;
  }

  /**
   * Freezes the file system, runs {@code work} on another thread, and thaws it once the work ends
   * or {@code seconds} have passed, whichever comes first (a watchdog process thaws it 30 s later
   * whatever happens to this JVM).
   *
   * @return null if the work finished, without a throw, while the file system was frozen; else
   *     what went wrong
   */
  public String whileFrozen(int seconds, Work work) throws Exception {
    java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.atomic.AtomicReference<Throwable> failure =
        new java.util.concurrent.atomic.AtomicReference<>();
    Thread worker = new Thread(() -> {
      try {
        work.run();
      } catch (Throwable t) {
        failure.set(t);
      } finally {
        done.countDown();
      }
    }, "while-frozen");
    worker.setDaemon(true);
    freeze(seconds + 30);
    boolean finished;
    try {
      worker.start();
      finished = done.await(seconds, java.util.concurrent.TimeUnit.SECONDS);
    } finally {
      thaw();
    }
    if (!finished) {
      return "did not finish in " + seconds + " s while " + dir + " was frozen";
    }
    return failure.get() == null ? null : "failed while frozen: " + failure.get();
  }

  /** Thaws the file system if it is frozen. */
  public void thaw() throws IOException {
    if (watchdog != null) {
      watchdog.destroy();
      watchdog = null;
      Commands.run("fsfreeze", "-u", dir.toString()); // fails if the watchdog thawed it already: fine
    }
  }

  /** Thaws, unmounts (lazily: a mapping not yet collected may hold a file) and deletes the image. */
  @Override
  public void close() throws IOException {
    thaw();
    String out = Commands.run("umount", "-l", dir.toString());
    assertTrue(out == null, "umount failed: " + out);
    Files.deleteIfExists(image);
  }

  private static boolean onPath(String tool) {
    for (String d : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
      if (Files.isExecutable(Path.of(d, tool))) {
        return true;
      }
    }
    return Files.isExecutable(Path.of("/sbin", tool)) || Files.isExecutable(Path.of("/usr/sbin", tool));
  }
}
