package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.TmpfsMount;
import io.kvstore.core.index.ForkedJvm;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The copy of RocksDB's native library kept in the data directory: written once, reused while it
 * matches the jar, written again when it does not (torn, altered, another version), and a clear
 * error where it cannot be kept (the loader then falls back to RocksDB's own extraction).
 */
class RocksLibraryTest {

  private static final String NAME = RocksLibrary.COPY_NAME;

  @TempDir Path dir;

  @Test
  void shouldWriteTheCopyOnceAndReuseIt() throws Exception {
    Path nativeDir = dir.resolve("native");
    RocksLibrary.Prepared first = RocksLibrary.prepare(nativeDir);
    assertTrue(first.extracted());
    Path file = first.dir().resolve(NAME);
    long size = Files.size(file);
    assertTrue(size > 1 << 20, "the library's size: " + size);
    assertEquals(
        first.dir().getFileName().toString(),
        "rocksdbjni-" + Long.toHexString(RocksLibrary.crcOf(file)) + "-" + size,
        "the copy's directory names its CRC and size");
    if (Files.getFileStore(dir).supportsFileAttributeView("posix")) {
      Set<PosixFilePermission> owner =
          Set.of(
              PosixFilePermission.OWNER_READ,
              PosixFilePermission.OWNER_WRITE,
              PosixFilePermission.OWNER_EXECUTE);
      assertEquals(owner, Files.getPosixFilePermissions(nativeDir));
      assertEquals(owner, Files.getPosixFilePermissions(first.dir()));
    }
    Object inode = Files.readAttributes(file, "unix:ino").get("ino");

    RocksLibrary.Prepared second = RocksLibrary.prepare(nativeDir);
    assertFalse(second.extracted(), "a matching copy is reused");
    assertEquals(first.dir(), second.dir());
    assertEquals(inode, Files.readAttributes(file, "unix:ino").get("ino"), "the same file");
  }

  @Test
  void shouldWriteAgainACopyThatDoesNotMatchTheJar() throws Exception {
    Path nativeDir = dir.resolve("native");
    Path file = RocksLibrary.prepare(nativeDir).dir().resolve(NAME);
    long crc = RocksLibrary.crcOf(file);
    long size = Files.size(file);

    // One byte altered in the middle: same size, other CRC.
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(size / 2);
      int b = f.read();
      f.seek(size / 2);
      f.write(b ^ 0x5a);
    }
    assertNotEquals(crc, RocksLibrary.crcOf(file));
    assertTrue(RocksLibrary.prepare(nativeDir).extracted(), "an altered copy is written again");
    assertEquals(crc, RocksLibrary.crcOf(file));

    // Torn: a crash or a full disk in the middle of an earlier copy.
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.setLength(size / 3);
    }
    assertTrue(RocksLibrary.prepare(nativeDir).extracted(), "a torn copy is written again");
    assertEquals(size, Files.size(file));
    assertEquals(crc, RocksLibrary.crcOf(file));

    // Gone.
    Files.delete(file);
    assertTrue(RocksLibrary.prepare(nativeDir).extracted());
    assertEquals(crc, RocksLibrary.crcOf(file));
  }

  @Test
  void shouldRemoveOtherVersionsAndLeftoverTemporaryFiles() throws Exception {
    Path nativeDir = dir.resolve("native");
    Path current = RocksLibrary.prepare(nativeDir).dir();
    Path old = Files.createDirectories(nativeDir.resolve("rocksdbjni-1234abcd-17000000"));
    Files.write(old.resolve(NAME), new byte[] {1, 2, 3});
    Path tmp = Files.write(current.resolve(NAME + "123.tmp"), new byte[] {4, 5});
    Path unrelated = Files.write(nativeDir.resolve("README"), new byte[] {6});

    assertFalse(RocksLibrary.prepare(nativeDir).extracted());
    assertFalse(Files.exists(old), "another version's copy is removed");
    assertFalse(Files.exists(tmp), "an interrupted extraction's file is removed");
    assertTrue(Files.exists(unrelated), "files it did not write are left alone");
  }

  @Test
  void shouldFailWithThePathWhereTheCopyCannotBeKept() throws Exception {
    Path notADir = Files.write(dir.resolve("native"), new byte[] {0});
    IOException e = assertThrows(IOException.class, () -> RocksLibrary.prepare(notADir));
    assertTrue(e.toString().contains(notADir.toString()), e.toString());

    // A version directory that is a file: the copy cannot be written there either.
    Path nativeDir = Files.createDirectories(dir.resolve("native2"));
    String version = RocksLibrary.prepare(nativeDir).dir().getFileName().toString();
    Path versionDir = nativeDir.resolve(version);
    Files.delete(versionDir.resolve(NAME));
    Files.delete(versionDir);
    Files.write(versionDir, new byte[] {0});
    assertThrows(IOException.class, () -> RocksLibrary.prepare(nativeDir));
  }

  @Test
  void shouldLoadTheLibraryOncePerJvm() {
    // Whatever loaded it first in this JVM (another test, or this call), a second call does nothing
    // and RocksDB's native calls work.
    RocksLibrary.load(dir.resolve("native"));
    assertEquals(RocksLibrary.Outcome.ALREADY_LOADED, RocksLibrary.load(dir.resolve("other")));
    assertTrue(org.rocksdb.RocksDB.rocksdbVersion().getMajor() > 0);
  }

  /** Runs {@link RocksLibraryProbe} in a fresh JVM whose temporary directory is {@code tmp}. */
  private String probe(Path nativeDir, Path tmp) throws Exception {
    Files.createDirectories(tmp);
    Path db = Files.createTempDirectory(dir, "db");
    Process p =
        ForkedJvm.builder(
                List.of("-Djava.io.tmpdir=" + tmp),
                RocksLibraryProbe.class,
                nativeDir.toString(),
                db.toString())
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertEquals(0, p.waitFor(), "the probe's exit status; its output: " + out);
    return out;
  }

  private static long libraryFilesIn(Path tmp) throws IOException {
    try (Stream<Path> files = Files.list(tmp)) {
      return files.filter(f -> f.getFileName().toString().startsWith("librocksdbjni")).count();
    }
  }

  @Test
  void shouldLoadFromTheCopyInAFreshJvmWithoutWritingToTheTemporaryDirectory() throws Exception {
    Path nativeDir = dir.resolve("native");
    Path tmp = dir.resolve("tmp");
    assertEquals("outcome=EXTRACTED", probe(nativeDir, tmp));
    assertEquals("outcome=REUSED", probe(nativeDir, tmp));
    assertEquals(0, libraryFilesIn(tmp), "nothing extracted to the temporary directory");

    // An altered copy is never loaded: written again, then loaded.
    Path file;
    try (Stream<Path> versions = Files.list(nativeDir)) {
      file = versions.findFirst().orElseThrow().resolve(NAME);
    }
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.setLength(Files.size(file) - 1);
    }
    assertEquals("outcome=EXTRACTED", probe(nativeDir, tmp));
    assertEquals(0, libraryFilesIn(tmp));

    // Where no copy can be kept, RocksDB's own loader runs (into the temporary directory).
    Path notADir = Files.write(dir.resolve("file"), new byte[] {0});
    assertEquals("outcome=FALLBACK", probe(notADir, tmp));
  }

  @Test
  void shouldLoadFromACopyNamedByARelativePath() throws Exception {
    // The daemon's default data directory is relative (./kvstore-data), and the dynamic loader
    // takes only absolute paths: a copy named relatively must still be the one loaded.
    Path tmp = Files.createDirectories(dir.resolve("tmp-relative"));
    Path db = Files.createTempDirectory(dir, "db");
    Process p =
        ForkedJvm.builder(
                List.of("-Djava.io.tmpdir=" + tmp),
                RocksLibraryProbe.class,
                "relative-native",
                db.toString())
            .directory(dir.toFile())
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertEquals(0, p.waitFor(), "the probe's exit status; its output: " + out);
    assertEquals("outcome=EXTRACTED", out, "loaded from the copy, not by RocksDB's own loader");
    assertTrue(Files.isDirectory(dir.resolve("relative-native")));
    assertEquals(0, libraryFilesIn(tmp), "nothing extracted to the temporary directory");
  }

  /** Mounts a tmpfs with {@code options} at a new directory, or skips the test where it cannot. */
  private Path mount(String options) throws Exception {
    TmpfsMount fs = TmpfsMount.mount(dir.resolve("fs-" + mounts.size()), options);
    mounts.add(fs);
    return fs.dir();
  }

  private final List<TmpfsMount> mounts = new ArrayList<>();

  @AfterEach
  void unmount() throws Exception {
    for (TmpfsMount m : mounts) {
      m.close(); // not lazily: nothing may stay open in it
    }
  }

  @Test
  void shouldFallBackWhereTheFileSystemCannotHoldTheCopyAndLeaveNothingBehind() throws Exception {
    // 8 MiB: less than the library. The copy fails with ENOSPC part way; RocksDB's own loader
    // runs instead, and the partial file is gone, so the file system is as it was.
    Path small = mount("size=8m");
    Path tmp = dir.resolve("tmp");
    assertEquals("outcome=FALLBACK", probe(small.resolve("native"), tmp));
    try (Stream<Path> versions = Files.list(small.resolve("native"))) {
      for (Path v : versions.toList()) {
        try (Stream<Path> files = Files.list(v)) {
          assertEquals(List.of(), files.toList(), "nothing left in " + v);
        }
      }
    }
    assertTrue(Files.getFileStore(small).getUsableSpace() > 7L << 20, "the space was given back");
  }

  @Test
  void shouldFallBackWhereTheCopyCannotBeExecuted() throws Exception {
    // A data directory on a noexec mount: the copy is written and checked, but the dynamic loader
    // may not map it executable. RocksDB's own loader runs instead (from the temporary directory).
    Path noexec = mount("size=64m,noexec");
    assertEquals("outcome=FALLBACK", probe(noexec.resolve("native"), dir.resolve("tmp")));
  }
}
