package io.kvstore.server.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.GetResult;
import io.kvstore.client.KvStoreClient;
import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.client.shm.ClientRegion;
import io.kvstore.client.shm.RegionLayout;
import io.kvstore.client.shm.ShmFrames;
import io.kvstore.core.store.TieredStore;
import io.kvstore.server.net.KvStoreNetworkServer;
import io.kvstore.server.net.NetFixtures;
import io.kvstore.server.shm.ShmManager;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shared memory against a hostile or dying client ({@code spec/4-shared-memory.md} §4.3–4.5):
 * forged descriptors get BAD_DESCRIPTOR and change nothing, a wrong nonce withdraws the region, a
 * SIGKILLed client's leases and file are reclaimed, a restarted daemon removes a dead run's files
 * and a connected SDK renegotiates.
 */
class SharedMemorySafetyE2ETest {

  private static final long NS = 0x5AFE_0000_0000_0002L;
  private static final int PAYLOAD = 100_000;

  @TempDir Path dir;
  @TempDir Path shmRoot;
  private Path shmDir;
  private TieredStore store;
  private KvStoreNetworkServer server;

  @BeforeEach
  void start() throws Exception {
    shmDir = shmRoot.resolve("regions");
    store = NetFixtures.smallStore(dir).build();
    startServer(0);
  }

  private void startServer(int port) throws Exception {
    server = new KvStoreNetworkServer(NetFixtures.config().port(port).shmDir(shmDir)
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

  private long regionFiles() throws Exception {
    try (Stream<Path> files = Files.list(shmDir)) {
      return files.filter(p -> p.toString().endsWith(".region")).count();
    }
  }

  private ByteBuffer putOverTcp(RawClient raw, long requestId, long key) throws Exception {
    ByteBuffer page = NetFixtures.page(key, key, NS, PAYLOAD);
    raw.put(requestId, page);
    RawClient.Frame ok = raw.read();
    assertEquals(Opcode.PUT_OK, ok.opcode(), ok.toString());
    assertEquals(0, ok.bodyShort(8), "stored");
    return page;
  }

  @Test
  void shouldAnswerAQuietReleaseOnlyWhenItRefusesADescriptor() throws Exception {
    try (RawClient a = new RawClient(server.port())) {
      RawClient.Frame hello = a.hello(1, 1, 2, NS, "");
      assertEquals(Opcode.HELLO_OK, hello.opcode(), hello.toString());
      assertEquals(2, hello.bodyShort(0), "the newest version both speak");
      ShmRaw.attach(a, 2);
      putOverTcp(a, 4, 43);
      a.keyBatch(Opcode.GET, Opcode.FLAG_GET_SHM, 5, 0, 43, 43);
      RawClient.Frame first = a.read();
      assertEquals(Opcode.GET_PAGE, first.opcode(), first.toString());
      assertEquals(Opcode.GET_DONE, a.read().opcode());
      assertEquals(1, server.sharedMemory().leases());

      // Released quietly: no answer; the next frame on the stream is the PING's.
      ShmRaw.releaseQuietly(a, 6, ShmRaw.offset(first), ShmRaw.length(first),
          ShmRaw.generation(first));
      a.pingPong(7);
      assertEquals(0, server.sharedMemory().leases(), "released");

      // A quiet release that names no live lease is still answered, with the refusal.
      ShmRaw.releaseQuietly(a, 8, ShmRaw.offset(first), ShmRaw.length(first),
          ShmRaw.generation(first));
      RawClient.Frame refused = a.read();
      assertEquals(Opcode.ERROR, refused.opcode(), refused.toString());
      assertEquals(8, refused.requestId());
      assertEquals(ErrorCode.BAD_DESCRIPTOR, refused.errorCode(), refused.toString());

      // The answered form still works on the same connection.
      a.keyBatch(Opcode.GET, Opcode.FLAG_GET_SHM, 9, 0, 43, 43);
      RawClient.Frame second = a.read();
      assertEquals(Opcode.GET_DONE, a.read().opcode());
      RawClient.Frame ok = ShmRaw.release(a, 10, ShmRaw.offset(second), ShmRaw.length(second),
          ShmRaw.generation(second));
      assertEquals(Opcode.SHM_RELEASE_OK, ok.opcode(), ok.toString());
      assertEquals(0, server.sharedMemory().leases());
    }
  }

  @Test
  void shouldRefuseTheQuietFlagOnAVersion1ConnectionAndKeepTheLease() throws Exception {
    try (RawClient a = new RawClient(server.port())) {
      RawClient.Frame hello = a.hello(1, 1, 1, NS, "");
      assertEquals(1, hello.bodyShort(0), "version 1 chosen");
      ShmRaw.attach(a, 2);
      putOverTcp(a, 4, 44);
      a.keyBatch(Opcode.GET, Opcode.FLAG_GET_SHM, 5, 0, 44, 44);
      RawClient.Frame page = a.read();
      assertEquals(Opcode.GET_PAGE, page.opcode(), page.toString());
      assertEquals(Opcode.GET_DONE, a.read().opcode());

      // Version 1 has no QUIET flag: refused as a version 1 daemon would, the lease still held.
      ShmRaw.releaseQuietly(a, 6, ShmRaw.offset(page), ShmRaw.length(page),
          ShmRaw.generation(page));
      RawClient.Frame refused = a.read();
      assertEquals(Opcode.ERROR, refused.opcode(), refused.toString());
      assertEquals(6, refused.requestId());
      assertEquals(ErrorCode.MALFORMED_FRAME, refused.errorCode(), refused.toString());
      assertEquals(1, server.sharedMemory().leases(), "nothing released");

      // The connection goes on; the answered release frees the lease.
      RawClient.Frame ok = ShmRaw.release(a, 7, ShmRaw.offset(page), ShmRaw.length(page),
          ShmRaw.generation(page));
      assertEquals(Opcode.SHM_RELEASE_OK, ok.opcode(), ok.toString());
      assertEquals(0, server.sharedMemory().leases());
    }
  }

  @Test
  void shouldRefuseForgedReleaseDescriptorsAndHarmNothing() throws Exception {
    try (RawClient a = new RawClient(server.port()); RawClient b = new RawClient(server.port())) {
      a.hello(1, 1, 1, NS, "");
      b.hello(1, 1, 1, NS, "");
      ClientRegion regionA = ShmRaw.attach(a, 2);
      ShmRaw.attach(b, 2);
      ByteBuffer page = putOverTcp(a, 4, 42);

      a.keyBatch(Opcode.GET, Opcode.FLAG_GET_SHM, 5, 0, 42, 42);
      RawClient.Frame p = a.read();
      assertEquals(Opcode.GET_PAGE, p.opcode(), p.toString());
      assertEquals(ShmFrames.GET_PAGE_SHM_LENGTH - 16, p.body().length, "a descriptor, not a page");
      assertEquals(Opcode.GET_DONE, a.read().opcode());
      long off = ShmRaw.offset(p);
      int len = ShmRaw.length(p);
      int gen = ShmRaw.generation(p);
      assertEquals(page.remaining(), len);
      ByteBuffer copy = ByteBuffer.allocate(len);
      regionA.copyOut(off, len, copy, 0);
      assertArrayEquals(NetFixtures.bytes(page), copy.array(), "the page, copied once into the region");

      long id = 10;
      // Out of the region, inside it but not at a lease, a wrong length, an older generation,
      // in the PUT area, and B naming A's lease (B's table holds no such lease): all refused.
      long[][] forged = {
          {1L << 40, len, gen}, {-4096, len, gen}, {off + RegionLayout.UNIT, len, gen},
          {off, len + 1, gen}, {off, len, gen - 1}, {off + regionA.areaLength(), len, gen}};
      for (long[] d : forged) {
        RawClient.Frame e = ShmRaw.release(a, id++, d[0], d[1], (int) d[2]);
        assertEquals(Opcode.ERROR, e.opcode(), Arrays.toString(d));
        assertEquals(ErrorCode.BAD_DESCRIPTOR, e.errorCode(), e.toString());
      }
      RawClient.Frame other = ShmRaw.release(b, id++, off, len, gen);
      assertEquals(ErrorCode.BAD_DESCRIPTOR, other.errorCode(), "another connection's lease");

      // The real lease is still A's: released once, then stale.
      RawClient.Frame ok = ShmRaw.release(a, id++, off, len, gen);
      assertEquals(Opcode.SHM_RELEASE_OK, ok.opcode(), ok.toString());
      assertEquals(1, ok.bodyInt(4));
      RawClient.Frame again = ShmRaw.release(a, id++, off, len, gen);
      assertEquals(ErrorCode.BAD_DESCRIPTOR, again.errorCode(), "released twice");

      // The stored page is untouched, and both connections still serve.
      a.keyBatch(Opcode.GET, 0, id++, 0, 42, 42);
      RawClient.Frame inline = a.read();
      assertEquals(Opcode.GET_PAGE, inline.opcode());
      assertArrayEquals(NetFixtures.bytes(page),
          Arrays.copyOfRange(inline.body(), 8, inline.body().length));
      assertEquals(Opcode.GET_DONE, a.read().opcode());
      b.pingPong(id++);
    }
  }

  @Test
  void shouldSendAPageInlineWhenTheClientHoldsTheWholeGetArea() throws Exception {
    int big = 2 << 20; // 513 units each; the 8 MiB region's GET area has 1,023
    try (RawClient a = new RawClient(server.port())) {
      a.hello(1, 1, 1, NS, "");
      ShmRaw.attach(a, 2);
      ByteBuffer p0 = NetFixtures.page(50, 50, NS, big);
      ByteBuffer p1 = NetFixtures.page(51, 51, NS, big);
      a.put(4, p0);
      assertEquals(Opcode.PUT_OK, a.read().opcode());
      a.put(5, p1);
      assertEquals(Opcode.PUT_OK, a.read().opcode());
      a.keyBatch(Opcode.GET, Opcode.FLAG_GET_SHM, 6, 0, 50, 50, 51, 51);
      List<RawClient.Frame> pages = new ArrayList<>();
      for (RawClient.Frame f = a.read(); f.opcode() != Opcode.GET_DONE; f = a.read()) {
        pages.add(f);
      }
      assertEquals(2, pages.size());
      int viaRegion = 0;
      int inline = 0;
      for (RawClient.Frame f : pages) {
        if (f.body().length == ShmFrames.GET_PAGE_SHM_LENGTH - 16) {
          viaRegion++;
        } else {
          inline++;
          byte[] expected = NetFixtures.bytes(f.bodyInt(0) == 0 ? p0 : p1);
          assertArrayEquals(expected, Arrays.copyOfRange(f.body(), 8, f.body().length));
        }
      }
      assertEquals(1, viaRegion, "the first page leased the GET area");
      assertEquals(1, inline, "the second came over TCP instead of waiting for room");
      assertEquals(1, server.sharedMemory().pagesInline());
    }
  }

  @Test
  void shouldFailForgedPutDescriptorsPerPage() throws Exception {
    try (RawClient a = new RawClient(server.port())) {
      a.hello(1, 1, 1, NS, "");
      ClientRegion region = ShmRaw.attach(a, 2);
      long putArea = RegionLayout.HEADER_LENGTH + region.areaLength();
      ByteBuffer good = NetFixtures.page(1, 1, NS, PAYLOAD);
      ByteBuffer foreign = NetFixtures.page(2, 2, NS + 1, 1000);
      ByteBuffer corrupt = NetFixtures.page(3, 3, NS, 1000);
      corrupt.put(200, (byte) (corrupt.get(200) ^ 1));
      long goodAt = putArea;
      long foreignAt = putArea + 32 * RegionLayout.UNIT;
      long corruptAt = putArea + 40 * RegionLayout.UNIT;
      region.copyIn(goodAt, good);
      region.copyIn(foreignAt, foreign);
      region.copyIn(corruptAt, corrupt);
      long[] offsets = {
          goodAt, goodAt + RegionLayout.UNIT /* overlaps the previous */, foreignAt, corruptAt,
          RegionLayout.HEADER_LENGTH /* the GET area */, putArea + region.areaLength() - 10 /* past the end */};
      int[] lengths = {good.remaining(), 1064, foreign.remaining(), corrupt.remaining(), 1064, 1064};
      a.send(ShmFrames.encodePut(UnpooledByteBufAllocator.DEFAULT, 4, offsets, lengths, 0, 6));
      RawClient.Frame ok = a.read();
      assertEquals(Opcode.PUT_OK, ok.opcode(), ok.toString());
      int[] statuses = new int[6];
      for (int i = 0; i < 6; i++) {
        statuses[i] = ok.bodyShort(8 + 2 * i);
      }
      assertArrayEquals(new int[] {ErrorCode.OK, ErrorCode.BAD_DESCRIPTOR, ErrorCode.NAMESPACE_DENIED,
          ErrorCode.BAD_CHECKSUM, ErrorCode.BAD_DESCRIPTOR, ErrorCode.BAD_DESCRIPTOR}, statuses);
      assertEquals(1, ok.bodyInt(4), "one page stored");
      assertEquals(-1, store.length(2, 2), "another namespace's page is not stored");
      assertEquals(-1, store.length(3, 3), "a corrupt page is not stored");
      ByteBuffer back = ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE);
      assertEquals(good.remaining(), store.get(1, 1, back));
      assertArrayEquals(NetFixtures.bytes(good), NetFixtures.bytes(back.flip()));
    }
  }

  @Test
  void shouldWithdrawTheRegionOnAWrongNonce() throws Exception {
    try (RawClient a = new RawClient(server.port())) {
      a.hello(1, 1, 1, NS, "");
      ShmRaw.Offer offer = ShmRaw.open(a, 2);
      assertTrue(Files.exists(offer.path()));
      assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
          Files.getPosixFilePermissions(offer.path())), "only the daemon's user can read it");
      assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(
          Files.getPosixFilePermissions(shmDir)));
      a.send(ShmFrames.encodeAttach(UnpooledByteBufAllocator.DEFAULT, 3, new byte[16]));
      RawClient.Frame refused = a.read();
      assertEquals(ErrorCode.SHM_REFUSED, refused.errorCode(), refused.toString());
      assertFalse(Files.exists(offer.path()), "the region is unlinked");
      assertEquals(0, server.sharedMemory().regions());
      putOverTcp(a, 4, 5);
      a.keyBatch(Opcode.GET, Opcode.FLAG_GET_SHM, 5, 0, 5, 5);
      assertEquals(ErrorCode.SHM_UNAVAILABLE, a.read().errorCode(), "no region: use TCP");
      a.keyBatch(Opcode.GET, 0, 6, 0, 5, 5);
      assertEquals(Opcode.GET_PAGE, a.read().opcode());
      assertEquals(Opcode.GET_DONE, a.read().opcode());
    }
  }

  @Test
  void shouldReclaimTheLeasesAndFileOfASigkilledClient() throws Exception {
    try (RawClient a = new RawClient(server.port())) {
      a.hello(1, 1, 1, NS, "");
      for (int i = 0; i < 4; i++) {
        putOverTcp(a, 10 + i, i);
      }
    }
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(List.of("-Xmx64m", "-cp", System.getProperty("java.class.path"),
        ShmLeaseHolderMain.class.getName(), Integer.toString(server.port()), Long.toString(NS), "4"));
    Process holder = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try {
      BufferedReader out = new BufferedReader(
          new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
      String line;
      while ((line = out.readLine()) != null && !line.startsWith("HOLDING")) {
        // skip the JVM's own lines
      }
      assertEquals("HOLDING 4", line, "the forked client holds four leases");
      ShmManager shm = server.sharedMemory();
      assertEquals(1, shm.regions());
      assertEquals(1, regionFiles());
      holder.destroyForcibly(); // SIGKILL: no goodbye, the kernel closes the socket
      assertTrue(holder.waitFor(30, TimeUnit.SECONDS));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while ((shm.regions() != 0 || regionFiles() != 0) && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertEquals(0, shm.regions(), "the region is closed, its leases dropped");
      assertEquals(0, shm.usedBytes());
      assertEquals(0, regionFiles(), "its file is unlinked");
    } finally {
      holder.destroyForcibly();
    }
    try (KvStoreClient client = KvStoreClient.builder().address("127.0.0.1", server.port())
        .namespaceId(NS).connections(1).build()) {
      ByteBuffer dst = ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE);
      GetResult got = client.get(new long[] {3, 3}, new ByteBuffer[] {dst});
      assertEquals(1, got.found(), "the daemon keeps serving");
      assertArrayEquals(NetFixtures.bytes(NetFixtures.page(3, 3, NS, PAYLOAD)),
          NetFixtures.bytes(dst, got.length(0)));
    }
  }

  @Test
  void shouldRenegotiateAfterADaemonRestartAndRemoveADeadRunsFiles() throws Exception {
    int port = server.port();
    // The pipelined connection renegotiates in the background (the caller-driven ones negotiate
    // when they open: CallerDrivenSharedMemoryE2ETest).
    try (KvStoreClient client = KvStoreClient.builder().address("127.0.0.1", port).namespaceId(NS)
        .connections(1).callerDrivenIo(false).requestTimeout(Duration.ofSeconds(20)).build()) {
      long attachBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (client.sharedMemoryConnections() == 0 && System.nanoTime() < attachBy) {
        Thread.sleep(10);
      }
      ByteBuffer page = NetFixtures.page(7, 7, NS, PAYLOAD);
      assertEquals(1, client.put(new ByteBuffer[] {page}).stored());
      assertEquals(1, server.sharedMemory().pagesIn());
      // A dead run's leftovers: a lock nobody holds and its region file.
      Files.writeString(shmDir.resolve("deadbeef0000.lock"), "");
      Files.writeString(shmDir.resolve("deadbeef0000-1.region"), "stale");
      server.shutdownGracefully(Duration.ofSeconds(5));
      startServer(port);
      assertFalse(Files.exists(shmDir.resolve("deadbeef0000-1.region")), "removed at start");
      ByteBuffer dst = ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE);
      GetResult got = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (System.nanoTime() < deadline) {
        try {
          dst.clear();
          got = client.get(new long[] {7, 7}, new ByteBuffer[] {dst});
          if (server.sharedMemory().pagesOut() > 0) {
            break;
          }
        } catch (RuntimeException reconnecting) {
          Thread.sleep(50);
        }
      }
      assertTrue(got != null && got.found() == 1, "served after the restart");
      assertArrayEquals(NetFixtures.bytes(page), NetFixtures.bytes(dst, got.length(0)));
      assertEquals(1, server.sharedMemory().regions(), "the reconnected client attached anew");
      assertTrue(server.sharedMemory().pagesOut() > 0, "and gets pages through it");
    }
  }
}
