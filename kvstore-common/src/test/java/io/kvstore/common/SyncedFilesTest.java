package io.kvstore.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SyncedFilesTest {

  @TempDir Path dir;

  @Test
  void shouldReplaceTheWholeContentAndLeaveNoTemporaryFile() throws Exception {
    Path f = dir.resolve("state");
    SyncedFiles.replace(f, "a longer first content\n");
    SyncedFiles.replace(f, "wal\n");
    assertEquals("wal\n", Files.readString(f));
    assertFalse(Files.exists(dir.resolve("state.tmp")));
  }

  @Test
  void shouldLeaveTheOldContentWhenTheWriteFails() throws Exception {
    Path f = dir.resolve("state");
    SyncedFiles.replace(f, "none\n");
    // The temporary file's name taken by a non-empty directory: the write cannot even start.
    Files.createDirectories(dir.resolve("state.tmp").resolve("x"));
    assertThrows(IOException.class, () -> SyncedFiles.replace(f, "sync\n"));
    assertEquals("none\n", Files.readString(f));
  }

  @Test
  void shouldDeleteAfterAFailureAndKeepAFailedDeleteAsSuppressed() throws Exception {
    IOException first = new IOException("the step that failed");
    Path f = Files.writeString(dir.resolve("half"), "x");
    assertTrue(SyncedFiles.deleteAfter(first, f));
    assertFalse(Files.exists(f));
    assertTrue(SyncedFiles.deleteAfter(first, f), "absent counts as gone");
    assertEquals(0, first.getSuppressed().length);
    // A non-empty directory in its place cannot be deleted: reported, not thrown.
    Path held = dir.resolve("held");
    Files.createDirectories(held.resolve("x"));
    assertFalse(SyncedFiles.deleteAfter(first, held));
    assertEquals(1, first.getSuppressed().length);
    assertTrue(Files.exists(held));
  }
}
