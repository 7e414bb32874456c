package io.kvstore.server.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.KvStoreClient;
import io.kvstore.client.PageViews;
import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.core.store.TieredStore;
import io.kvstore.core.tier.PinnedPage;
import io.kvstore.server.net.KvStoreNetworkServer;
import io.kvstore.server.net.NetFixtures;
import io.kvstore.server.net.StoreOps;
import io.kvstore.server.shm.ShmManager;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GET through page views ({@link KvStoreClient#getViews}, spec/4 §4.3) against a daemon in this
 * JVM: views read in place byte for byte under concurrent readers and writers, held views fill the
 * GET area and the daemon falls back to inline pages without an error, a released view reads
 * nothing (not the page that reuses its units), release twice is harmless, views over TCP, and
 * every lease back (the daemon's lease gauge at 0) once views or the client are closed; a page
 * corrupted between the tier and the region is an error for its key, its lease back at once.
 */
class SharedMemoryViewE2ETest {

  private static final long NS = 0x5EED_0000_0000_0002L;

  @TempDir Path dir;
  @TempDir Path shmDir;
  private TieredStore store;
  private KvStoreNetworkServer server;

  private void start(long regionBytes) throws Exception {
    store = NetFixtures.smallStore(dir).build();
    start(regionBytes, StoreOps.of(store));
  }

  private void start(long regionBytes, StoreOps ops) throws Exception {
    if (store == null) {
      store = NetFixtures.smallStore(dir).build();
    }
    server = new KvStoreNetworkServer(NetFixtures.config().shmDir(shmDir.resolve("regions"))
        .shmRegionBytes(regionBytes).shmTotalBytes(1L << 30).build(), ops,
        NetFixtures.metrics());
    server.start();
  }

  /**
   * The store's operations, except that the page of {@code (hi, lo)} is served from memory with
   * its last payload byte flipped (a fault between the tier and the region). A proxy, so that it
   * forwards whatever {@link StoreOps} declares.
   */
  private static StoreOps corrupting(StoreOps real, long hi, long lo) {
    return (StoreOps) Proxy.newProxyInstance(StoreOps.class.getClassLoader(),
        new Class<?>[] {StoreOps.class}, (proxy, method, args) -> {
          Object result;
          try {
            result = method.invoke(real, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
          if (method.getName().equals("pinIfInMemory") && result != null
              && (long) args[0] == hi && (long) args[1] == lo) {
            return FlippedPins.flippedCopy((PinnedPage) result);
          }
          return result;
        });
  }

  private KvStoreClient client(boolean sharedMemory, int connections) throws Exception {
    KvStoreClient client = KvStoreClient.builder().address("127.0.0.1", server.port())
        .namespaceId(NS).connections(connections).sharedMemory(sharedMemory)
        // The pipelined path, whose leases go back at once; CallerDrivenSharedMemoryE2ETest covers
        // blocking calls on caller-driven connections (leases back with the next request).
        .callerDrivenIo(false)
        .requestTimeout(Duration.ofSeconds(30)).build();
    if (sharedMemory) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (client.sharedMemoryConnections() < connections && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertEquals(connections, client.sharedMemoryConnections(), "regions attached");
    }
    return client;
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

  private static int size(long writer, long i) {
    return 1024 + (int) ((i * 91_171 + writer * 7_919) % (1 << 20));
  }

  private static void assertPage(ByteBuffer expected, ByteBuffer view, String what) {
    assertTrue(view.isReadOnly(), "views are read-only");
    assertEquals(0, view.position());
    byte[] got = new byte[view.remaining()];
    view.duplicate().get(got);
    assertArrayEquals(NetFixtures.bytes(expected), got, what);
  }

  /** The keys (writer, 0) to (writer, pages - 1), as {hi, lo} pairs. */
  private static long[] keysOf(int writer, int pages) {
    long[] keys = new long[2 * pages];
    for (int i = 0; i < pages; i++) {
      keys[2 * i] = writer;
      keys[2 * i + 1] = i;
    }
    return keys;
  }

  @Test
  void shouldViewEveryByteInPlaceWithConcurrentReadersAndWriters() throws Exception {
    start(16L << 20);
    ShmManager shm = server.sharedMemory();
    int writers = 3;
    int pages = 10;
    try (KvStoreClient client = client(true, 2)) {
      ExecutorService pool = Executors.newFixedThreadPool(2 * writers);
      try {
        List<Future<Integer>> work = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
          int writer = w;
          work.add(pool.submit(() -> {
            for (int round = 0; round < 2; round++) {
              for (int i = 0; i < pages; i++) {
                // written twice: round 1 rewrites each page while readers view it
                ByteBuffer page = NetFixtures.page(writer, i, NS, size(writer, i));
                assertEquals(1, client.put(new ByteBuffer[] {page}).stored());
              }
            }
            return 0;
          }));
          work.add(pool.submit(() -> {
            int inRegion = 0;
            for (int round = 0; round < 4; round++) {
              try (PageViews views = client.getViews(keysOf(writer, pages))) {
                for (int i = 0; i < pages; i++) {
                  assertEquals(ErrorCode.OK, views.error(i), "no page refused");
                  if (views.isHit(i)) {
                    assertPage(NetFixtures.page(writer, i, NS, size(writer, i)), views.page(i),
                        "page " + writer + "/" + i);
                    inRegion += views.inRegion(i) ? 1 : 0;
                  }
                }
              }
            }
            return inRegion;
          }));
        }
        int inRegion = 0;
        for (Future<Integer> f : work) {
          inRegion += f.get(120, TimeUnit.SECONDS);
        }
        // The readers may have run before the writers' pages landed (a loaded host, seen once in
        // the full suite): every page is there now, read once more.
        for (int w = 0; w < writers; w++) {
          try (PageViews views = client.getViews(keysOf(w, pages))) {
            for (int i = 0; i < pages; i++) {
              assertTrue(views.isHit(i), "page " + w + "/" + i + " is stored");
              assertPage(NetFixtures.page(w, i, NS, size(w, i)), views.page(i),
                  "page " + w + "/" + i);
              inRegion += views.inRegion(i) ? 1 : 0;
            }
          }
        }
        assertTrue(inRegion > 0, "views were read in the region");
      } finally {
        pool.shutdownNow();
      }
      awaitLeases(shm, 0);
      assertTrue(shm.pagesOut() > 0);
    }
  }

  @Test
  void shouldFallBackToInlinePagesWhileHeldViewsFillTheGetArea() throws Exception {
    start(8L << 20); // GET area of 4 MiB - 4 KiB: three 1 MiB pages fit, the fourth does not
    ShmManager shm = server.sharedMemory();
    int big = 1 << 20;
    try (KvStoreClient client = client(true, 1)) {
      for (int k = 0; k < 8; k++) {
        assertEquals(1, client.put(new ByteBuffer[] {NetFixtures.page(70, k, NS, big)}).stored());
      }
      List<PageViews> held = new ArrayList<>();
      int inRegion = 0;
      for (int k = 0; k < 8; k++) {
        PageViews v = client.getViews(new long[] {70, k});
        held.add(v);
        assertEquals(1, v.found(), "a full GET area never fails a GET");
        assertPage(NetFixtures.page(70, k, NS, big), v.page(0), "page " + k);
        inRegion += v.inRegion(0) ? 1 : 0;
      }
      assertEquals(3, inRegion, "the GET area holds three of the held pages");
      assertEquals(3, shm.leases(), "the held views keep their leases");
      assertEquals(5, shm.pagesInline(), "the rest came inline over the socket");
      for (PageViews v : held) {
        v.close();
      }
      awaitLeases(shm, 0);
      try (PageViews v = client.getViews(new long[] {70, 0})) {
        assertTrue(v.inRegion(0), "released room is leased again");
      }
    }
  }

  @Test
  void shouldMakeAReleasedViewUnreadableAndIgnoreASecondRelease() throws Exception {
    start(8L << 20);
    ShmManager shm = server.sharedMemory();
    try (KvStoreClient client = client(true, 1)) {
      ByteBuffer a = NetFixtures.page(80, 1, NS, 1 << 20); // three fit the GET area
      ByteBuffer b = NetFixtures.page(80, 2, NS, 1 << 20);
      client.put(new ByteBuffer[] {a, b});
      PageViews first = client.getViews(new long[] {80, 1});
      ByteBuffer stale = first.page(0);
      assertTrue(first.inRegion(0));
      first.close();
      first.close(); // harmless: nothing is released twice
      awaitLeases(shm, 0);
      // The next GET may lease the same units; the stale view must not show its bytes.
      try (PageViews second = client.getViews(new long[] {80, 2})) {
        assertPage(b, second.page(0), "the new page");
        assertEquals(0, stale.remaining(), "a released view has no bytes");
        assertThrows(IndexOutOfBoundsException.class, () -> stale.get(0));
        assertThrows(IndexOutOfBoundsException.class, () -> stale.getLong(8));
        assertThrows(IllegalStateException.class, () -> first.page(0));
      }
      // Views closed one GET after another: the region never fills (each close gives its lease
      // back before the next GET is read), so no page has to come inline.
      for (int round = 0; round < 50; round++) {
        try (PageViews v = client.getViews(new long[] {80, 1 + (round & 1)})) {
          assertTrue(v.inRegion(0), "round " + round);
          assertPage(round % 2 == 0 ? a : b, v.page(0), "round " + round);
        }
      }
      awaitLeases(shm, 0);
      assertEquals(0, shm.pagesInline(), "no lease leaked: every page found room in the region");
    }
  }

  @Test
  void shouldReleaseEveryLeaseWhenTheClientCloses() throws Exception {
    start(16L << 20);
    ShmManager shm = server.sharedMemory();
    KvStoreClient client = client(true, 2);
    List<PageViews> held = new ArrayList<>();
    try {
      for (int k = 0; k < 6; k++) {
        client.put(new ByteBuffer[] {NetFixtures.page(90, k, NS, 200_000)});
      }
      for (int k = 0; k < 6; k++) {
        held.add(client.getViews(new long[] {90, k, 90, 99})); // a hit and a miss
        assertNull(held.get(k).page(1), "a miss has no view");
      }
      awaitLeases(shm, 6);
    } finally {
      client.close();
    }
    for (PageViews v : held) {
      assertTrue(v.isClosed(), "client.close() closes every result");
      assertThrows(IllegalStateException.class, () -> v.page(0));
    }
    awaitLeases(shm, 0);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (shm.regions() != 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(0, shm.regions());
  }

  @Test
  void shouldRefuseAPageCorruptedInTheRegionAndGiveItsLeaseBackAtOnce() throws Exception {
    store = NetFixtures.smallStore(dir).build();
    start(16L << 20, corrupting(StoreOps.of(store), 91, 1));
    ShmManager shm = server.sharedMemory();
    try (KvStoreClient client = client(true, 1)) {
      ByteBuffer good = NetFixtures.page(91, 2, NS, 300_000);
      client.put(new ByteBuffer[] {NetFixtures.page(91, 1, NS, 300_000), good});
      try (PageViews v = client.getViews(new long[] {91, 1, 91, 2})) {
        assertEquals(ErrorCode.BAD_CHECKSUM, v.error(0), "the corrupted page is an error");
        assertNull(v.page(0), "and no bytes");
        assertFalse(v.isHit(0));
        assertTrue(v.inRegion(1));
        assertPage(good, v.page(1), "the other page is served");
        assertEquals(2, shm.pagesOut(), "both pages came through the region");
        awaitLeases(shm, 1); // the refused page's lease went back with its read
      }
      awaitLeases(shm, 0);
    }
  }

  @Test
  void shouldViewPagesOverTcpWhenTheClientOptsOut() throws Exception {
    start(16L << 20);
    try (KvStoreClient client = client(false, 1)) {
      ByteBuffer small = NetFixtures.page(60, 1, NS, 4_000);
      ByteBuffer large = NetFixtures.page(60, 2, NS, 2 << 20); // a frame from the SDK's pool
      client.put(new ByteBuffer[] {small, large});
      try (PageViews v = client.getViews(new long[] {60, 1, 60, 3, 60, 2}, false)) {
        assertEquals(2, v.found());
        assertFalse(v.inRegion(0));
        assertFalse(v.inRegion(2));
        assertPage(small, v.page(0), "small page over TCP");
        assertPage(large, v.page(2), "2 MiB page over TCP");
        assertNull(v.page(1));
        assertEquals(1, v.leadingRun());
      }
      try (PageViews v = client.getViews(new long[] {60, 1, 60, 3, 60, 2}, true)) {
        assertEquals(1, v.found(), "prefix: stops at the first miss");
      }
      assertEquals(0, server.sharedMemory().pagesOut());
    }
  }

  private static void awaitLeases(ShmManager shm, long expected) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (shm.leases() != expected && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(expected, shm.leases(), "leases held in the daemon");
  }
}
