package io.kvstore.server.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.protocol.Opcode;
import io.kvstore.core.store.TieredStore;
import io.kvstore.server.net.FaultyStore;
import io.kvstore.server.net.KvStoreNetworkServer;
import io.kvstore.server.net.NetFixtures;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A GET through shared memory sends each large page's descriptor while the daemon is still copying
 * the next pages, not all of them with GET_DONE, so the client checks a page while the daemon
 * copies the next (spec/4 §4.3). The daemon is held inside the GET, at the pin of the second key,
 * by the store it serves from; the client must by then have the first page's descriptor.
 */
class SharedMemoryGetFlushE2ETest {

  private static final long NS = 0x5AFE_0000_0000_0003L;
  /** Larger than the bytes after which the event loop flushes the region pages it has copied. */
  private static final int PAYLOAD = 300_000;

  @TempDir Path dir;
  @TempDir Path shmRoot;
  private TieredStore store;
  private FaultyStore faulty;
  private KvStoreNetworkServer server;
  private final CountDownLatch paused = new CountDownLatch(1);
  private final CountDownLatch resume = new CountDownLatch(1);

  @BeforeEach
  void start() throws Exception {
    store = NetFixtures.smallStore(dir).build();
    faulty = new FaultyStore(store);
    server = new KvStoreNetworkServer(NetFixtures.config().shmDir(shmRoot.resolve("regions"))
        .shmRegionBytes(8L << 20).build(), faulty, NetFixtures.metrics());
    server.start();
  }

  @AfterEach
  void stop() {
    resume.countDown(); // never leave the event loop waiting
    if (server != null) {
      server.shutdownGracefully(Duration.ofSeconds(5));
    }
    if (store != null) {
      store.close();
    }
  }

  /** HELLO, a region attached, and pages 1..3 stored over TCP. */
  private RawClient connectAndPut() throws Exception {
    RawClient raw = new RawClient(server.port());
    assertEquals(Opcode.HELLO_OK, raw.hello(1, 1, 2, NS, "").opcode());
    ShmRaw.attach(raw, 2);
    for (long k = 1; k <= 3; k++) {
      ByteBuffer page = NetFixtures.page(k, k, NS, PAYLOAD);
      raw.put(10 + k, page);
      RawClient.Frame ok = raw.read();
      assertEquals(Opcode.PUT_OK, ok.opcode(), ok.toString());
      assertEquals(0, ok.bodyShort(8), "stored");
    }
    return raw;
  }

  @Test
  void shouldSendALargePagesDescriptorBeforeCopyingTheNextPage() throws Exception {
    try (RawClient raw = connectAndPut()) {
      faulty.pausePinIfInMemory(2, paused, resume);

      raw.keyBatch(Opcode.GET, Opcode.FLAG_GET_SHM, 20, 0, 1, 1, 2, 2, 3, 3);
      assertTrue(paused.await(10, TimeUnit.SECONDS), "the daemon reached the second key");
      // The daemon waits inside the GET: what arrives now was flushed before the second page.
      raw.timeoutMillis(10_000);
      RawClient.Frame first = raw.read();
      assertEquals(Opcode.GET_PAGE, first.opcode(), first.toString());
      assertEquals(20, first.requestId());
      assertEquals(NetFixtures.page(1, 1, NS, PAYLOAD).capacity(), ShmRaw.length(first));

      resume.countDown();
      for (int i = 0; i < 2; i++) {
        RawClient.Frame f = raw.read();
        assertEquals(Opcode.GET_PAGE, f.opcode(), f.toString());
      }
      RawClient.Frame done = raw.read();
      assertEquals(Opcode.GET_DONE, done.opcode(), done.toString());
      assertEquals(0, faulty.pinnedNow(), "every page copied and unpinned");
    }
  }

  /**
   * The client goes away with the first page's lease in hand, while the daemon is in the middle of
   * the GET: the GET ends, no page stays pinned, and the connection's region and leases are
   * reclaimed.
   */
  @Test
  void shouldReclaimEverythingWhenTheClientLeavesMidGet() throws Exception {
    RawClient raw = connectAndPut();
    faulty.pausePinIfInMemory(2, paused, resume);
    raw.keyBatch(Opcode.GET, Opcode.FLAG_GET_SHM, 20, 0, 1, 1, 2, 2, 3, 3);
    assertTrue(paused.await(10, TimeUnit.SECONDS), "the daemon reached the second key");
    raw.timeoutMillis(10_000);
    assertEquals(Opcode.GET_PAGE, raw.read().opcode());
    assertEquals(1, server.sharedMemory().leases(), "the first page is leased to the client");
    raw.close();
    resume.countDown();

    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while ((server.sharedMemory().regions() != 0 || faulty.pinnedNow() != 0)
        && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(0, server.sharedMemory().regions(), "the region is closed");
    assertEquals(0, server.sharedMemory().leases(), "its leases dropped");
    assertEquals(0, faulty.pinnedNow(), "no page left pinned");

    // The daemon keeps serving: a new client reads all three pages.
    try (RawClient again = connectAndPut()) {
      again.keyBatch(Opcode.GET, Opcode.FLAG_GET_SHM, 30, 0, 1, 1, 2, 2, 3, 3);
      for (int i = 0; i < 3; i++) {
        RawClient.Frame f = again.read();
        assertEquals(Opcode.GET_PAGE, f.opcode(), f.toString());
      }
      assertEquals(Opcode.GET_DONE, again.read().opcode());
    }
  }
}
