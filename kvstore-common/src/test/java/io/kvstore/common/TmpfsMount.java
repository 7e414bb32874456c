package io.kvstore.common;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A real, small tmpfs mounted for a test (what {@code /dev/shm} is), unmounted on close. Mounting
 * needs root (CI runs as root): elsewhere the test is skipped, with the reason. Shared with the
 * other modules' tests through this module's test jar.
 */
public final class TmpfsMount implements AutoCloseable {

  private final Path dir;
  private boolean lazy;

  private TmpfsMount(Path dir) {
    this.dir = dir;
  }

  /**
   * Detaches the file system at close even while something still holds a file in it (a mapping
   * not yet collected); by default close checks that nothing does, which is worth checking where
   * a test's code should have let go of everything.
   */
  public TmpfsMount lazyUnmount() {
    lazy = true;
    return this;
  }

  /** Mounts a tmpfs with mount's {@code options} (e.g. {@code size=24m}) on {@code dir}. */
  public static TmpfsMount mount(Path dir, String options) throws IOException {
    Files.createDirectories(dir);
    String user = System.getProperty("user.name");
    assumeTrue("root".equals(user), "mounting a tmpfs needs root; the tests run as " + user);
    String out = Commands.run("mount", "-t", "tmpfs", "-o", options, "tmpfs", dir.toString());
    assumeTrue(out == null, "mount -t tmpfs failed (no CAP_SYS_ADMIN in this container?): " + out);
    return new TmpfsMount(dir);
  }

  /** The mount point. */
  public Path dir() {
    return dir;
  }

  /** Unmounts the file system (failing the test if it is busy, unless {@link #lazyUnmount}). */
  @Override
  public void close() throws IOException {
    String out = lazy ? Commands.run("umount", "-l", dir.toString()) : Commands.run("umount", dir.toString());
    assertTrue(out == null, "umount failed: " + out);
  }
}
