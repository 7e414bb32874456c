package io.kvstore.core.store;

import static io.kvstore.core.store.StoreFixtures.dst;
import static io.kvstore.core.store.StoreFixtures.small;
import static io.kvstore.core.store.StoreFixtures.whereIs;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.tier.TestPages;
import io.kvstore.core.tier.TierKind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A second store opened on a data directory that a running store uses (an operator starting the
 * daemon twice, two engines embedding the store with the same path) is refused with a clear error
 * before it touches anything there: the running store keeps serving, and after it closes, a
 * restart finds every page it held on SSD.
 */
class TieredStoreDataDirInUseTest {

  private static final int PAYLOAD = 8 * 1024;

  @TempDir Path dir;

  @Test
  void shouldRefuseASecondStoreOnADataDirectoryInUseAndHarmNothing() {
    List<Long> onSsd = new ArrayList<>();
    try (TieredStore first = small(dir).build()) {
      for (long k = 0; k < 150; k++) {
        assertTrue(first.put(TestPages.page(31, k, 4, PAYLOAD)));
      }
      for (long k = 0; k < 150; k++) {
        if (whereIs(first, 31, k) == TierKind.SSD) {
          onSsd.add(k);
        }
      }
      assertTrue(onSsd.size() > 100, "most pages were demoted to SSD: " + onSsd.size());
      DataDirInUseException e =
          assertThrows(DataDirInUseException.class, () -> small(dir).build().close());
      assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
      assertTrue(e.getMessage().contains("in use"), e.getMessage());
      // The running store is untouched: it serves every page, and takes new ones.
      ByteBuffer dst = dst();
      for (long k = 0; k < 150; k++) {
        dst.clear();
        assertTrue(first.get(31, k, dst) > 0, "page " + k);
        assertEquals(4, TestPages.check(dst.flip(), 31, k));
      }
      assertTrue(first.put(TestPages.page(31, 1000, 4, PAYLOAD)));
    }
    // After a clean close the next store opens, and its SSD tier holds what the first one did.
    try (TieredStore again = small(dir).build()) {
      ByteBuffer dst = dst();
      for (long k : onSsd) {
        dst.clear();
        assertTrue(again.get(31, k, dst) > 0, "page " + k + " survived the refused second open");
        assertEquals(4, TestPages.check(dst.flip(), 31, k));
      }
    }
  }

  @Test
  void shouldFailWithTheLockFilesPathWhenItCannotBeCreatedAndOpenNothing() throws Exception {
    // A directory where the lock file should be: the lock cannot be taken, so the store does not
    // open (nothing else is created in the data directory), and says which file is the problem.
    Files.createDirectories(dir.resolve(DataDirLock.FILE));
    DataDirUnusableException e =
        assertThrows(DataDirUnusableException.class, () -> small(dir).build());
    assertEquals("cannot create the data directory's lock file "
        + dir.resolve(DataDirLock.FILE).toAbsolutePath() + ": "
        + dir.resolve(DataDirLock.FILE) + ": Is a directory", e.getMessage());
    try (Stream<Path> files = Files.list(dir)) {
      assertEquals(List.of(DataDirLock.FILE), files.map(f -> f.getFileName().toString()).toList());
    }
    // Once the directory is out of the way, the store opens there.
    Files.delete(dir.resolve(DataDirLock.FILE));
    small(dir).build().close();
  }

  @Test
  void shouldSayTheDataDirectoryIsAFileAndCreateNothing() throws Exception {
    Path file = dir.resolve("data");
    Files.write(file, new byte[] {1, 2, 3});
    DataDirUnusableException e =
        assertThrows(DataDirUnusableException.class, () -> small(file).build());
    assertEquals("the data directory " + file.toAbsolutePath()
        + " is not a directory (a file is in the way)", e.getMessage());
    assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(file), "the file is left as it was");
  }

  @Test
  void shouldSayWhyADataDirectoryUnderAFileCannotBeCreated() throws Exception {
    Files.write(dir.resolve("plain"), new byte[0]);
    Path under = dir.resolve("plain").resolve("data");
    DataDirUnusableException e =
        assertThrows(DataDirUnusableException.class, () -> small(under).build());
    assertTrue(e.getMessage().startsWith("cannot create the data directory's lock file "
        + under.resolve(DataDirLock.FILE).toAbsolutePath() + ": "), e.getMessage());
    assertTrue(e.getMessage().contains(dir.resolve("plain").toString()), e.getMessage());
  }

  @Test
  void shouldNameTheReasonOfEveryFileSystemRefusal() {
    // Running as root, a permission refusal cannot be provoked for real here: the messages the
    // file system exceptions without a reason text would give are checked on the exceptions.
    Path data = dir.resolve("data");
    Path lock = data.resolve(DataDirLock.FILE);
    assertEquals("cannot create the data directory's lock file " + lock.toAbsolutePath() + ": "
        + data + ": permission denied",
        DataDirLock.unusable(data, lock, new AccessDeniedException(data.toString())).getMessage());
    assertEquals("cannot create the data directory's lock file " + lock.toAbsolutePath() + ": "
        + data + " exists and is not a directory",
        DataDirLock.unusable(data, lock, new FileAlreadyExistsException(data.toString()))
            .getMessage());
    assertEquals("cannot create the data directory's lock file " + lock.toAbsolutePath() + ": "
        + data + ": No space left on device",
        DataDirLock.unusable(data, lock,
            new FileSystemException(data.toString(), null, "No space left on device")).getMessage());
    IOException other = new IOException("injected");
    DataDirUnusableException e = DataDirLock.unusable(data, lock, other);
    assertEquals("cannot create the data directory's lock file " + lock.toAbsolutePath() + ": "
        + other, e.getMessage());
    assertSame(other, e.getCause());
  }
}
