package io.kvstore.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.Opcode;
import io.netty.channel.Channel;
import io.netty.util.ResourceLeakDetector;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Blocking calls on caller-driven connections ({@link SyncConnection}): the calling thread writes
 * and reads its own socket. Many callers at once (every byte checked), a daemon that dies or goes
 * silent mid-call, an interrupted caller, a client closed under a call, stale idle connections.
 * Netty's leak detector is at PARANOID: every frame buffer of the path is tracked.
 */
class CallerDrivenIoTest extends FakeDaemonTestBase {

  private static final long NAMESPACE = 0x5EED_0000_0000_0002L;
  private static final Duration NO_HANG = Duration.ofSeconds(20);
  private static ResourceLeakDetector.Level previousLevel;

  @BeforeAll
  static void paranoid() {
    previousLevel = ResourceLeakDetector.getLevel();
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
  }

  @AfterAll
  static void restore() {
    ResourceLeakDetector.setLevel(previousLevel);
  }

  private KvStoreClientBuilder builder() {
    return KvStoreClient.builder()
        .address("127.0.0.1", daemon.port())
        .namespaceId(NAMESPACE)
        .connections(2)
        .ioThreads(1)
        .sharedMemory(false)
        .requestTimeout(Duration.ofSeconds(30))
        .retryBackoff(Duration.ofMillis(1))
        .reconnectDelay(Duration.ofMillis(1));
  }

  private static byte[] bytes(ByteBuffer buffer, int position, int length) {
    byte[] out = new byte[length];
    buffer.duplicate().position(position).get(out);
    return out;
  }

  private void awaitReceived(int opcode, int count) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (daemon.received(opcode) < count && System.nanoTime() < deadline) {
      Thread.sleep(2);
    }
    assertEquals(count, daemon.received(opcode), "the request reached the daemon");
  }

  @Test
  void shouldServeBlockingCallsOnAConnectionOfTheCaller() {
    KvStoreClient client = connect(builder().connections(2));
    assertEquals(2, daemon.connectionsAccepted.get());
    ByteBuffer page = KvStoreClientTest.page(1, 1, NAMESPACE, 70_000, 1);
    assertTrue(client.put(new ByteBuffer[] {page}).allStored());
    ByteBuffer dst = ByteBuffer.allocateDirect(80_000);
    for (int i = 0; i < 5; i++) {
      assertEquals(1, client.get(new long[] {1, 1}, new ByteBuffer[] {dst}).found());
      assertArrayEquals(bytes(page, 0, page.remaining()), bytes(dst, 0, page.remaining()));
    }
    assertEquals(1, client.callerDrivenConnections(), "one caller, one connection, reused");
    assertEquals(3, daemon.connectionsAccepted.get());

    KvStoreClient pipelined = connect(builder().connections(2).callerDrivenIo(false));
    assertEquals(1, pipelined.get(new long[] {1, 1}, new ByteBuffer[] {dst}).found());
    assertEquals(0, pipelined.callerDrivenConnections(), "off: the pipelined path");
  }

  @Test
  void shouldStayOnTcpWhenTheDaemonOffersNoRegionToACallerDrivenConnection() throws Exception {
    KvStoreClient client = connect(builder().sharedMemory(true));
    daemon.putPage(KvStoreClientTest.page(1, 1, NAMESPACE, 100, 1));
    assertTrue(client.ping() >= 0);
    assertEquals(1, client.callerDrivenConnections(), "blocking calls are caller-driven");
    // Both pipelined connections asked for a region, and the caller-driven one for its own.
    awaitReceived(Opcode.SHM_OPEN, 3);
    assertEquals(0, client.callerDrivenRegions(), "this daemon offers none: TCP");
    ByteBuffer dst = ByteBuffer.allocate(256);
    assertEquals(1, client.get(new long[] {1, 1}, new ByteBuffer[] {dst}).found());
    assertEquals(1, client.callerDrivenConnections(), "the same connection, kept");
  }

  @Test
  void shouldTellADaemonOnThisHostFromOneElsewhere() {
    assertTrue(KvStoreClient.onThisHost(new InetSocketAddress("127.0.0.1", 7000)));
    assertTrue(KvStoreClient.onThisHost(InetSocketAddress.createUnresolved("localhost", 7000)));
    assertFalse(KvStoreClient.onThisHost(new InetSocketAddress("192.0.2.1", 7000)),
        "TEST-NET-1 (RFC 5737) is no interface's address: another host, no region possible");
  }

  @Test
  void shouldGiveEveryConcurrentCallerItsOwnExactBytes() throws Exception {
    KvStoreClient client = connect(builder().connections(3).ioThreads(2));
    int threads = 12;
    int rounds = 60;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        done.add(pool.submit(() -> {
          // Sizes around the reused receive buffer's (128 KiB), and one over the 4 MiB kept.
          int[] sizes = {0, 1000, 65_536, 200_000, thread == 0 ? 5 << 20 : 300_000};
          for (int r = 0; r < rounds; r++) {
            int n = sizes.length;
            long[] keys = new long[2 * n];
            ByteBuffer[] pages = new ByteBuffer[n];
            ByteBuffer[] dsts = new ByteBuffer[n];
            for (int i = 0; i < n; i++) {
              keys[2 * i] = thread + 1;
              keys[2 * i + 1] = (long) r * n + i;
              pages[i] = KvStoreClientTest.page(keys[2 * i], keys[2 * i + 1], NAMESPACE,
                  sizes[i], thread * 7919 + r * 31 + i);
              dsts[i] = ByteBuffer.allocateDirect(pages[i].remaining() + 16);
            }
            assertTrue(client.put(pages).allStored());
            GetResult got = client.get(keys, dsts);
            assertEquals(n, got.found());
            for (int i = 0; i < n; i++) {
              assertEquals(pages[i].remaining(), got.length(i));
              assertArrayEquals(bytes(pages[i], 0, pages[i].remaining()),
                  bytes(dsts[i], 0, got.length(i)), "thread " + thread + " round " + r);
            }
            assertEquals(n, client.lookup(keys).runLength());
          }
        }));
      }
      for (Future<?> f : done) {
        f.get(120, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertTrue(client.callerDrivenConnections() <= 3, "never more than the configured count");
  }

  @Test
  void shouldTimeOutASilentCallAndServeTheNextOnAFreshConnection() {
    KvStoreClient client = connect(builder().maxRetries(0).requestTimeout(Duration.ofMillis(300)));
    daemon.putPage(KvStoreClientTest.page(1, 1, NAMESPACE, 100, 1));
    daemon.faults.put(Opcode.GET, FakeDaemon.Fault.SILENT);
    ByteBuffer[] dsts = {ByteBuffer.allocate(256)};
    KvStoreException e = assertTimeoutPreemptively(NO_HANG,
        () -> assertThrows(KvStoreException.class, () -> client.get(new long[] {1, 1}, dsts)));
    assertEquals(ErrorCode.CLIENT_TIMEOUT, e.code(), e.getMessage());
    int accepted = daemon.connectionsAccepted.get();
    assertEquals(1, client.get(new long[] {1, 1}, dsts).found(), "the next call works");
    assertEquals(accepted + 1, daemon.connectionsAccepted.get(),
        "the timed-out connection was closed, not reused (its answer may still come)");
  }

  @Test
  void shouldFailACallWhoseDaemonDiesMidCallWithoutHanging() throws Exception {
    KvStoreClient client = connect(builder().maxRetries(2));
    daemon.faults.put(Opcode.GET, FakeDaemon.Fault.SILENT);
    ExecutorService caller = Executors.newSingleThreadExecutor();
    try {
      Future<GetResult> call = caller.submit(
          () -> client.get(new long[] {1, 1}, new ByteBuffer[] {ByteBuffer.allocate(64)}));
      awaitReceived(Opcode.GET, 1);
      daemon.close(); // the daemon dies with the caller waiting on its socket
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> call.get(NO_HANG.toSeconds(), TimeUnit.SECONDS));
      KvStoreException failure = (KvStoreException) e.getCause();
      assertEquals(ErrorCode.CONNECTION_CLOSED, failure.code(), failure.getMessage());
    } finally {
      caller.shutdownNow();
    }
    daemon = new FakeDaemon(); // for the base class's tear-down
  }

  @Test
  void shouldStopAnInterruptedCallerAndKeepItsInterruptFlag() throws Exception {
    KvStoreClient client = connect(builder());
    daemon.faults.put(Opcode.GET, FakeDaemon.Fault.SILENT);
    AtomicReference<KvStoreException> thrown = new AtomicReference<>();
    AtomicReference<Boolean> flag = new AtomicReference<>();
    Thread caller = new Thread(() -> {
      try {
        client.get(new long[] {1, 1}, new ByteBuffer[] {ByteBuffer.allocate(64)});
      } catch (KvStoreException e) {
        thrown.set(e);
        flag.set(Thread.currentThread().isInterrupted());
      }
    });
    caller.start();
    awaitReceived(Opcode.GET, 1);
    caller.interrupt();
    caller.join(NO_HANG.toMillis());
    assertFalse(caller.isAlive(), "the interrupted caller returned");
    assertNotNull(thrown.get());
    assertEquals(ErrorCode.CLIENT_TIMEOUT, thrown.get().code(), thrown.get().getMessage());
    assertTrue(flag.get(), "the interrupt flag is kept");
    daemon.putPage(KvStoreClientTest.page(1, 1, NAMESPACE, 10, 1));
    assertEquals(1, client.get(new long[] {1, 1}, new ByteBuffer[] {ByteBuffer.allocate(256)}).found(),
        "the next call works, on a fresh connection");
  }

  @Test
  void shouldNotSendACallOfAnAlreadyInterruptedCaller() {
    KvStoreClient client = connect(builder());
    assertTrue(client.ping() >= 0);
    int accepted = daemon.connectionsAccepted.get();
    Thread.currentThread().interrupt();
    try {
      KvStoreException e = assertThrows(KvStoreException.class, () -> client.lookup(new long[] {1, 1}));
      assertEquals(ErrorCode.CLIENT_TIMEOUT, e.code());
      assertTrue(Thread.currentThread().isInterrupted(), "the interrupt flag is kept");
    } finally {
      Thread.interrupted();
    }
    assertEquals(0, daemon.received(Opcode.LOOKUP), "nothing was sent");
    assertEquals(0, client.lookup(new long[] {1, 1}).runLength());
    assertEquals(accepted, daemon.connectionsAccepted.get(), "the idle connection was kept");
  }

  @Test
  void shouldFailACallUnderWayWhenTheClientCloses() throws Exception {
    KvStoreClient client = connect(builder());
    daemon.faults.put(Opcode.LOOKUP, FakeDaemon.Fault.SILENT);
    CompletableFuture<Integer> call = CompletableFuture.supplyAsync(() -> {
      try {
        client.lookup(new long[] {1, 1});
        return -1;
      } catch (KvStoreException e) {
        return e.code();
      }
    });
    awaitReceived(Opcode.LOOKUP, 1);
    client.close();
    assertEquals(ErrorCode.CONNECTION_CLOSED, call.get(NO_HANG.toSeconds(), TimeUnit.SECONDS));
    KvStoreException after = assertThrows(KvStoreException.class, () -> client.ping());
    assertEquals(ErrorCode.CONNECTION_CLOSED, after.code());
  }

  @Test
  void shouldNotUseAnIdleConnectionTheDaemonClosed() throws Exception {
    KvStoreClient client = connect(builder().maxRetries(0).connections(1));
    assertTrue(client.ping() >= 0);
    assertEquals(1, client.callerDrivenConnections());
    for (Channel ch : daemon.open) {
      ch.close().sync(); // the daemon drops every connection, the idle caller-driven one too
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (client.liveConnections() == 0 && System.nanoTime() < deadline) {
      Thread.sleep(5); // the pipelined connection reconnects by itself
    }
    Thread.sleep(50); // the FIN of the idle caller-driven connection has arrived
    assertTrue(client.ping() >= 0, "a closed idle connection is found and replaced, no error");
  }

  @Test
  void shouldReadLargePagesStraightIntoTheCallersBuffersAndCheckThem() {
    KvStoreClient client = connect(builder().maxRetries(0));
    int large = SyncConnection.IN_PLACE_MIN_PAGE_BYTES + 1000;
    ByteBuffer[] pages = new ByteBuffer[4];
    for (int i = 0; i < pages.length; i++) {
      pages[i] = KvStoreClientTest.page(9, i, NAMESPACE, large * (i + 1), 40 + i);
      daemon.putPage(pages[i]);
    }
    daemon.corruptOnce.add(new io.kvstore.common.BlockKey(9, 2));
    long[] keys = {9, 0, 9, 1, 9, 2, 9, 3, 9, 99};
    ByteBuffer[] dsts = new ByteBuffer[5];
    for (int i = 0; i < dsts.length; i++) {
      dsts[i] = i % 2 == 0 ? ByteBuffer.allocateDirect(5 * large) : ByteBuffer.allocate(5 * large);
      dsts[i].position(3); // pages land at the position, which does not move
    }
    GetResult got = client.get(keys, dsts); // the daemon answers in reverse key order
    assertEquals(3, got.found());
    assertFalse(got.isHit(2), "a large page failing its CRC is a miss, checked in place");
    assertFalse(got.isHit(4));
    for (int i : new int[] {0, 1, 3}) {
      assertEquals(3, dsts[i].position());
      assertArrayEquals(bytes(pages[i], 0, pages[i].remaining()),
          bytes(dsts[i], 3, got.length(i)));
    }
    int accepted = daemon.connectionsAccepted.get();
    KvStoreException e = assertThrows(KvStoreException.class, () -> client.get(
        new long[] {9, 3}, new ByteBuffer[] {ByteBuffer.allocateDirect(large)}));
    assertEquals(ErrorCode.PAGE_TOO_LARGE, e.code(), e.getMessage());
    ByteBuffer dst = ByteBuffer.allocateDirect(5 * large);
    assertEquals(1, client.get(new long[] {9, 3}, new ByteBuffer[] {dst}).found());
    assertArrayEquals(bytes(pages[3], 0, pages[3].remaining()), bytes(dst, 0, pages[3].remaining()));
    assertEquals(accepted + 1, daemon.connectionsAccepted.get(),
        "the connection of the failed GET was replaced (the rest of its answer was unread)");
  }

  @Test
  void shouldReadExactBytesWhateverPiecesTheAnswersArriveIn() {
    // The read-ahead takes the bytes after each read's end (the next header, key index, part of
    // the next page): answers cut into pieces of 1 to 700 bytes end reads everywhere.
    KvStoreClient client = connect(builder().connections(1).maxRetries(0));
    int large = SyncConnection.IN_PLACE_MIN_PAGE_BYTES + 123;
    int[] payloads = {10, large, 3_000, large * 2, 1, 70_000};
    ByteBuffer[] pages = new ByteBuffer[payloads.length];
    for (int i = 0; i < pages.length; i++) {
      pages[i] = KvStoreClientTest.page(11, i, NAMESPACE, payloads[i], 60 + i);
      daemon.putPage(pages[i]);
    }
    daemon.trickleMaxBytes = 700;
    long[] keys = new long[2 * (pages.length + 1)];
    for (int i = 0; i <= pages.length; i++) {
      keys[2 * i] = 11;
      keys[2 * i + 1] = i == pages.length ? 999 : i; // the last one a miss
    }
    int accepted = -1;
    for (int round = 0; round < 4; round++) {
      ByteBuffer[] dsts = new ByteBuffer[pages.length + 1];
      for (int i = 0; i < dsts.length; i++) {
        dsts[i] = round % 2 == 0 ? ByteBuffer.allocateDirect(3 * large) : ByteBuffer.allocate(3 * large);
      }
      GetResult got = client.get(keys, dsts);
      assertEquals(pages.length, got.found(), "round " + round);
      assertFalse(got.isHit(pages.length));
      for (int i = 0; i < pages.length; i++) {
        assertArrayEquals(bytes(pages[i], 0, pages[i].remaining()),
            bytes(dsts[i], 0, got.length(i)), "round " + round + ", page " + i);
      }
      assertEquals(pages.length, client.lookup(keys).runLength());
      assertTrue(client.ping() >= 0);
      if (round == 0) {
        accepted = daemon.connectionsAccepted.get();
      }
    }
    assertEquals(accepted, daemon.connectionsAccepted.get(), "the same connections served every"
        + " call: none was left with the stream in an unknown place");
  }

  @Test
  void shouldFailAPutWhoseConnectionTheDaemonClosesWithoutRetryingIt() {
    KvStoreClient client = connect(builder().maxRetries(2));
    daemon.faults.put(Opcode.PUT, FakeDaemon.Fault.CLOSE);
    KvStoreException e = assertThrows(KvStoreException.class,
        () -> client.put(new ByteBuffer[] {KvStoreClientTest.page(1, 1, NAMESPACE, 50_000, 1)}));
    assertEquals(ErrorCode.CONNECTION_CLOSED, e.code(), e.getMessage());
    assertEquals(1, daemon.received(Opcode.PUT));
    assertTrue(client.put(new ByteBuffer[] {KvStoreClientTest.page(1, 1, NAMESPACE, 50_000, 1)})
        .allStored());
  }
}
