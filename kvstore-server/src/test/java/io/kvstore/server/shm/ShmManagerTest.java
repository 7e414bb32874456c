package io.kvstore.server.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.shm.ClientRegion;
import io.kvstore.client.shm.RegionLayout;
import io.kvstore.common.RegionMapping;
import io.kvstore.common.TmpfsMount;
import java.io.IOException;
import java.nio.ByteBuffer;
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

  /**
   * Regions larger than what their tmpfs can give (Docker's default /dev/shm is 64 MiB, a region
   * 160 MiB) used to be made anyway: the files are sparse, and the first touch of a page the tmpfs
   * could not give raised SIGBUS (an InternalError on the store thread, or in the engine's PUT).
   * Now a region is refused, with the reason, unless the file system has room for every live
   * region at its full length; the refusal gives its bytes back and leaves no file, and a region
   * that was given can be written end to end.
   */
  @Test
  void shouldRefuseARegionItsFileSystemMightNotHoldAndFillOneThatFits() throws Exception {
    try (TmpfsMount fs = TmpfsMount.mount(tmp.resolve("shm"), "size=12m").lazyUnmount()) {
      ShmManager m = ShmManager.create(fs.dir().resolve("regions"), 8 << 20, 64 << 20);
      assertTrue(m.enabled());
      ServerRegion a = m.open(1, 0);
      assertNotNull(a, "8 MiB fit in 12");
      IOException full = assertThrows(IOException.class, () -> m.open(2, 0));
      assertTrue(full.getMessage().contains("no room for a shared-memory region of 8388608 bytes"),
          full.getMessage());
      assertTrue(full.getMessage().contains("would need up to 16777216"), full.getMessage());
      assertEquals(8 << 20, m.usedBytes(), "the refused region's bytes are back in the budget");
      assertEquals(1, m.regions());
      try (java.util.stream.Stream<Path> files = Files.list(fs.dir().resolve("regions"))) {
        assertEquals(1, files.filter(p -> p.toString().endsWith(".region")).count());
      }
      // The region that was given: a client writing all of it (as an engine's PUTs do) meets no
      // fault.
      try (java.nio.channels.FileChannel ch =
          java.nio.channels.FileChannel.open(
              a.path(),
              java.nio.file.StandardOpenOption.READ,
              java.nio.file.StandardOpenOption.WRITE)) {
        ByteBuffer client = ch.map(java.nio.channels.FileChannel.MapMode.READ_WRITE, 0, a.length());
        for (int at = RegionLayout.HEADER_LENGTH; at < client.capacity(); at += 4096) {
          client.put(at, (byte) 1);
        }
      }
      a.close();
      assertEquals(0, m.usedBytes());
      m.close();
    }
  }
  /**
   * A closed region's pages go back to its tmpfs at once, not when a garbage collection finds the
   * mapping (before, the daemon held them, and the memory, with no region open: 1.85 GB of a 2 GiB
   * tmpfs after six client processes had come and gone), but only once the copy still running in
   * it has ended. The tmpfs then unmounts with nothing left open in it.
   */
  @Test
  void shouldGiveAClosedRegionsPagesBackOnceTheLastCopyEnds() throws Exception {
    try (TmpfsMount fs = TmpfsMount.mount(tmp.resolve("shm"), "size=32m")) {
      Path dir = fs.dir().resolve("regions");
      ShmManager m = ShmManager.create(dir, 8 << 20, 64 << 20);
      ServerRegion a = m.open(1, 0);
      ClientRegion client = ClientRegion.map(a.path(), a.length());
      assertTrue(a.attach(client.nonce()));
      client.close(); // no view lent, no copy running: unmapped at once
      assertTrue(client.unmapped());
      byte[] bytes = new byte[3 << 20];
      java.util.Arrays.fill(bytes, (byte) 0x5A);
      long lease = a.leaseAndCopy(ByteBuffer.wrap(bytes));
      assertTrue(lease >= 0);
      assertTrue(used(dir) >= 3 << 20, "the copy's pages are in the tmpfs: " + used(dir));
      assertTrue(a.enter(), "a PUT's copy out of the region starts");
      a.close();
      assertFalse(Files.exists(a.path()), "unlinked at close");
      assertFalse(a.enter(), "no copy starts once closed");
      assertTrue(used(dir) >= 3 << 20, "the running copy keeps the mapping: " + used(dir));
      ByteBuffer page = a.putPage(ServerRegion.offsetOf(lease), 4096);
      assertEquals(0x5A, page.get(4095), "still readable by the copy that entered before");
      a.exit();
      assertTrue(RegionMapping.awaitUnmaps(10_000), "unmapped in the background");
      assertTrue(used(dir) < 1 << 20, "the last copy ended: the pages are back: " + used(dir));
      ServerRegion b = m.open(2, 0);
      assertTrue(b.leaseAndCopy(ByteBuffer.wrap(bytes)) == -1, "not attached: nothing copied");
      b.close();
      assertEquals(0, m.regions());
      m.close();
      assertTrue(RegionMapping.awaitUnmaps(10_000));
    } // a strict unmount: it fails if a mapping were left in the tmpfs
  }

  private static long used(Path dir) throws IOException {
    java.nio.file.FileStore store = Files.getFileStore(dir);
    return store.getTotalSpace() - store.getUsableSpace();
  }
}
