package io.kvstore.bench.crash;

import io.kvstore.bench.targets.TempDirs;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * A copy of the daemon's data directory as a kill left it ({@code --snapshot-dir}): when the
 * restart that follows brings back a page it must not, the copy is the state recovery started
 * from, to open again and inspect. Each kill replaces the previous copy.
 */
final class DataDirSnapshot {

  private DataDirSnapshot() {}

  /** Replaces {@code to} with a copy of {@code from} (which the killed daemon no longer writes). */
  static void copy(Path from, Path to) throws IOException {
    if (Files.exists(to)) {
      TempDirs.deleteRecursively(to);
    }
    if (!Files.exists(from)) {
      return;
    }
    Files.walkFileTree(from, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs)
          throws IOException {
        Files.createDirectories(to.resolve(from.relativize(dir)));
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.copy(file, to.resolve(from.relativize(file)), StandardCopyOption.COPY_ATTRIBUTES);
        return FileVisitResult.CONTINUE;
      }
    });
  }
}
