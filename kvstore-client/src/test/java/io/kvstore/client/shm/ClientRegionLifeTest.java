package io.kvstore.client.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.KvStoreException;
import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.common.RegionMapping;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * When the SDK gives a closed connection's region mapping back ({@link ClientRegion#close()}):
 * never while a page view lent from it is out, and, where a view used after the unmap would crash
 * the process (JDK 17 to 21), never for a region that lent one; no copy starts once it is closed.
 */
class ClientRegionLifeTest {

  private static final int LENGTH = 1 << 20;

  @TempDir Path dir;

  private ClientRegion region(String name) throws Exception {
    Path file = dir.resolve(name);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW,
        StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer map = ch.map(FileChannel.MapMode.READ_WRITE, 0, LENGTH);
      RegionLayout.writeHeader(map, LENGTH, 1, new byte[ShmFrames.NONCE_LENGTH]);
    }
    return ClientRegion.map(file, LENGTH);
  }

  @Test
  void shouldUnmapAtCloseWhenNothingUsesTheRegion() throws Exception {
    ClientRegion r = region("a");
    long at = r.allocatePut(4096);
    r.copyIn(at, new byte[] {1, 2, 3}, 0, 3, ByteBuffer.allocate(0));
    ByteBuffer dst = ByteBuffer.allocate(3);
    r.copyOut(at, 3, dst, 0);
    assertEquals(3, dst.get(2));
    assertFalse(r.unmapped());
    r.close();
    assertTrue(r.isClosed());
    assertTrue(r.unmapped(), "no copy running, no view out: given back at close");
    r.close(); // idempotent
    KvStoreException e = assertThrows(KvStoreException.class, () -> r.copyIn(at, ByteBuffer.allocate(8)));
    assertEquals(ErrorCode.CONNECTION_CLOSED, e.code());
    assertThrows(KvStoreException.class, () -> r.copyOut(at, 3, dst, 0));
    assertThrows(KvStoreException.class, () -> r.view(RegionLayout.HEADER_LENGTH, 64));
  }

  @Test
  void shouldKeepTheMappingWhileAViewIsOut() throws Exception {
    ClientRegion r = region("b");
    long at = r.allocatePut(4096);
    r.copyIn(at, new byte[] {7, 7, 7, 7}, 0, 4, ByteBuffer.allocate(0));
    ByteBuffer view = r.view(at, 4);
    r.close();
    assertFalse(r.unmapped(), "a view is out");
    assertEquals(7, view.get(3), "the view still reads its bytes after the connection closed");
    r.viewsReturned(1);
    assertEquals(RegionMapping.checkedAccess(), r.unmapped(),
        "given back once the view is back where a stale view cannot crash (JDK 22+), else left"
            + " to the garbage collector");
    if (RegionMapping.checkedAccess()) {
      assertTrue(RegionMapping.awaitUnmaps(10_000));
      assertThrows(IllegalStateException.class, () -> view.get(3),
          "a view used after the unmap throws; it does not read unmapped memory");
    }
  }
}
