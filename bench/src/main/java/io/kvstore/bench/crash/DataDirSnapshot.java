package io.kvstore.bench.crash;

import io.kvstore.bench.targets.TempDirs;
import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.store.TieredStoreBuilder;
import io.kvstore.core.tier.ssd.SsdTier;
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
 * from, to open again and inspect. Each kill replaces the previous copy. The block index and the
 * crash journal, which the daemon runs from {@code /dev/shm} ({@code index.dir = auto}), are put
 * where a daemon with {@code index.dir = data} looks for them ({@code index/} and {@code
 * ssd/segments/journal}): opened that way, the copy restarts as the killed daemon would have.
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
    Path runtime = TieredStoreBuilder.autoIndexDir(from);
    if (Files.exists(runtime.resolve(BlockIndex.FILE_NAME))) {
      Path index = Files.createDirectories(to.resolve("index"));
      for (String name : new String[] {BlockIndex.FILE_NAME, BlockIndex.CLEAN_MARKER_NAME}) {
        if (Files.exists(runtime.resolve(name))) {
          Files.copy(runtime.resolve(name), index.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        }
      }
      if (Files.exists(runtime.resolve(SsdTier.CRASH_JOURNAL_FILE))) {
        Path segments = Files.createDirectories(to.resolve("ssd").resolve("segments"));
        Files.copy(runtime.resolve(SsdTier.CRASH_JOURNAL_FILE),
            segments.resolve(SsdTier.CRASH_JOURNAL_FILE), StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }

}
