package io.kvstore.server.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.client.protocol.PingFlyweight;
import io.kvstore.core.store.TieredStore;
import io.kvstore.server.net.KvStoreNetworkServer;
import io.kvstore.server.net.NetFixtures;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/**
 * A client that shuts down its sending side (half-close) gets every answer to what it sent before
 * its FIN, in full, and only then sees the daemon close: a GET of 100 × 64 KiB pages and a PING
 * sent before the FIN all arrive (the daemon used to close with most of them still queued).
 */
class HalfCloseE2ETest {

  private static final long NS = 0xC105E;
  private static final int PAGES = 100;

  private TieredStore store;
  private KvStoreNetworkServer server;

  @BeforeEach
  void start() throws Exception {
    store = TieredStore.builder().maxPageBytes(NetFixtures.MAX_PAGE).hotBytes(0)
        .dramBytes(32L << 20).ssdBytes(0).build();
    server = new KvStoreNetworkServer(NetFixtures.config().build(), store, NetFixtures.metrics());
    server.start();
    for (int i = 0; i < PAGES; i++) {
      assertTrue(store.put(NetFixtures.page(7, i, NS, 64 << 10)));
    }
  }

  @AfterEach
  void stop() {
    server.close();
    store.close();
  }

  @RepeatedTest(4)
  void shouldAnswerEveryRequestSentBeforeTheFinInFull() throws Exception {
    try (RawClient c = new RawClient(server.port())) {
      assertEquals(Opcode.HELLO_OK, c.hello(1, 1, 1, NS, "").opcode());
      long[] keys = new long[2 * PAGES];
      for (int i = 0; i < PAGES; i++) {
        keys[2 * i] = 7;
        keys[2 * i + 1] = i;
      }
      c.keyBatch(Opcode.GET, 0, 2, 0, keys);
      c.send(PingFlyweight.encode(UnpooledByteBufAllocator.DEFAULT, Opcode.PING, 3, 3));
      c.shutdownOutput();
      Thread.sleep(200); // the FIN reaches the daemon while the pages are still queued
      int pages = 0;
      boolean done = false;
      boolean pong = false;
      while (!(done && pong)) {
        RawClient.Frame f = c.read();
        switch (f.opcode()) {
          case Opcode.GET_PAGE -> pages++;
          case Opcode.GET_DONE -> done = true;
          case Opcode.PONG -> pong = true;
          default -> throw new AssertionError("unexpected " + f);
        }
      }
      assertEquals(PAGES, pages);
      assertTrue(c.closedByDaemon(), "closed after the last answer");
    }
  }

  @Test
  void shouldAnswerEarlierRequestsBeforeClosingForAFrameCutShortByTheFin() throws Exception {
    try (RawClient c = new RawClient(server.port())) {
      assertEquals(Opcode.HELLO_OK, c.hello(1, 1, 1, NS, "").opcode());
      c.keyBatch(Opcode.GET, 0, 2, 0, 7, 0, 7, 1);
      c.send(RawClient.header(4096, Opcode.PING, 0, 3)); // a header, then the FIN
      c.shutdownOutput();
      assertEquals(Opcode.GET_PAGE, c.read().opcode());
      assertEquals(Opcode.GET_PAGE, c.read().opcode());
      assertEquals(Opcode.GET_DONE, c.read().opcode());
      RawClient.Frame cut = c.read();
      assertEquals(Opcode.ERROR, cut.opcode(), cut.toString());
      assertEquals(ErrorCode.MALFORMED_FRAME, cut.errorCode());
      assertTrue(c.closedByDaemon());
    }
  }
}
