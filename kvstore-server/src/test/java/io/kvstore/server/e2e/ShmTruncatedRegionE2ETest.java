package io.kvstore.server.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.client.shm.ClientRegion;
import io.kvstore.client.shm.RegionLayout;
import io.kvstore.client.shm.ShmFrames;
import io.kvstore.core.store.TieredStore;
import io.kvstore.server.net.KvStoreNetworkServer;
import io.kvstore.server.net.NetFixtures;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client that truncates its own region file under the daemon's mapping ({@code
 * spec/4-shared-memory.md} §4.5): the daemon's next read of its PUT area, or write of a GET page
 * into it, faults (SIGBUS). That page gets an error, the region is withdrawn, and the daemon,
 * its store threads and every stored page carry on.
 */
class ShmTruncatedRegionE2ETest {

  private static final long NS = 0x5AFE_0000_0000_0004L;
  private static final int PAYLOAD = 300_000;

  @TempDir Path dir;
  @TempDir Path shmRoot;
  private TieredStore store;
  private KvStoreNetworkServer server;

  @BeforeEach
  void start() throws Exception {
    store = NetFixtures.smallStore(dir).build();
    server = new KvStoreNetworkServer(NetFixtures.config().shmDir(shmRoot.resolve("regions"))
        .shmRegionBytes(8L << 20).build(), store, NetFixtures.metrics());
    server.start();
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.shutdownGracefully(Duration.ofSeconds(5));
    }
    if (store != null) {
      store.close();
    }
  }

  private static RawClient.Frame shmPut(RawClient raw, long requestId, long offset, int length)
      throws Exception {
    raw.send(ShmFrames.encodePut(UnpooledByteBufAllocator.DEFAULT, requestId, new long[] {offset},
        new int[] {length}, 0, 1));
    return raw.read();
  }

  private static byte[] getInline(RawClient raw, long requestId, long key) throws Exception {
    raw.keyBatch(Opcode.GET, 0, requestId, 0, key, key);
    RawClient.Frame page = raw.read();
    assertEquals(Opcode.GET_PAGE, page.opcode(), page.toString());
    assertEquals(Opcode.GET_DONE, raw.read().opcode());
    return Arrays.copyOfRange(page.body(), 8, page.body().length);
  }

  @Test
  void shouldRefuseAPutFromATruncatedRegionAndKeepServing() throws Exception {
    try (RawClient raw = new RawClient(server.port()); RawClient other = new RawClient(server.port())) {
      raw.hello(1, 1, 1, NS, "");
      other.hello(1, 1, 1, NS, "");
      ShmRaw.Offer offer = ShmRaw.open(raw, 2);
      ClientRegion region = ClientRegion.map(offer.path(), offer.length());
      raw.send(ShmFrames.encodeAttach(UnpooledByteBufAllocator.DEFAULT, 3, region.nonce()));
      assertEquals(Opcode.SHM_ATTACH_OK, raw.read().opcode());
      long at = RegionLayout.HEADER_LENGTH + region.areaLength();
      ByteBuffer first = NetFixtures.page(81, 81, NS, PAYLOAD);
      region.copyIn(at, first.duplicate());
      RawClient.Frame ok = shmPut(raw, 4, at, first.remaining());
      assertEquals(ErrorCode.OK, ok.bodyShort(8), "stored through the region");

      ByteBuffer second = NetFixtures.page(82, 82, NS, PAYLOAD);
      region.copyIn(at, second.duplicate());
      List<String> died = new CopyOnWriteArrayList<>();
      Thread.UncaughtExceptionHandler before = Thread.getDefaultUncaughtExceptionHandler();
      Thread.setDefaultUncaughtExceptionHandler((t, e) -> died.add(t.getName() + ": " + e));
      try (FileChannel ch = FileChannel.open(offer.path(), StandardOpenOption.WRITE)) {
        ch.truncate(RegionLayout.HEADER_LENGTH);
      }
      // Its pages are gone under the daemon's mapping: refused, again and again, with no thread
      // lost (before: each such PUT killed a store thread, its INTERNAL error logged twice).
      try {
        for (long id = 5; id < 25; id++) {
          RawClient.Frame f = shmPut(raw, id, at, second.remaining());
          assertEquals(Opcode.PUT_OK, f.opcode(), f.toString());
          assertEquals(ErrorCode.SHM_UNAVAILABLE, f.bodyShort(8), "refused: " + f);
        }
      } finally {
        Thread.setDefaultUncaughtExceptionHandler(before);
      }
      assertEquals(List.of(), died, "no store thread died");
      assertEquals(1, server.sharedMemory().faults(), "one fault, then the region is withdrawn");
      assertEquals(-1, store.length(82, 82), "nothing of the faulted page stored");

      // The connection, the other one and the store go on.
      ByteBuffer third = NetFixtures.page(83, 83, NS, PAYLOAD);
      raw.put(30, third);
      assertEquals(0, raw.read().bodyShort(8), "a TCP PUT on the same connection");
      assertArrayEquals(NetFixtures.bytes(first), getInline(other, 31, 81));
      assertArrayEquals(NetFixtures.bytes(third), getInline(other, 32, 83));
      // A GET asking for shared memory gets the page inline: the region takes no page.
      raw.keyBatch(Opcode.GET, Opcode.FLAG_GET_SHM, 33, 0, 81, 81);
      RawClient.Frame g = raw.read();
      assertEquals(Opcode.GET_PAGE, g.opcode(), g.toString());
      assertArrayEquals(NetFixtures.bytes(first), Arrays.copyOfRange(g.body(), 8, g.body().length),
          "inline, the exact bytes");
      assertEquals(Opcode.GET_DONE, raw.read().opcode());
      assertEquals(0, server.sharedMemory().leases());
    }
  }
}
