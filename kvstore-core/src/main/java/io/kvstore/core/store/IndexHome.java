package io.kvstore.core.store;

import io.kvstore.common.SyncedFiles;
import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.tier.ssd.SsdTier;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.LinkOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Set;

/*
 * Why the index runs from a memory file system.
 *
 * The block index is a Chronicle Map mapped from its file, and every request path stores into it
 * (a lookup's access time, a put's entry; the crash journal is mapped too). A store into a shared
 * file mapping faults the first time it dirties a page the kernel has written back, and the
 * file system's page_mkwrite runs in that fault: on a frozen file system (fsfreeze, taken by
 * snapshot and backup agents) it waits until the thaw, and on a busy or stalling disk it can wait
 * for the journal or for the page's own write-back. The faulting thread is in Java code, so the
 * JVM cannot bring it to a safepoint: the next safepoint (any GC) waits for it, and with it every
 * thread of the daemon. Measured (a daemon with its data directory on a loop-mounted ext4 under
 * load, fsfreeze for 20 s): event loops and store threads blocked in ext4_page_mkwrite, the JVM's
 * time to safepoint 25 s, /health and HELLO unanswered for the whole freeze, clients dropping
 * their connections. With the same files on tmpfs, the same freeze cost no failed call, /health
 * answered throughout and the longest GET took 50 ms: a tmpfs page is never written back, so it
 * never faults for write again.
 *
 * A tmpfs survives a process crash but not a reboot, which is exactly what the kept index needs:
 * it is trusted only after a process crash on the same boot (the SSD tier's crash journal, kept
 * beside it, checks the boot id too). The data directory keeps a copy made at each clean close,
 * for a restart after a reboot; an open takes that copy back to the memory file system and
 * deletes it, so that a machine crash finds no index in the data directory and the SSD tier
 * rebuilds its directory from its location records, as it would have.
 */

/**
 * Where the block index (and the SSD tier's crash journal) live while the store runs: in the data
 * directory ({@code <data dir>/index}), or in a runtime directory on a memory file system, with
 * the data directory holding a copy made at each clean close (spec/6-ssd-segments.md, 6.8).
 */
final class IndexHome {

  private static final System.Logger LOG = System.getLogger(IndexHome.class.getName());

  /** The data directory's index subdirectory. */
  static final String DATA_SUBDIR = "index";
  /** File in a runtime directory naming the data directory it belongs to. */
  static final String OWNER_FILE = "data-dir";
  /**
   * File in the data directory's index subdirectory naming the directory the index lived in during
   * the last run (the data directory's own place, or a runtime directory), for the start after a
   * crash: {@link #leftByKilledRun}.
   */
  static final String LIVE_DIR_FILE = "live-dir";
  /** Base of the automatic runtime directories, one per data directory, under /dev/shm. */
  static final String AUTO_PREFIX = "kvstore-index-";
  /** Test hook: a failure copying the data directory's index in at open, or null. */
  static volatile IOException copyInFaultForTest;
  /** Test hook: the memory file system {@code auto} looks at instead of /dev/shm, or null. */
  static volatile Path shmForTest;
  /** Test hook: run just before the data directory's index is copied in at open, or null. */
  static volatile Runnable beforeCopyInForTest;
  /** Test hook: a failure copying the index back to the data directory at close, or null. */
  static volatile IOException persistFaultForTest;

  /** File in a runtime directory locked while a store uses it. */
  static final String LOCK_FILE = "lock";

  private final Path persistentDir;
  private final Path liveDir;
  private final boolean runtime;
  /** The runtime directory's lock, held until {@link #close}; null in the data directory. */
  private final FileChannel lock;

  private IndexHome(Path persistentDir, Path liveDir, boolean runtime, FileChannel lock) {
    this.persistentDir = persistentDir;
    this.liveDir = liveDir;
    this.runtime = runtime;
    this.lock = lock;
  }

  /** The index lives in the data directory, as it is opened and closed there. */
  static IndexHome inDataDir(Path dataDir) {
    Path dir = dataDir.resolve(DATA_SUBDIR);
    return new IndexHome(dir, dir, false, null);
  }

  /**
   * The index lives in {@code runtimeDir} while the store runs (spec/6.8 rule 1). Locks the
   * directory; empties it if it held another data directory's index. If the data directory holds
   * a cleanly closed index, that is the latest clean close: it replaces whatever the runtime
   * directory holds (if it cannot be read, one WARNING and the index opens new, to be rebuilt from
   * the location records). Otherwise an index the runtime directory holds (a process crash, or a
   * clean close whose copy could not be made) is used as it is. Then the data directory's copy is
   * deleted: a later machine crash must not find it.
   *
   * <p>The runtime directory's file system must have room for the index (the data directory's
   * copy, or a new one of {@code newIndexBytes}), counting what this directory already holds: if it
   * has not, or a copy in fails because it filled meanwhile, nothing in the data directory changes
   * and the open fails with {@link IndexDirFullException}.
   *
   * @throws IndexDirInUseException if another store uses the runtime directory
   * @throws IndexDirFullException if the runtime directory's file system has no room for the index
   * @throws IndexDirUnusableException if the directory cannot be made, locked or written, or a file
   *     in it or the data directory's copy removed
   */
  static IndexHome inRuntimeDir(Path dataDir, Path runtimeDir, long newIndexBytes) {
    Path persistent = dataDir.resolve(DATA_SUBDIR);
    Path live = runtimeDir.toAbsolutePath().normalize();
    FileChannel lock = null;
    try {
      Files.createDirectories(persistent);
      createPrivateDirectory(live);
      lock = lock(live);
      claim(live, dataDir);
      // A copy in that a kill cut short (as large as the index): room the check below needs.
      Files.deleteIfExists(live.resolve(BlockIndex.FILE_NAME + ".tmp"));
      Path liveFile = live.resolve(BlockIndex.FILE_NAME);
      Path savedFile = persistent.resolve(BlockIndex.FILE_NAME);
      Path savedMarker = persistent.resolve(BlockIndex.CLEAN_MARKER_NAME);
      boolean copyIn = Files.exists(savedFile) && Files.exists(savedMarker);
      // Before anything is deleted: a store that cannot run its index here must leave the data
      // directory's copy where the next start finds it.
      // (An index the runtime directory holds without a copy to replace it, left by a killed run,
      // is the index open's to keep or replace: it checks the room for a new one itself.)
      long need = copyIn ? Files.size(savedFile) : newIndexBytes;
      long free = usableSpace(live);
      if ((copyIn || !Files.exists(liveFile)) && free + held(live) < need) {
        throw full(live, need, free, copyIn);
      }
      if (copyIn) {
        // The data directory's clean copy is the latest clean close whatever the runtime
        // directory holds: a run with the index there deletes that copy when it opens, so a copy
        // present now was made after it (by a run with index.dir = data, or by a close whose
        // removal from here failed).
        Files.deleteIfExists(live.resolve(BlockIndex.CLEAN_MARKER_NAME));
        Files.deleteIfExists(live.resolve(SsdTier.CRASH_JOURNAL_FILE));
        Files.deleteIfExists(liveFile);
        long t0 = System.nanoTime();
        Path tmp = live.resolve(BlockIndex.FILE_NAME + ".tmp");
        try {
          IOException fault = copyInFaultForTest;
          if (fault != null) {
            throw fault;
          }
          Runnable before = beforeCopyInForTest;
          if (before != null) {
            before.run();
          }
          copy(savedFile, tmp);
          Files.move(tmp, liveFile, StandardCopyOption.ATOMIC_MOVE);
          Files.createFile(live.resolve(BlockIndex.CLEAN_MARKER_NAME));
          LOG.log(
              System.Logger.Level.INFO,
              "block index copied from {0} to {1} in {2} ms ({3} bytes)",
              persistent,
              live,
              (System.nanoTime() - t0) / 1_000_000,
              Files.size(liveFile));
        } catch (IOException e) {
          Files.deleteIfExists(tmp);
          Files.deleteIfExists(liveFile);
          long left = usableSpace(live);
          if (left < need) {
            // The file system filled while the copy ran: the copy is whole, keep it (as above).
            throw full(live, need, left, true);
          }
          // An unreadable copy (a failing disk) costs its speed, not its pages: the index opens
          // new, and the SSD tier rebuilds its directory from its location records.
          LOG.log(
              System.Logger.Level.WARNING,
              "cannot copy the block index from {0} to {1} ({2}): the SSD tier rebuilds its"
                  + " directory from its location records",
              persistent,
              live,
              e.toString());
        }
      }
      // From here on the runtime directory holds the index: a copy left in the data directory
      // would be trusted after a machine crash although it misses every change of this run.
      boolean removed = Files.deleteIfExists(savedMarker);
      removed |= Files.deleteIfExists(savedFile);
      if (removed) {
        BlockIndex.syncDirectory(persistent);
      }
    } catch (IOException | RuntimeException e) {
      if (lock != null) {
        closeQuietly(lock);
      }
      if (e instanceof IOException io) {
        throw new IndexDirUnusableException(live, io);
      }
      throw (RuntimeException) e;
    }
    return new IndexHome(persistent, live, true, lock);
  }

  /**
   * Deletes the temporary file a clean close leaves in the data directory's index subdirectory
   * when the process is killed while it copies the index there (as large as the index: gigabytes
   * of the data disk, until the next clean close would have overwritten it). Called at open, under
   * the data directory's lock, wherever the index runs. Best effort: one WARN if it cannot go.
   */
  static void removeUnfinishedCopy(Path dataDir) {
    Path tmp = dataDir.resolve(DATA_SUBDIR).resolve(BlockIndex.FILE_NAME + ".tmp");
    try {
      if (!Files.isRegularFile(tmp, LinkOption.NOFOLLOW_LINKS)) {
        return;
      }
      long size = Files.size(tmp);
      Files.delete(tmp);
      LOG.log(
          System.Logger.Level.INFO,
          "removed {0} ({1} bytes): a copy of the block index that a stop killed midway left",
          tmp,
          size);
    } catch (IOException e) {
      LOG.log(System.Logger.Level.WARNING, "cannot remove {0}: {1}", tmp, e.toString());
    }
  }

  /** Free bytes of {@code dir}'s file system. */
  private static long usableSpace(Path dir) throws IOException {
    return Files.getFileStore(dir).getUsableSpace();
  }

  /**
   * Bytes the runtime directory's index, crash journal and cut-short copy in take: room the open
   * frees (replacing or deleting them) or keeps using. 0 for a directory that does not exist.
   */
  private static long held(Path live) throws IOException {
    long n = 0;
    for (String name :
        new String[] {
          BlockIndex.FILE_NAME, SsdTier.CRASH_JOURNAL_FILE, BlockIndex.FILE_NAME + ".tmp"
        }) {
      Path p = live.resolve(name);
      if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
        n += Files.size(p);
      }
    }
    return n;
  }

  private static IndexDirFullException full(Path live, long need, long free, boolean copyKept)
      throws IOException {
    return new IndexDirFullException(
        live, need, free, Files.getFileStore(live).getTotalSpace(), copyKept);
  }

  /**
   * Locks the runtime directory for this store.
   *
   * @throws IndexDirInUseException if another store (in this process or another) holds it
   */
  private static FileChannel lock(Path live) throws IOException {
    FileChannel ch =
        FileChannel.open(live.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    java.nio.channels.FileLock held;
    try {
      held = ch.tryLock();
    } catch (java.nio.channels.OverlappingFileLockException e) {
      held = null; // a store of this JVM holds it
    } catch (IOException e) {
      closeQuietly(ch);
      throw e;
    }
    if (held == null) {
      closeQuietly(ch);
      String holder;
      try {
        holder = Files.readString(live.resolve(OWNER_FILE), StandardCharsets.UTF_8).strip();
      } catch (IOException e) {
        holder = "unknown";
      }
      throw new IndexDirInUseException(live, holder);
    }
    return ch;
  }

  private static void closeQuietly(FileChannel ch) {
    try {
      ch.close();
    } catch (IOException e) {
      // nothing more to release
    }
  }

  /**
   * After the store closed everything else: copies a cleanly closed index to the data directory
   * ({@link #persist}), then releases the runtime directory.
   */
  void close() {
    try {
      persist();
    } finally {
      if (lock != null) {
        closeQuietly(lock);
      }
    }
  }

  /**
   * The runtime directory {@code auto} picks for {@code dataDir}: {@code
   * /dev/shm/kvstore-index-USER/<hash of the data directory's path>} if {@code /dev/shm} is a
   * tmpfs with room for {@code indexBytes} and as much again to spare; otherwise empty (the index
   * then lives in the data directory).
   */
  static Optional<Path> autoRuntimeDir(Path dataDir, long indexBytes) {
    Path shm = shmForTest;
    return autoRuntimeDir(shm != null ? shm : Path.of("/dev/shm"), dataDir, indexBytes);
  }

  /**
   * As {@link #autoRuntimeDir(Path, long)} with {@code shm} for {@code /dev/shm}. The room counts
   * the index this data directory's runtime directory already holds (left by a process crash, it is
   * what the open keeps): it must not push the store off the memory file system it occupies.
   */
  static Optional<Path> autoRuntimeDir(Path shm, Path dataDir, long indexBytes) {
    Path dir = autoDirUnder(shm, dataDir);
    try {
      if (!Files.isDirectory(shm) || !Files.isWritable(shm)) {
        return Optional.empty();
      }
      FileStore fs = Files.getFileStore(shm);
      long room = fs.getUsableSpace() + held(dir);
      if (!"tmpfs".equals(fs.type()) || room / 2 < indexBytes) {
        return Optional.empty();
      }
    } catch (IOException | SecurityException e) {
      return Optional.empty();
    }
    String refused = privateBase(dir.getParent());
    if (refused != null) {
      LOG.log(System.Logger.Level.WARNING, "cannot run the block index from {0}: {1}", dir, refused);
      return Optional.empty();
    }
    removeOrphans(dir.getParent());
    return Optional.of(dir);
  }

  /**
   * Makes {@code base} (rwx------) if missing, and checks it is this user's private directory: in
   * a world-writable {@code /dev/shm}, another user could have made it first (to read the index, or
   * to point it elsewhere with a link).
   *
   * @return null if it is, else why not
   */
  static String privateBase(Path base) {
    Set<PosixFilePermission> mine = PosixFilePermissions.fromString("rwx------");
    try {
      if (!Files.exists(base, LinkOption.NOFOLLOW_LINKS)) {
        try {
          Files.createDirectory(base, PosixFilePermissions.asFileAttribute(mine));
        } catch (java.nio.file.FileAlreadyExistsException e) {
          // made meanwhile: checked below like any other
        }
      }
      if (!Files.isDirectory(base, LinkOption.NOFOLLOW_LINKS)) {
        return base + " is not a directory";
      }
      Set<PosixFilePermission> perms = Files.getPosixFilePermissions(base, LinkOption.NOFOLLOW_LINKS);
      String owner = Files.getOwner(base, LinkOption.NOFOLLOW_LINKS).getName();
      String me = System.getProperty("user.name");
      if (!perms.equals(mine) || (me != null && !owner.equals(me))) {
        return base + " has permissions " + PosixFilePermissions.toString(perms) + " and owner "
            + owner + "; it must be rwx------ and owned by " + me;
      }
      return null;
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return e.toString();
    }
  }

  /**
   * Removes the runtime directories under {@code base} whose data directory no longer exists (a
   * store that crashed and whose data directory was then deleted would otherwise hold its index in
   * memory until the next reboot). Best effort: what cannot be read or removed is left.
   */
  static void removeOrphans(Path base) {
    if (!Files.isDirectory(base)) {
      return;
    }
    try (var dirs = Files.list(base)) {
      for (Path dir : (Iterable<Path>) dirs::iterator) {
        Path owner = dir.resolve(OWNER_FILE);
        if (!Files.isRegularFile(owner)) {
          continue;
        }
        String data = Files.readString(owner, StandardCharsets.UTF_8).strip();
        if (data.isEmpty() || Files.exists(Path.of(data)) || inUse(dir)) {
          continue;
        }
        try (var files = Files.list(dir)) {
          for (Path p : (Iterable<Path>) files::iterator) {
            Files.deleteIfExists(p);
          }
        }
        Files.deleteIfExists(dir);
        LOG.log(
            System.Logger.Level.INFO,
            "removed the block index runtime directory {0}: its data directory {1} is gone",
            dir,
            data);
      }
    } catch (IOException | RuntimeException e) {
      // Another store may be changing the directory; the next start tries again.
    }
  }

  /** The directory the index is opened in while the store runs. */
  Path liveDir() {
    return liveDir;
  }

  /** Whether the index runs from a runtime directory (copied to the data directory at close). */
  boolean runtime() {
    return runtime;
  }

  /**
   * After the index closed cleanly: copies it to the data directory (through a temporary file,
   * synced, then renamed; then its clean marker) and removes it from the runtime directory. If the
   * copy cannot be made (a full or failing disk), one WARNING and the index stays in the runtime
   * directory: a start on this boot uses it, a start after a reboot rebuilds the SSD tier's
   * directory from its location records.
   */
  private void persist() {
    if (!runtime) {
      return;
    }
    Path liveFile = liveDir.resolve(BlockIndex.FILE_NAME);
    Path liveMarker = liveDir.resolve(BlockIndex.CLEAN_MARKER_NAME);
    if (!Files.exists(liveFile) || !Files.exists(liveMarker)) {
      return; // not closed cleanly: nothing trustworthy to keep
    }
    Path tmp = persistentDir.resolve(BlockIndex.FILE_NAME + ".tmp");
    long t0 = System.nanoTime();
    try {
      IOException fault = persistFaultForTest;
      if (fault != null) {
        throw fault;
      }
      copy(liveFile, tmp);
      Files.move(tmp, persistentDir.resolve(BlockIndex.FILE_NAME), StandardCopyOption.ATOMIC_MOVE);
      Files.deleteIfExists(persistentDir.resolve(BlockIndex.CLEAN_MARKER_NAME));
      Files.createFile(persistentDir.resolve(BlockIndex.CLEAN_MARKER_NAME));
      BlockIndex.syncDirectory(persistentDir);
    } catch (IOException | RuntimeException e) {
      SyncedFiles.deleteAfter(e, tmp);
      LOG.log(
          System.Logger.Level.WARNING,
          "cannot copy the block index from {0} to {1} ({2}): it stays in {0}; a start on this"
              + " boot uses it, a start after a reboot rebuilds the SSD tier''s directory from its"
              + " location records",
          liveDir,
          persistentDir,
          e.toString());
      return;
    }
    try {
      Files.delete(liveMarker);
      Files.delete(liveFile);
      // Closed with the index: the next open goes by the clean markers and needs no journal (1.5
      // MiB of memory on tmpfs otherwise, per data directory, until a reboot).
      Files.deleteIfExists(liveDir.resolve(SsdTier.CRASH_JOURNAL_FILE));
    } catch (IOException e) {
      // Both copies are whole and clean; the next open takes the data directory's (rule 1).
      LOG.log(
          System.Logger.Level.WARNING,
          "cannot remove the block index from {0} after copying it to {1}: {2}",
          liveDir,
          persistentDir,
          e.toString());
      return;
    }
    LOG.log(
        System.Logger.Level.INFO,
        "block index copied to {0} in {1} ms",
        persistentDir,
        (System.nanoTime() - t0) / 1_000_000);
  }

  /**
   * Copies {@code from} to {@code to} (replaced if there) in the kernel ({@code transferTo}: no pass
   * through Java buffers, which Files.copy makes on JDK 17), then forces it.
   */
  private static void copy(Path from, Path to) throws IOException {
    try (FileChannel in = FileChannel.open(from, StandardOpenOption.READ);
        FileChannel out =
            FileChannel.open(
                to,
                StandardOpenOption.CREATE,
                StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
      long size = in.size();
      for (long at = 0; at < size; ) {
        long n = in.transferTo(at, size - at, out);
        if (n <= 0) {
          throw new IOException("copying " + from + " to " + to + ": no progress at byte " + at);
        }
        at += n;
      }
      out.force(true);
    }
  }

  /** Creates the directory (and its parents) readable by this user only. */
  private static void createPrivateDirectory(Path dir) throws IOException {
    if (Files.isDirectory(dir)) {
      return;
    }
    Path parent = dir.getParent();
    if (parent != null && !Files.isDirectory(parent)) {
      createPrivateDirectory(parent);
    }
    try {
      Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    } catch (UnsupportedOperationException e) {
      Files.createDirectory(dir);
    } catch (java.nio.file.FileAlreadyExistsException e) {
      // made meanwhile by another store of another data directory
    }
  }

  /**
   * Makes the runtime directory this data directory's: if it names another (a runtime directory
   * given to two data directories in turn), its index and journal are removed first.
   */
  private static void claim(Path live, Path dataDir) throws IOException {
    String me = dataDir.toAbsolutePath().normalize().toString();
    Path owner = live.resolve(OWNER_FILE);
    if (Files.exists(owner)) {
      String other = Files.readString(owner, StandardCharsets.UTF_8).strip();
      if (other.equals(me)) {
        return;
      }
      LOG.log(
          System.Logger.Level.WARNING,
          "the block index''s runtime directory {0} held the index of another data directory ({1}):"
              + " removed",
          live,
          other);
      try (var files = Files.list(live)) {
        for (Path p : (Iterable<Path>) files::iterator) {
          if (Files.isRegularFile(p) && !p.getFileName().toString().equals(LOCK_FILE)) {
            Files.delete(p); // not the lock: this store holds it
          }
        }
      }
    }
    Files.writeString(owner, me + "\n", StandardCharsets.UTF_8);
  }

  /** Whether a store holds the runtime directory's lock. */
  private static boolean inUse(Path dir) {
    try {
      closeQuietly(lock(dir));
      return false;
    } catch (IndexDirInUseException e) {
      return true;
    } catch (IOException | RuntimeException e) {
      return true; // cannot tell: leave it
    }
  }

  /** {@code shm/kvstore-index-USER/<hash of the data directory>}. */
  static Path autoDirUnder(Path shm, Path dataDir) {
    return shm.resolve(AUTO_PREFIX + System.getProperty("user.name", "store")).resolve(hashOf(dataDir));
  }

  /** 16 hex digits of the SHA-256 of the data directory's absolute path. */
  static String hashOf(Path dataDir) {
    try {
      byte[] d =
          MessageDigest.getInstance("SHA-256")
              .digest(dataDir.toAbsolutePath().normalize().toString().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The directory the index lived in during the last run, as recorded; null if unknown. */
  static Path lastLiveDir(Path dataDir) {
    Path file = dataDir.resolve(DATA_SUBDIR).resolve(LIVE_DIR_FILE);
    try {
      if (!Files.isRegularFile(file)) {
        return null;
      }
      String text = Files.readString(file, StandardCharsets.UTF_8).strip();
      return text.isEmpty() ? null : Path.of(text).toAbsolutePath().normalize();
    } catch (IOException | RuntimeException e) {
      return null; // unreadable: as if unknown (the start then uses the configured place)
    }
  }

  /**
   * Whether {@code dir}, the index's place during the last run, holds the index that run left
   * when it was killed: the SSD tier did not close cleanly, the index file is there without its
   * clean marker and, for a runtime directory, it names this data directory as its owner.
   */
  static boolean leftByKilledRun(Path dataDir, Path dir) {
    Path data = dataDir.toAbsolutePath().normalize();
    if (SsdTier.closedCleanly(data.resolve("ssd"))
        || !Files.isRegularFile(dir.resolve(BlockIndex.FILE_NAME))
        || Files.exists(dir.resolve(BlockIndex.CLEAN_MARKER_NAME))) {
      return false;
    }
    if (dir.equals(data.resolve(DATA_SUBDIR))) {
      return true;
    }
    try {
      return Files.readString(dir.resolve(OWNER_FILE), StandardCharsets.UTF_8)
          .strip()
          .equals(data.toString());
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Records where the index lives in this run ({@link #lastLiveDir}), through a synced temporary
   * file, when that changed. If it cannot be written, the old record goes (it would send the
   * start after a crash of this run to the wrong place) and one WARN says so.
   */
  static void recordLiveDir(Path dataDir, Path live) {
    Path dir = dataDir.resolve(DATA_SUBDIR);
    Path file = dir.resolve(LIVE_DIR_FILE);
    Path liveAbs = live.toAbsolutePath().normalize();
    if (liveAbs.equals(lastLiveDir(dataDir))) {
      return;
    }
    try {
      Files.createDirectories(dir);
      SyncedFiles.replace(file, liveAbs + "\n");
    } catch (IOException | RuntimeException e) {
      SyncedFiles.deleteAfter(e, file);
      LOG.log(
          System.Logger.Level.WARNING,
          "cannot record where the block index runs in {0} ({1}): a start after a crash of this"
              + " run uses the configured index.dir",
          file,
          e.toString());
    }
  }
}
