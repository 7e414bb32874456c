package io.kvstore.common;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/** Small state files that must be whole after a crash: one place for the write, force and rename. */
public final class SyncedFiles {

  private SyncedFiles() {}

  /**
   * Replaces {@code file} with {@code text} (UTF-8): written to {@code <file>.tmp}, forced, renamed
   * over {@code file} and the directory forced, so that a crash leaves the old content or the new,
   * never a part. On failure the temporary file is removed (if it can be) and {@code file} is as it
   * was.
   *
   * @throws IOException if a step fails
   */
  public static void replace(Path file, String text) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try {
      try (FileChannel ch =
          FileChannel.open(
              tmp,
              StandardOpenOption.CREATE,
              StandardOpenOption.TRUNCATE_EXISTING,
              StandardOpenOption.WRITE)) {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
          ch.write(b);
        }
        ch.force(true);
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException | RuntimeException e) {
      deleteAfter(e, tmp); // if something holds its name, the next write fails the same way
      throw e;
    }
    try (FileChannel dir = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
      dir.force(true);
    } catch (IOException | RuntimeException e) {
      // A platform that cannot open a directory: the rename is as durable as the OS makes it.
    }
  }

  /**
   * Deletes {@code file}, left half made or stale by a step that failed with {@code failure}: a
   * failure to delete it is added to {@code failure} as suppressed, not thrown, so the caller
   * reports the first failure.
   *
   * @return whether {@code file} is gone (deleted, or never there)
   */
  public static boolean deleteAfter(Throwable failure, Path file) {
    try {
      Files.deleteIfExists(file);
      return true;
    } catch (IOException | RuntimeException suppressed) {
      failure.addSuppressed(suppressed);
      return false;
    }
  }
}
