package io.kvstore.server.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.client.shm.ClientRegion;
import io.kvstore.client.shm.RegionLayout;
import io.kvstore.client.shm.ShmFrames;
import io.kvstore.common.PageFormat;
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
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client that rewrites its PUT area while the daemon copies from it ({@code
 * spec/4-shared-memory.md} §4.4): the daemon stores only what it copied and checked, so every
 * stored page is exactly a page the client wrote, a refused replace leaves the held version as it
 * was, and a forged header is refused; a client that truncates its region gets its PUTs refused
 * and harms nothing.
 */
class ShmPutRaceE2ETest {

  /** No payload after the byte a racing writer flips. */
  private static final ByteBuffer NOTHING = ByteBuffer.allocate(0);

  private static final long NS = 0x5AFE_0000_0000_0003L;
  /** Two copy chunks and a bit. */
  private static final int PAYLOAD = 600_000;

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

  private static int putStatus(RawClient raw, long requestId, long offset, int length)
      throws Exception {
    raw.send(ShmFrames.encodePut(UnpooledByteBufAllocator.DEFAULT, requestId, new long[] {offset},
        new int[] {length}, 0, 1));
    RawClient.Frame ok = raw.read();
    assertEquals(Opcode.PUT_OK, ok.opcode(), ok.toString());
    return ok.bodyShort(8);
  }

  private static byte[] getInline(RawClient raw, long requestId, long key) throws Exception {
    raw.keyBatch(Opcode.GET, 0, requestId, 0, key, key);
    RawClient.Frame page = raw.read();
    assertEquals(Opcode.GET_PAGE, page.opcode(), page.toString());
    assertEquals(Opcode.GET_DONE, raw.read().opcode());
    return Arrays.copyOfRange(page.body(), 8, page.body().length);
  }

  @Test
  void shouldStoreOnlyExactPagesWhileTheClientRewritesItsRegion() throws Exception {
    long key = 61;
    ByteBuffer v1 = NetFixtures.page(key, key, NS, PAYLOAD);
    // v2: the same key and length, other bytes (a different seed), a valid header.
    ByteBuffer v2 = NetFixtures.page(key + 1000, key, NS, PAYLOAD);
    PageFormat.writeHeader(v2, 0, key, key, 0, 0, NS, 16, PAYLOAD);
    byte[] v1Bytes = NetFixtures.bytes(v1);
    byte[] v2Bytes = NetFixtures.bytes(v2);
    int length = v2.remaining();
    try (RawClient raw = new RawClient(server.port())) {
      raw.hello(1, 1, 1, NS, "");
      ClientRegion region = ShmRaw.attach(raw, 2);
      long at = RegionLayout.HEADER_LENGTH + region.areaLength();
      raw.put(4, v1);
      RawClient.Frame ok = raw.read();
      assertEquals(0, ok.bodyShort(8), "v1 stored over TCP");
      region.copyIn(at, v2.duplicate());

      AtomicBoolean stop = new AtomicBoolean();
      Thread writer = new Thread(() -> {
        SplittableRandom random = new SplittableRandom(3);
        byte[] one = new byte[1];
        while (!stop.get()) {
          int i = random.nextInt(length);
          one[0] = (byte) (v2Bytes[i] ^ (1 + random.nextInt(255)));
          region.copyIn(at + i, one, 0, 1, NOTHING);
          one[0] = v2Bytes[i];
          region.copyIn(at + i, one, 0, 1, NOTHING);
        }
      }, "region-writer");
      writer.start();
      int stored = 0;
      int refused = 0;
      long id = 10;
      try {
        for (int n = 0; n < 200; n++) {
          int status = putStatus(raw, id++, at, length);
          byte[] held = getInline(raw, id++, key);
          if (status == ErrorCode.OK) {
            stored++;
            assertArrayEquals(v2Bytes, held, "a stored page is exactly the page the client wrote");
          } else {
            assertTrue(status == ErrorCode.BAD_CHECKSUM || status == ErrorCode.MALFORMED_PAGE,
                "refused with a page error, got " + status);
            refused++;
            assertArrayEquals(stored == 0 ? v1Bytes : v2Bytes, held,
                "a refused replace leaves the held version as it was");
          }
        }
      } finally {
        stop.set(true);
        writer.join(10_000);
      }
      assertEquals(200, stored + refused);
      // A quiet region stores it, whatever happened before.
      region.copyIn(at, v2.duplicate());
      assertEquals(ErrorCode.OK, putStatus(raw, id++, at, length));
      assertArrayEquals(v2Bytes, getInline(raw, id++, key));
      assertEquals(201, server.sharedMemory().pagesIn(), "every PUT page came through the region");
    }
  }

  @Test
  void shouldRefuseAForgedHeaderAndAKeyOfAnotherNamespace() throws Exception {
    long theirs = 71;
    ByteBuffer held = NetFixtures.page(theirs, theirs, NS + 1, 5000);
    try (RawClient other = new RawClient(server.port()); RawClient raw = new RawClient(server.port())) {
      other.hello(1, 1, 1, NS + 1, "");
      other.put(3, held);
      assertEquals(0, other.read().bodyShort(8), "stored by its namespace");
      raw.hello(1, 1, 1, NS, "");
      ClientRegion region = ShmRaw.attach(raw, 2);
      long at = RegionLayout.HEADER_LENGTH + region.areaLength();
      // Our namespace in the header, their key: the store holds it under theirs.
      ByteBuffer mine = NetFixtures.page(theirs, theirs, NS, 5000);
      region.copyIn(at, mine.duplicate());
      assertEquals(ErrorCode.NAMESPACE_DENIED, putStatus(raw, 10, at, mine.remaining()));
      // Their namespace in a valid header: never stored from our connection.
      ByteBuffer forged = NetFixtures.page(72, 72, NS + 1, 5000);
      region.copyIn(at, forged.duplicate());
      assertEquals(ErrorCode.NAMESPACE_DENIED, putStatus(raw, 11, at, forged.remaining()));
      // A header rewritten without its CRC (another namespace): a checksum error.
      ByteBuffer tampered = NetFixtures.page(73, 73, NS, 5000);
      PageFormat.putLongLE(tampered, PageFormat.NAMESPACE_ID_OFFSET, NS + 1);
      region.copyIn(at, tampered.duplicate());
      assertEquals(ErrorCode.BAD_CHECKSUM, putStatus(raw, 12, at, tampered.remaining()));
      assertEquals(-1, store.length(72, 72));
      assertEquals(-1, store.length(73, 73));
      ByteBuffer back = ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE);
      assertEquals(held.remaining(), store.get(theirs, theirs, back));
      assertArrayEquals(NetFixtures.bytes(held), NetFixtures.bytes(back.flip()),
          "the other namespace's page is untouched");
    }
  }

  /**
   * A client that truncates its own region file under the daemon's mapping: the daemon's next read
   * of its PUT area faults (SIGBUS). That page gets SHM_UNAVAILABLE, the region is withdrawn (PUTs
   * refused, GET pages inline), and the daemon, its store threads and every stored page carry on.
   */
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
      assertEquals(ErrorCode.OK, putStatus(raw, 4, at, first.remaining()),
          "stored through the region");

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
          assertEquals(ErrorCode.SHM_UNAVAILABLE, putStatus(raw, id, at, second.remaining()),
              "refused");
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
