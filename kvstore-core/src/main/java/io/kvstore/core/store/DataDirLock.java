package io.kvstore.core.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One store per data directory: an exclusive lock on {@code <data dir>/store.lock}, taken before
 * the store opens anything there and released after it closed everything. Without it, a second
 * store on the same directory (the daemon started twice) would discard the running store's block
 * index as unclean before RocksDB's own lock refused it. The kernel drops the lock when the process
 * dies (SIGKILL included), so a crashed store never blocks the next one; the file holds the pid of
 * the process that last took it, for the message.
 */
final class DataDirLock implements AutoCloseable {

  /** The lock file's name in the data directory. */
  static final String FILE = "store.lock";

  private final FileChannel channel;
  private final FileLock lock;

  private DataDirLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * Takes the data directory's lock, creating the directory if needed.
   *
   * @throws DataDirInUseException if another store (in this process or another) holds it
   * @throws DataDirUnusableException if the directory or the lock file cannot be created
   * @throws UncheckedIOException if the lock file cannot be locked
   */
  static DataDirLock acquire(Path dataDir) {
    Path file = dataDir.resolve(FILE);
    FileChannel ch;
    try {
      Files.createDirectories(dataDir);
      ch =
          FileChannel.open(
              file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw unusable(dataDir, file, e);
    }
    FileLock lock;
    try {
      lock = ch.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null; // a store of this JVM holds it
    } catch (IOException e) {
      closeQuietly(ch);
      throw new UncheckedIOException("cannot lock " + file, e);
    }
    if (lock == null) {
      String holder = holder(ch);
      closeQuietly(ch);
      throw new DataDirInUseException(dataDir, holder);
    }
    try {
      byte[] pid = (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII);
      ch.truncate(0);
      ch.write(ByteBuffer.wrap(pid), 0);
    } catch (IOException e) {
      // The pid is only for the message a refused store prints; the lock is what counts.
    }
    return new DataDirLock(ch, lock);
  }

  /** The pid the lock file names, or "unknown". */
  private static String holder(FileChannel ch) {
    try {
      ByteBuffer buf = ByteBuffer.allocate(32);
      int n = ch.read(buf, 0);
      String text = n <= 0 ? "" : new String(buf.array(), 0, n, StandardCharsets.US_ASCII).trim();
      return text.matches("[0-9]{1,19}") ? text : "unknown";
    } catch (IOException e) {
      return "unknown";
    }
  }

  /** Why the directory or its lock file could not be created, in words an operator acts on. */
  static DataDirUnusableException unusable(Path dataDir, Path file, IOException e) {
    Path dir = dataDir.toAbsolutePath();
    if (Files.exists(dir) && !Files.isDirectory(dir)) {
      return new DataDirUnusableException(
          "the data directory " + dir + " is not a directory (a file is in the way)", e);
    }
    String reason;
    if (e instanceof FileSystemException fse && fse.getReason() != null) {
      reason = fse.getFile() == null ? fse.getReason() : fse.getFile() + ": " + fse.getReason();
    } else if (e instanceof FileAlreadyExistsException fae) {
      reason = fae.getFile() + " exists and is not a directory";
    } else if (e instanceof AccessDeniedException ade) {
      reason = ade.getFile() + ": permission denied";
    } else {
      reason = e.toString();
    }
    return new DataDirUnusableException(
        "cannot create the data directory's lock file " + file.toAbsolutePath() + ": " + reason, e);
  }

  private static void closeQuietly(FileChannel ch) {
    try {
      ch.close();
    } catch (IOException e) {
      // Nothing was locked through it.
    }
  }

  /** Releases the lock (the file stays: deleting it could race with the next store taking it). */
  @Override
  public void close() {
    try {
      lock.release();
    } catch (IOException e) {
      // Closing the channel below releases it too.
    }
    closeQuietly(channel);
  }
}
