package io.kvstore.server.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.GetResult;
import io.kvstore.client.KvStoreClient;
import io.kvstore.client.KvStoreException;
import io.kvstore.client.PageViews;
import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.common.TcpRelay;
import io.kvstore.core.store.TieredStore;
import io.kvstore.core.tier.PinnedPage;
import io.kvstore.server.metrics.ServerMetrics;
import io.kvstore.server.net.KvStoreNetworkServer;
import io.kvstore.server.net.NetFixtures;
import io.kvstore.server.net.StoreOps;
import io.kvstore.server.shm.ShmManager;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Blocking calls through shared memory on caller-driven connections (the calling thread sends the
 * GET, reads the descriptors, copies or lends the pages from its connection's own region, and
 * gives the leases back in front of its next request as quiet SHM_RELEASE frames), against a
 * daemon in this JVM: exact bytes, every lease back (after copies, after views are closed, after
 * a corrupted page, a timeout, an interrupted caller, a daemon that stops mid-call), and PUTs
 * through the region.
 */
class CallerDrivenSharedMemoryE2ETest {

  private static final long NS = 0x5EED_0000_0000_0003L;
  private static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(20);

  @TempDir Path dir;
  @TempDir Path shmDir;
  private TieredStore store;
  private KvStoreNetworkServer server;
  private final ServerMetrics metrics = NetFixtures.metrics();
  private final CountDownLatch gate = new CountDownLatch(1);
  private final AtomicInteger gatedCalls = new AtomicInteger();

  private void start(StoreOps ops) throws Exception {
    start(ops, FrameDescriptor.PROTOCOL_VERSION);
  }

  private void start(StoreOps ops, int protocolMaxVersion) throws Exception {
    server = new KvStoreNetworkServer(NetFixtures.config().shmDir(shmDir.resolve("regions"))
        .shmRegionBytes(16L << 20).shmTotalBytes(1L << 30).protocolMaxVersion(protocolMaxVersion)
        .build(), ops, metrics);
    server.start();
  }

  private void start() throws Exception {
    store = NetFixtures.smallStore(dir).build();
    start(StoreOps.of(store));
  }

  /**
   * The store, except that the page of {@code (hi, lo)} is not in memory for the event loop, and
   * its read on a store thread waits for {@link #gate}: a GET that holds it stalls there, after
   * the pages of the keys before it went out.
   */
  private StoreOps gated(long hi, long lo) {
    StoreOps real = StoreOps.of(store);
    return proxy(real, (method, args, result) -> {
      boolean gatedKey = args != null && args.length >= 2 && args[0] instanceof Long
          && (long) args[0] == hi && (long) args[1] == lo;
      if (gatedKey && method.equals("pinIfInMemory")) {
        if (result != null) {
          ((PinnedPage) result).close();
        }
        return null;
      }
      if (gatedKey && method.equals("getPinned")) {
        gatedCalls.incrementAndGet();
        gate.await(30, TimeUnit.SECONDS);
      }
      return result;
    }, hi, lo);
  }

  /** The store, except that the page of {@code (hi, lo)} comes out of memory with a byte flipped. */
  private StoreOps corrupting(long hi, long lo) {
    StoreOps real = StoreOps.of(store);
    return proxy(real, (method, args, result) -> {
      if (method.equals("pinIfInMemory") && result != null && (long) args[0] == hi
          && (long) args[1] == lo) {
        return FlippedPins.flippedCopy((PinnedPage) result);
      }
      return result;
    }, hi, lo);
  }

  @FunctionalInterface
  private interface After {
    Object apply(String method, Object[] args, Object result) throws Exception;
  }

  /** A proxy, so that it forwards whatever {@link StoreOps} declares. */
  private static StoreOps proxy(StoreOps real, After after, long hi, long lo) {
    return (StoreOps) Proxy.newProxyInstance(StoreOps.class.getClassLoader(),
        new Class<?>[] {StoreOps.class}, (p, method, args) -> {
          Object result;
          try {
            result = method.invoke(real, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
          return after.apply(method.getName(), args, result);
        });
  }

  private KvStoreClient client(Duration timeout, int retries) {
    return KvStoreClient.builder().address("127.0.0.1", server.port()).namespaceId(NS)
        .connections(1).sharedMemory(true).callerDrivenIo(true).requestTimeout(timeout)
        .maxRetries(retries).retryBackoff(Duration.ofMillis(1)).build();
  }

  private KvStoreClient client() {
    return client(Duration.ofSeconds(30), 2);
  }

  @AfterEach
  void stop() {
    gate.countDown();
    if (server != null) {
      server.shutdownGracefully(Duration.ofSeconds(5));
    }
    if (store != null) {
      store.close();
    }
  }

  private static void await(LongSupplier value, long expected, String what) throws Exception {
    long deadline = System.nanoTime() + WAIT_NANOS;
    while (value.getAsLong() != expected && System.nanoTime() - deadline < 0) {
      Thread.sleep(5);
    }
    assertEquals(expected, value.getAsLong(), what);
  }

  private long regionFiles() throws Exception {
    try (Stream<Path> files = Files.list(shmDir.resolve("regions"))) {
      return files.filter(p -> p.toString().endsWith(".region")).count();
    }
  }

  private static void putAll(KvStoreClient client, ByteBuffer... pages) {
    assertEquals(pages.length, client.put(pages).stored(), "stored");
  }

  @Test
  void shouldMovePagesThroughItsOwnRegionAndGiveLeasesBackWithTheNextRequest() throws Exception {
    start();
    ShmManager shm = server.sharedMemory();
    ByteBuffer small = NetFixtures.page(1, 1, NS, 64 << 10);
    ByteBuffer large = NetFixtures.page(1, 2, NS, 2 << 20);
    try (KvStoreClient client = client()) {
      long inBefore = shm.pagesIn();
      putAll(client, small, large);
      assertEquals(inBefore + 2, shm.pagesIn(), "the PUT's pages came through a region");
      long outBefore = shm.pagesOut();
      ByteBuffer dst = ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE);
      for (int round = 0; round < 20; round++) {
        dst.clear();
        GetResult one = client.get(new long[] {1, 1}, new ByteBuffer[] {dst});
        assertEquals(1, one.found());
        assertArrayEquals(NetFixtures.bytes(small), NetFixtures.bytes(dst, one.length(0)),
            "exact bytes, round " + round);
        assertTrue(shm.leases() <= 1, "each call gave back the lease of the one before: "
            + shm.leases());
      }
      ByteBuffer d1 = ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE);
      ByteBuffer d2 = ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE);
      GetResult both = client.get(new long[] {1, 1, 1, 2, 1, 3}, new ByteBuffer[] {d1, d2,
          ByteBuffer.allocate(64)});
      assertEquals(2, both.found());
      assertEquals(GetResult.MISS, both.length(2));
      assertArrayEquals(NetFixtures.bytes(small), NetFixtures.bytes(d1, both.length(0)));
      assertArrayEquals(NetFixtures.bytes(large), NetFixtures.bytes(d2, both.length(1)));
      assertEquals(outBefore + 22, shm.pagesOut(), "every page went through the region");
      assertEquals(0, shm.pagesInline(), "none inline");
      assertEquals(2, shm.leases(), "the last GET's leases wait for the next request");
      assertTrue(client.ping() >= 0);
      assertEquals(0, shm.leases(), "given back in front of the PING, without an answer");
      assertEquals(2, shm.regions(), "one region for the pipelined, one for the caller-driven");
    }
    await(shm::regions, 0, "regions gone with the client");
    assertEquals(0, regionFiles());
  }

  @Test
  void shouldReleaseWithoutTheQuietFlagToAVersion1Daemon() throws Exception {
    store = NetFixtures.smallStore(dir).build();
    start(StoreOps.of(store), 1); // answers as a daemon from before the QUIET flag would
    ShmManager shm = server.sharedMemory();
    ByteBuffer page = NetFixtures.page(9, 1, NS, 64 << 10);
    try (KvStoreClient client = client()) {
      assertEquals(1, client.serverLimits().version());
      putAll(client, page);
      long outBefore = shm.pagesOut();
      ByteBuffer dst = ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE);
      for (int round = 0; round < 20; round++) {
        dst.clear();
        GetResult one = client.get(new long[] {9, 1}, new ByteBuffer[] {dst});
        assertEquals(1, one.found(), "round " + round);
        assertArrayEquals(NetFixtures.bytes(page), NetFixtures.bytes(dst, one.length(0)));
        assertTrue(shm.leases() <= 1, "each call gave back the lease of the one before: "
            + shm.leases());
      }
      assertEquals(outBefore + 20, shm.pagesOut(), "still through shared memory");
      assertTrue(client.ping() >= 0);
      assertEquals(0, shm.leases(), "the answered releases went in front of the PING");
      assertEquals(0, metrics.errors("MALFORMED_FRAME"), "no QUIET flag was sent");
    }
    await(shm::regions, 0, "regions gone with the client");
  }

  @Test
  void shouldLendViewsOnTheCallingThreadAndGiveTheirLeasesBackAfterClose() throws Exception {
    start();
    ShmManager shm = server.sharedMemory();
    ByteBuffer a = NetFixtures.page(2, 1, NS, 64 << 10);
    ByteBuffer b = NetFixtures.page(2, 2, NS, 300_000);
    try (KvStoreClient client = client()) {
      putAll(client, a, b);
      PageViews views = client.getViews(new long[] {2, 1, 2, 2});
      assertEquals(2, views.leadingRun());
      assertEquals(2, shm.leases(), "held for the views");
      byte[] got = new byte[views.length(1)];
      views.page(1).duplicate().get(got);
      assertArrayEquals(NetFixtures.bytes(b), got);
      assertTrue(client.ping() >= 0);
      assertEquals(2, shm.leases(), "still lent: nothing goes back before the views close");
      // Closed on another thread while the connection is idle: sent with the next request.
      Thread closer = new Thread(views::close);
      closer.start();
      closer.join();
      assertThrows(IllegalStateException.class, () -> views.page(0));
      assertEquals(2, shm.leases());
      assertEquals(0, client.lookup(new long[] {9, 9}).runLength());
      assertEquals(0, shm.leases(), "given back in front of the LOOKUP");
      try (PageViews again = client.getViews(new long[] {2, 1})) {
        byte[] first = new byte[again.length(0)];
        again.page(0).duplicate().get(first);
        assertArrayEquals(NetFixtures.bytes(a), first);
      }
    }
    await(shm::leases, 0, "every lease back");
  }

  @Test
  void shouldCheckEveryPageFromTheRegionAndGiveBackTheLeaseOfOneThatFails() throws Exception {
    store = NetFixtures.smallStore(dir).build();
    start(corrupting(3, 2));
    ShmManager shm = server.sharedMemory();
    ByteBuffer good = NetFixtures.page(3, 1, NS, 64 << 10);
    ByteBuffer bad = NetFixtures.page(3, 2, NS, 64 << 10);
    try (KvStoreClient client = client()) {
      putAll(client, good, bad);
      ByteBuffer d1 = ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE);
      ByteBuffer d2 = ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE);
      GetResult got = client.get(new long[] {3, 1, 3, 2}, new ByteBuffer[] {d1, d2});
      assertEquals(1, got.found(), "the corrupted page is a miss");
      assertEquals(GetResult.MISS, got.length(1));
      assertArrayEquals(NetFixtures.bytes(good), NetFixtures.bytes(d1, got.length(0)));
      try (PageViews views = client.getViews(new long[] {3, 1, 3, 2})) {
        assertTrue(views.isHit(0));
        assertFalse(views.isHit(1));
        assertEquals(ErrorCode.BAD_CHECKSUM, views.error(1), "an error for its key, never a view");
        assertEquals(2, shm.leases(), "the view's lease, and the refused page's until the next"
            + " request (the first GET's two went back in front of this one)");
      }
      assertTrue(client.ping() >= 0);
      assertEquals(0, shm.leases(), "every lease back");
    }
  }

  @Test
  void shouldCloseATimedOutConnectionSoItsLeasesGoWithIt() throws Exception {
    store = NetFixtures.smallStore(dir).build();
    start(gated(4, 2));
    ShmManager shm = server.sharedMemory();
    try (KvStoreClient client = client(Duration.ofMillis(500), 0)) {
      putAll(client, NetFixtures.page(4, 1, NS, 64 << 10), NetFixtures.page(4, 2, NS, 64 << 10));
      ByteBuffer[] dsts = {ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE),
          ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE)};
      KvStoreException e = assertThrows(KvStoreException.class,
          () -> client.get(new long[] {4, 1, 4, 2}, dsts));
      assertEquals(ErrorCode.CLIENT_TIMEOUT, e.code(), e.getMessage());
      assertEquals(1, gatedCalls.get(), "the GET stalled on its second page");
      gate.countDown();
      await(shm::leases, 0, "the first page's lease went with the closed connection");
      ByteBuffer dst = ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE);
      assertEquals(1, client.get(new long[] {4, 1}, new ByteBuffer[] {dst}).found(),
          "the next call works, on a fresh connection with a fresh region");
    }
    await(shm::regions, 0, "regions gone with the client");
  }

  @Test
  void shouldStopAnInterruptedCallerAndLetItsLeasesGo() throws Exception {
    store = NetFixtures.smallStore(dir).build();
    start(gated(5, 2));
    ShmManager shm = server.sharedMemory();
    try (KvStoreClient client = client()) {
      putAll(client, NetFixtures.page(5, 1, NS, 64 << 10), NetFixtures.page(5, 2, NS, 64 << 10));
      AtomicReference<KvStoreException> thrown = new AtomicReference<>();
      AtomicBoolean flag = new AtomicBoolean();
      Thread caller = new Thread(() -> {
        try {
          client.getViews(new long[] {5, 1, 5, 2}).close();
        } catch (KvStoreException e) {
          thrown.set(e);
          flag.set(Thread.currentThread().isInterrupted());
        }
      });
      caller.start();
      await(gatedCalls::get, 1, "the GET stalled on its second page");
      caller.interrupt();
      caller.join(WAIT_NANOS / 1_000_000);
      assertFalse(caller.isAlive(), "the interrupted caller returned");
      assertNotNull(thrown.get());
      assertEquals(ErrorCode.CLIENT_TIMEOUT, thrown.get().code(), thrown.get().getMessage());
      assertTrue(flag.get(), "the interrupt flag is kept");
      gate.countDown();
      await(shm::leases, 0, "the lease of the view never handed out went with the connection");
      try (PageViews v = client.getViews(new long[] {5, 1, 5, 2})) {
        assertEquals(2, v.leadingRun(), "the next call works");
      }
    }
  }

  @Test
  void shouldFailACallWhoseDaemonStopsMidCallWithoutHanging() throws Exception {
    store = NetFixtures.smallStore(dir).build();
    start(gated(6, 2));
    KvStoreClient client = client(Duration.ofSeconds(30), 0);
    ExecutorService caller = Executors.newSingleThreadExecutor();
    try {
      putAll(client, NetFixtures.page(6, 1, NS, 64 << 10), NetFixtures.page(6, 2, NS, 64 << 10));
      Future<PageViews> call = caller.submit(() -> client.getViews(new long[] {6, 1, 6, 2}));
      await(gatedCalls::get, 1, "the GET stalled on its second page");
      Thread stopper = new Thread(() -> server.shutdownGracefully(Duration.ofMillis(200)));
      stopper.start();
      stopper.join(WAIT_NANOS / 1_000_000);
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> call.get(WAIT_NANOS, TimeUnit.NANOSECONDS));
      KvStoreException failure = (KvStoreException) e.getCause();
      assertTrue(failure.code() == ErrorCode.SHUTTING_DOWN
          || failure.code() == ErrorCode.CONNECTION_CLOSED, failure.getMessage());
      gate.countDown();
      await(this::regionFilesUnchecked, 0, "the stopped daemon's regions are gone");
    } finally {
      caller.shutdownNow();
      client.close();
    }
    server = null; // stopped above
  }

  @Test
  void shouldFailACallWhoseConnectionDiesMidCallAndLoseNoLease() throws Exception {
    store = NetFixtures.smallStore(dir).build();
    start(gated(7, 2));
    ShmManager shm = server.sharedMemory();
    ExecutorService caller = Executors.newSingleThreadExecutor();
    try (TcpRelay cutter = new TcpRelay(server.port());
        KvStoreClient client = KvStoreClient.builder().address("127.0.0.1", cutter.port())
            .namespaceId(NS).connections(1).sharedMemory(true)
            .requestTimeout(Duration.ofSeconds(30)).maxRetries(0).build()) {
      putAll(client, NetFixtures.page(7, 1, NS, 64 << 10), NetFixtures.page(7, 2, NS, 64 << 10));
      Future<GetResult> call = caller.submit(() -> client.get(new long[] {7, 1, 7, 2},
          new ByteBuffer[] {ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE),
              ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE)}));
      await(gatedCalls::get, 1, "the GET stalled on its second page");
      assertEquals(1, shm.leases(), "its first page is leased");
      cutter.cut(); // as the daemon's death looks to the client: every socket gone at once
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> call.get(WAIT_NANOS, TimeUnit.NANOSECONDS));
      KvStoreException failure = (KvStoreException) e.getCause();
      assertEquals(ErrorCode.CONNECTION_CLOSED, failure.code(), failure.getMessage());
      gate.countDown();
      await(shm::leases, 0, "the daemon dropped the lease with the connection");
      await(shm::regions, 0, "and the regions");
    } finally {
      caller.shutdownNow();
    }
  }

  private long regionFilesUnchecked() {
    try {
      return regionFiles();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
