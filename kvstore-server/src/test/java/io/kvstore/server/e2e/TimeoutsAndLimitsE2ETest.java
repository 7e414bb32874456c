package io.kvstore.server.e2e;

import static io.kvstore.server.e2e.BadFramesE2ETest.NS_A;
import static io.kvstore.server.e2e.BadFramesE2ETest.NS_B;
import static io.kvstore.server.e2e.BadFramesE2ETest.TOKEN_A;
import static io.kvstore.server.e2e.BadFramesE2ETest.TOKEN_B;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.core.store.TieredStore;
import io.kvstore.server.config.ServerConfigBuilder;
import io.kvstore.server.net.FaultyStore;
import io.kvstore.server.net.KvStoreNetworkServer;
import io.kvstore.server.net.NetCounters.Refusal;
import io.kvstore.server.net.NetCounters.Timeout;
import io.kvstore.server.net.NetFixtures;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The daemon cuts what would hold its resources forever, and no one client takes every slot: the
 * handshake, read, write and idle timeouts fire (1 s each here) and are counted; a client that
 * stops reading during a GET is cut and every page it pinned is released; unauthenticated
 * connections of one address give way to newer ones; a token holds at most its share of
 * connections; a frame larger than a HELLO before the handshake is refused at once; failed HELLOs
 * slow their address down.
 */
class TimeoutsAndLimitsE2ETest {

  private static final long NS = 0x7117E;

  private TieredStore store;
  private FaultyStore faulty;
  private KvStoreNetworkServer server;

  private void start(ServerConfigBuilder config) throws Exception {
    store = TieredStore.builder().maxPageBytes(NetFixtures.MAX_PAGE).hotBytes(0)
        .dramBytes(64L << 20).ssdBytes(0).build();
    faulty = new FaultyStore(store);
    server = new KvStoreNetworkServer(config.build(), faulty, NetFixtures.metrics());
    server.start();
  }

  private static ServerConfigBuilder oneSecond() {
    return NetFixtures.config().handshakeTimeoutSeconds(1).readTimeoutSeconds(1)
        .writeTimeoutSeconds(1).idleTimeoutSeconds(1);
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
    if (store != null) {
      store.close();
    }
  }

  private static void eventually(BooleanSupplier condition, String message) throws InterruptedException {
    for (int i = 0; i < 1000 && !condition.getAsBoolean(); i++) {
      Thread.sleep(10);
    }
    assertTrue(condition.getAsBoolean(), message);
  }

  private static void assertConnectionError(RawClient.Frame f, int code) {
    assertEquals(Opcode.ERROR, f.opcode(), f.toString());
    assertEquals(FrameDescriptor.CONNECTION_REQUEST_ID, f.requestId(), f.toString());
    assertEquals(ErrorCode.name(code), ErrorCode.name(f.errorCode()), f.toString());
  }

  @Test
  void shouldCloseAConnectionThatSendsNoHelloWithinTheHandshakeTimeout() throws Exception {
    start(oneSecond().readTimeoutSeconds(30)); // the handshake's timeout, not the frame's
    try (RawClient c = new RawClient(server.port())) {
      c.send(new byte[] {36, 0}); // two bytes of a HELLO header, then nothing
      assertConnectionError(c.read(), ErrorCode.TIMEOUT);
      assertTrue(c.closedByDaemon());
    }
    assertEquals(1, server.counters().timeouts(Timeout.HANDSHAKE));
  }

  @Test
  void shouldCloseAConnectionWhoseFrameDoesNotCompleteWithinTheReadTimeout() throws Exception {
    start(oneSecond().idleTimeoutSeconds(60));
    try (RawClient c = new RawClient(server.port())) {
      assertEquals(Opcode.HELLO_OK, c.hello(1, 1, 1, NS, "").opcode());
      c.send(RawClient.header(1 << 20, Opcode.PUT, 0, 2));
      c.send(new byte[100_000]);
      eventually(() -> server.requestMemoryUsed() > 0, "the partial frame is counted");
      assertConnectionError(c.read(), ErrorCode.TIMEOUT);
      assertTrue(c.closedByDaemon());
    }
    assertEquals(1, server.counters().timeouts(Timeout.READ));
    eventually(() -> server.requestMemoryUsed() == 0, "budget returned: " + server.requestMemoryUsed());
  }

  @Test
  void shouldCloseAnIdleConnectionAfterHelloButKeepOneThatPings() throws Exception {
    start(oneSecond());
    try (RawClient idle = new RawClient(server.port());
        RawClient pinging = new RawClient(server.port())) {
      assertEquals(Opcode.HELLO_OK, idle.hello(1, 1, 1, NS, "").opcode());
      assertEquals(Opcode.HELLO_OK, pinging.hello(1, 1, 1, NS, "").opcode());
      for (int i = 0; i < 8; i++) {
        Thread.sleep(300);
        pinging.pingPong(10 + i);
      }
      assertConnectionError(idle.read(), ErrorCode.TIMEOUT);
      assertTrue(idle.closedByDaemon());
      pinging.pingPong(100);
    }
    assertEquals(1, server.counters().timeouts(Timeout.IDLE));
  }

  @Test
  void shouldCutAClientThatStopsReadingAndReleaseEveryPageItsGetsPinned() throws Exception {
    start(oneSecond().idleTimeoutSeconds(60));
    int pages = 40;
    long[] keys = new long[2 * pages];
    for (int i = 0; i < pages; i++) {
      assertTrue(store.put(NetFixtures.page(3, i, NS, 1 << 20)));
      keys[2 * i] = 3;
      keys[2 * i + 1] = i;
    }
    try (RawClient c = new RawClient(server.port(), 4096)) {
      assertEquals(Opcode.HELLO_OK, c.hello(1, 1, 1, NS, "").opcode());
      c.keyBatch(Opcode.GET, 0, 2, 0, keys); // 40 MiB of answers, and the client reads none
      eventually(() -> faulty.pinsTaken() > 0, "the GET pinned pages");
      eventually(() -> server.counters().timeouts(Timeout.WRITE) == 1, "cut by the write timeout");
    }
    eventually(() -> faulty.pinnedNow() == 0, "pages still pinned: " + faulty.pinnedNow());
    eventually(() -> server.requestsInFlight() == 0, "requests in flight: " + server.requestsInFlight());
    eventually(() -> server.requestMemoryUsed() == 0, "budget held: " + server.requestMemoryUsed());
  }

  @Test
  void shouldRefuseAFrameLargerThanAHelloBeforeTheHandshake() throws Exception {
    start(NetFixtures.config());
    try (RawClient c = new RawClient(server.port())) {
      c.send(RawClient.header(64 << 20, Opcode.PUT, 0, 5));
      c.send(new byte[10_000]);
      RawClient.Frame f = c.read();
      assertEquals(ErrorCode.FRAME_TOO_LARGE, f.errorCode(), f.toString());
      assertTrue(c.closedByDaemon());
    }
    assertEquals(1, server.counters().refusals(Refusal.PREAUTH_FRAME_TOO_LARGE));
    eventually(() -> server.requestMemoryUsed() == 0, "budget held: " + server.requestMemoryUsed());
  }

  @Test
  void shouldCloseTheOldestUnauthenticatedConnectionOfAnAddressForANewOne() throws Exception {
    start(NetFixtures.config().maxPreauthConnectionsPerAddress(3));
    RawClient[] idle = new RawClient[3];
    for (int i = 0; i < idle.length; i++) {
      idle[i] = new RawClient(server.port());
      Thread.sleep(100); // accepted and counted in this order before the next one
    }
    try (RawClient fresh = new RawClient(server.port())) {
      idle[0].timeoutMillis(5_000);
      assertTrue(idle[0].closedByDaemon(), "the oldest gave way");
      assertEquals(Opcode.HELLO_OK, fresh.hello(1, 1, 1, NS, "").opcode());
      fresh.pingPong(2);
      assertEquals(Opcode.HELLO_OK, idle[1].hello(1, 1, 1, NS, "").opcode(), "the others stay");
    } finally {
      for (RawClient c : idle) {
        c.close();
      }
    }
    assertEquals(1, server.counters().refusals(Refusal.PREAUTH_EVICTED));
  }

  @Test
  void shouldCloseTheOldestUnauthenticatedConnectionWhenEverySlotIsTaken() throws Exception {
    // 3 of 4 slots authenticated, 1 silent: the unauthenticated share (2) is not reached, the total is.
    start(NetFixtures.config().maxConnections(4));
    // Opened one at a time: three opened together would exceed the unauthenticated share.
    RawClient served = new RawClient(server.port());
    assertEquals(Opcode.HELLO_OK, served.hello(1, 1, 1, NS, "").opcode());
    RawClient served2 = new RawClient(server.port());
    assertEquals(Opcode.HELLO_OK, served2.hello(1, 1, 1, NS, "").opcode());
    RawClient served3 = new RawClient(server.port());
    assertEquals(Opcode.HELLO_OK, served3.hello(1, 1, 1, NS, "").opcode());
    try (served; served2; served3) {
      RawClient silent = new RawClient(server.port());
      Thread.sleep(100);
      try (RawClient fresh = new RawClient(server.port())) {
        assertEquals(Opcode.HELLO_OK, fresh.hello(1, 1, 1, NS, "").opcode(),
            "a new client gets a slot: the silent one gave way");
        assertTrue(silent.closedByDaemon());
        served.pingPong(2);
        fresh.pingPong(3);
      } finally {
        silent.close();
      }
    }
    assertEquals(1, server.counters().refusals(Refusal.PREAUTH_EVICTED));
  }

  @Test
  void shouldLimitTheConnectionsOfOneTokenSoOthersStillGetIn() throws Exception {
    start(NetFixtures.config().authGrants(BadFramesE2ETest.grants()).maxConnectionsPerToken(2));
    try (RawClient a1 = new RawClient(server.port()); RawClient a2 = new RawClient(server.port());
        RawClient a3 = new RawClient(server.port()); RawClient b = new RawClient(server.port())) {
      assertEquals(Opcode.HELLO_OK, a1.hello(1, 1, 1, NS_A, TOKEN_A).opcode());
      assertEquals(Opcode.HELLO_OK, a2.hello(1, 1, 1, NS_A, TOKEN_A).opcode());
      RawClient.Frame refused = a3.hello(1, 1, 1, NS_A, TOKEN_A);
      assertEquals(ErrorCode.CONNECTION_LIMIT, refused.errorCode(), refused.toString());
      assertTrue(a3.closedByDaemon());
      assertEquals(Opcode.HELLO_OK, b.hello(1, 1, 1, NS_B, TOKEN_B).opcode(), "another token gets in");
    }
    assertEquals(1, server.counters().refusals(Refusal.PER_TOKEN_LIMIT));
  }

  @Test
  void shouldSlowDownFailedHellosFromOneAddressAndCountThem() throws Exception {
    start(NetFixtures.config().authGrants(BadFramesE2ETest.grants()));
    long[] answerMillis = new long[4];
    for (int i = 0; i < answerMillis.length; i++) {
      try (RawClient c = new RawClient(server.port())) {
        long t0 = System.nanoTime();
        RawClient.Frame f = c.hello(1, 1, 1, NS_A, "wrong-token-0123456789");
        answerMillis[i] = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(ErrorCode.AUTH_FAILED, f.errorCode(), f.toString());
      }
    }
    // Each failure doubles the wait for the next HELLO from this address: 0, 100, 200, 400 ms.
    assertTrue(answerMillis[2] >= 190 && answerMillis[3] >= 390,
        "answers after " + java.util.Arrays.toString(answerMillis) + " ms");
    assertEquals(4, server.counters().authFailures());
  }
}
