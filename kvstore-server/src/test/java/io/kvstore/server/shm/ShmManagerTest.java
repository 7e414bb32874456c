package io.kvstore.server.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The region directory's safety checks, budget and clean-up (spec/4 §4.5). */
class ShmManagerTest {

  @TempDir Path tmp;

  @Test
  void shouldTurnSharedMemoryOffForADirectoryOthersCanRead() throws Exception {
    Path dir = Files.createDirectory(tmp.resolve("open"),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
    ShmManager m = ShmManager.create(dir, 1 << 20, 4 << 20);
    assertFalse(m.enabled(), "a directory other users can list is refused");
    assertNull(m.open(1, 0));
  }

  @Test
  void shouldTurnSharedMemoryOffWhenTheRegionSizeIsZeroOrTooSmall() throws Exception {
    assertFalse(ShmManager.create(tmp.resolve("a"), 0, 1 << 30).enabled());
    assertFalse(ShmManager.create(tmp.resolve("b"), 8192, 1 << 30).enabled());
  }

  @Test
  void shouldBoundRegionsInTotalAndGiveBytesBackOnClose() throws Exception {
    ShmManager m = ShmManager.create(tmp.resolve("r"), 1 << 20, 2 << 20);
    assertTrue(m.enabled());
    assertEquals("rwx------", PosixFilePermissions.toString(
        Files.getPosixFilePermissions(tmp.resolve("r"))));
    ServerRegion a = m.open(1, 0);
    ServerRegion b = m.open(2, 0);
    assertNotNull(a);
    assertNotNull(b);
    assertNull(m.open(3, 0), "over shm.total.bytes: refused, the connection uses TCP");
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(a.path())));
    a.close();
    assertFalse(Files.exists(a.path()));
    assertEquals(1 << 20, m.usedBytes());
    ServerRegion c = m.open(3, 0);
    assertNotNull(c, "room again after a close");
    b.close();
    c.close();
    a.close(); // idempotent
    assertEquals(0, m.usedBytes());
    assertEquals(0, m.regions());
    m.close();
  }

  @Test
  void shouldRemoveADeadRunsFilesAndKeepALiveRunsFiles() throws Exception {
    Path dir = tmp.resolve("runs");
    ShmManager live = ShmManager.create(dir, 1 << 20, 8 << 20);
    ServerRegion held = live.open(1, 0); // takes the run lock
    Files.writeString(dir.resolve("0badc0ffee00.lock"), "");
    Files.writeString(dir.resolve("0badc0ffee00-7.region"), "dead run");
    Files.writeString(dir.resolve("nolockrun000-3.region"), "no lock at all");
    ShmManager restarted = ShmManager.create(dir, 1 << 20, 8 << 20);
    assertTrue(restarted.enabled());
    assertFalse(Files.exists(dir.resolve("0badc0ffee00-7.region")), "a dead run's region");
    assertFalse(Files.exists(dir.resolve("0badc0ffee00.lock")));
    assertFalse(Files.exists(dir.resolve("nolockrun000-3.region")));
    assertTrue(Files.exists(held.path()), "a live run's region is left alone");
    held.close();
    live.close();
    restarted.close();
  }
}
