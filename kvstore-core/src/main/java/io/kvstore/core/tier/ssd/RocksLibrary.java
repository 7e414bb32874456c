package io.kvstore.core.tier.ssd;

import java.io.IOException;
import java.io.InputStream;
import java.net.JarURLConnection;
import java.net.URL;
import java.net.URLConnection;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.zip.CRC32;
import org.rocksdb.RocksDB;
import org.rocksdb.util.Environment;

/**
 * Loads RocksDB's native library from a copy kept in the SSD tier's data directory ({@value
 * #DIR_NAME}/), extracted from the rocksdbjni jar once instead of at every start.
 *
 * <p>Why our own code: rocksdbjni's loader ({@code RocksDB.loadLibrary()}) inflates its 17 MB
 * library from the jar into a new temporary file at every start (0.2 to 0.3 s of a restart on
 * this project's 2-vCPU host, measured with async-profiler in a crash rebuild) and removes it only
 * on a normal JVM exit, so every killed process (SIGKILL, the OOM killer, a crash loop, a test
 * fork that is halted) leaves 17 MB in {@code /tmp}. rocksdbjni itself offers loading from a
 * directory ({@code RocksDB.loadLibrary(List)}), which is what this class feeds.
 *
 * <p>The copy lives in {@code native/rocksdbjni-<crc32>-<size>/}, named after the jar entry's CRC
 * and size, so another rocksdbjni version gets its own directory (older ones are removed). Every
 * load checks the copy's CRC-32 against the jar entry's (6 ms for 17 MB in a profile of a restart), so a torn or
 * altered copy is never loaded: it is extracted again. A copy is written to a temporary file in
 * the same directory and renamed into place. The directories are owner-only (0700) where the
 * file system has POSIX permissions. If the copy cannot be kept (a full or read-only disk, the
 * library not in a jar), RocksDB's own loader runs instead, with a WARNING.
 */
final class RocksLibrary {

  private static final System.Logger LOG = System.getLogger(RocksLibrary.class.getName());

  /** Directory, inside the SSD tier's data directory, of the library's copies. */
  static final String DIR_NAME = "native";

  private static final String PREFIX = "rocksdbjni-";
  /**
   * The copy's file name: the one {@code RocksDB.loadLibrary(List)} looks for in each directory.
   * rocksdbjni 11.8 builds it from "rocksdbjni" where its jar loader uses "rocksdb", so it is
   * {@code librocksdbjnijni-linux64.so} on Linux, not the jar entry's name. Should a later version
   * look for another name, the load fails and RocksDB's own loader runs (a WARNING, and {@code
   * RocksLibraryTest} fails in its fresh JVM).
   */
  static final String COPY_NAME = Environment.getJniLibraryFileName("rocksdbjni");
  private static final String TEMP_SUFFIX = ".tmp";

  /** How a call found or made the library. */
  enum Outcome {
    /** Already loaded in this JVM: nothing done. */
    ALREADY_LOADED,
    /** A verified copy was already there. */
    REUSED,
    /** The copy was (re)written from the jar. */
    EXTRACTED,
    /** The copy could not be kept: RocksDB's own loader extracted it to the temporary directory. */
    FALLBACK
  }

  private static final Object LOCK = new Object();
  private static volatile boolean loaded;

  private RocksLibrary() {}

  /**
   * Loads the library (once per JVM) from its copy in {@code nativeDir}, writing the copy first if
   * it is missing or does not match the jar; falls back to RocksDB's own loader if the copy cannot
   * be kept.
   *
   * @throws UnsatisfiedLinkError if neither way loads it
   */
  static Outcome load(Path nativeDir) {
    if (loaded) {
      return Outcome.ALREADY_LOADED;
    }
    synchronized (LOCK) {
      if (loaded) {
        return Outcome.ALREADY_LOADED;
      }
      Outcome outcome;
      try {
        Prepared p = prepare(nativeDir);
        RocksDB.loadLibrary(List.of(p.dir().toString())); // absolute (prepare)
        outcome = p.extracted() ? Outcome.EXTRACTED : Outcome.REUSED;
      } catch (IOException | RuntimeException | UnsatisfiedLinkError e) {
        // Whatever stops the copy (the file system, a directory listing, the dynamic loader), the
        // store still opens: RocksDB's own loader is what ran before the copy existed.
        LOG.log(
            System.Logger.Level.WARNING,
            "cannot load RocksDB''s native library from a copy in {0} ({1}): RocksDB extracts it"
                + " to the temporary directory instead, at every start",
            nativeDir,
            e.toString());
        RocksDB.loadLibrary();
        outcome = Outcome.FALLBACK;
      }
      loaded = true;
      return outcome;
    }
  }

  /** Where a verified copy is, and whether this call wrote it. */
  record Prepared(Path dir, boolean extracted) {}

  /**
   * Makes sure {@code nativeDir} holds a copy of the library that matches the jar entry's CRC and
   * size (writing it if not), removes other versions' copies and leftover temporary files, and
   * returns the copy's directory. Loads nothing.
   *
   * @throws IOException if the library is not in a jar, or the copy cannot be written or read
   */
  static Prepared prepare(Path nativeDir) throws IOException {
    // Absolute from here on: the dynamic loader refuses a relative path, and the daemon's default
    // data directory is relative (./kvstore-data).
    nativeDir = nativeDir.toAbsolutePath();
    String name = Environment.getJniLibraryFileName("rocksdb");
    URL url = RocksDB.class.getClassLoader().getResource(name);
    if (url == null) {
      throw new IOException(name + " is not on the class path");
    }
    URLConnection connection = url.openConnection();
    if (!(connection instanceof JarURLConnection jar)) {
      throw new IOException(name + " is not in a jar: " + url);
    }
    JarEntry entry = jar.getJarEntry();
    long crc = entry.getCrc();
    long size = entry.getSize();
    if (crc < 0 || size < 0) {
      throw new IOException("the jar does not record the CRC and size of " + name);
    }
    String version = PREFIX + Long.toHexString(crc) + "-" + size;
    Path dir = nativeDir.resolve(version);
    createOwnerOnly(nativeDir);
    createOwnerOnly(dir);
    Path file = dir.resolve(COPY_NAME);
    boolean extracted = false;
    if (!Files.isRegularFile(file) || Files.size(file) != size || crcOf(file) != crc) {
      extract(url, dir, file, crc, size);
      extracted = true;
    }
    removeOthers(nativeDir, version, dir);
    return new Prepared(dir, extracted);
  }

  private static void createOwnerOnly(Path dir) throws IOException {
    if (Files.isDirectory(dir)) {
      return;
    }
    try {
      if (Files.getFileStore(dir.getParent()).supportsFileAttributeView("posix")) {
        Files.createDirectory(
            dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      } else {
        Files.createDirectory(dir);
      }
    } catch (FileAlreadyExistsException e) {
      if (!Files.isDirectory(dir)) {
        throw e; // a file where the directory should be
      }
    }
  }

  /** Writes the jar entry to a temporary file beside {@code file}, checks it, renames it into place. */
  private static void extract(URL url, Path dir, Path file, long crc, long size) throws IOException {
    Path tmp = Files.createTempFile(dir, file.getFileName().toString(), TEMP_SUFFIX);
    try {
      CRC32 sum = new CRC32();
      long n = 0;
      try (InputStream in = url.openStream();
          FileChannel out = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        byte[] buf = new byte[1 << 16];
        ByteBuffer wrap = ByteBuffer.wrap(buf);
        int r;
        while ((r = in.read(buf)) > 0) {
          sum.update(buf, 0, r);
          wrap.clear().limit(r);
          while (wrap.hasRemaining()) {
            out.write(wrap);
          }
          n += r;
        }
      }
      if (n != size || sum.getValue() != crc) {
        throw new IOException(
            "the library read from the jar does not match its entry: "
                + n
                + " bytes, CRC "
                + Long.toHexString(sum.getValue())
                + "; expected "
                + size
                + " bytes, CRC "
                + Long.toHexString(crc));
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** CRC-32 of a file's bytes. */
  static long crcOf(Path file) throws IOException {
    CRC32 sum = new CRC32();
    ByteBuffer buf = ByteBuffer.allocate(1 << 20);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      while (ch.read(buf.clear()) > 0) {
        sum.update(buf.flip());
      }
    }
    return sum.getValue();
  }

  /** Removes other versions' copies and temporary files left by an interrupted extraction. */
  private static void removeOthers(Path nativeDir, String keep, Path dir) {
    try (DirectoryStream<Path> versions = Files.newDirectoryStream(nativeDir, PREFIX + "*")) {
      for (Path other : versions) {
        if (!other.getFileName().toString().equals(keep)) {
          deleteTree(other);
        }
      }
    } catch (IOException | DirectoryIteratorException e) {
      LOG.log(System.Logger.Level.WARNING, "cannot remove old copies in {0}: {1}", nativeDir, e);
    }
    try (DirectoryStream<Path> temps = Files.newDirectoryStream(dir, "*" + TEMP_SUFFIX)) {
      for (Path t : temps) {
        Files.deleteIfExists(t);
      }
    } catch (IOException | DirectoryIteratorException e) {
      LOG.log(System.Logger.Level.WARNING, "cannot remove temporary files in {0}: {1}", dir, e);
    }
  }

  /** Deletes {@code dir} and everything under it (a link is deleted, not followed). */
  static void deleteTree(Path dir) throws IOException {
    if (Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
        for (Path f : files) {
          deleteTree(f);
        }
      }
    }
    Files.deleteIfExists(dir);
  }
}
