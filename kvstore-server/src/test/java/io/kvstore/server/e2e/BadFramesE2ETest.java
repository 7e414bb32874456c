package io.kvstore.server.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.GetResult;
import io.kvstore.client.KvStoreClient;
import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.KeyBatchFlyweight;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.client.protocol.PingFlyweight;
import io.kvstore.client.protocol.PutFlyweight;
import io.kvstore.common.PageFormat;
import io.kvstore.core.store.TieredStore;
import io.kvstore.server.config.AuthGrant;
import io.kvstore.server.config.AuthGrants;
import io.kvstore.server.config.ServerConfig;
import io.kvstore.server.metrics.ServerMetrics;
import io.kvstore.server.net.KvStoreNetworkServer;
import io.kvstore.server.net.NetFixtures;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every kind of bad frame against a real daemon, from hand-made bytes on a plain socket: each gets
 * its error code and a message, the daemon stays up, another connection keeps working, and the page
 * stored before is unharmed.
 */
class BadFramesE2ETest {

  static final long NS_A = 0x00000000A11CE000L;
  static final long NS_B = 0x00000000B0B00000L;
  static final String TOKEN_A = "alice-token-0123456789";
  static final String TOKEN_B = "bob-token-0123456789ab";
  private static final long KEY_HI = 0xAAAA;
  private static final long KEY_LO = 0x5555;

  private TieredStore store;
  private ServerMetrics metrics;
  private KvStoreNetworkServer server;
  private KvStoreClient alice;
  private ByteBuffer stored;

  static AuthGrants grants() {
    return AuthGrants.of(List.of(
        AuthGrant.parse("alice", TOKEN_A + ":" + Long.toHexString(NS_A)),
        AuthGrant.parse("bob", TOKEN_B + ":" + Long.toHexString(NS_B))));
  }

  @BeforeEach
  void start() throws Exception {
    startServer(NetFixtures.config().authGrants(grants()).build());
    alice = KvStoreClient.builder().address("127.0.0.1", server.port()).namespaceId(NS_A)
        .authToken(TOKEN_A).build();
    stored = NetFixtures.page(KEY_HI, KEY_LO, NS_A, 64 << 10);
    assertTrue(alice.put(new ByteBuffer[] {stored}).allStored());
  }

  private void startServer(ServerConfig config) throws Exception {
    store = TieredStore.builder().maxPageBytes(NetFixtures.MAX_PAGE).hotBytes(0)
        .dramBytes(32L << 20).ssdBytes(0).build();
    metrics = NetFixtures.metrics();
    server = new KvStoreNetworkServer(config, store, metrics);
    server.start();
  }

  @AfterEach
  void stop() {
    if (alice != null) {
      alice.close();
    }
    server.close();
    store.close();
  }

  /** The daemon is up, a fresh connection works, the existing one works, the page is intact. */
  private void assertDaemonHealthy() throws Exception {
    try (RawClient other = new RawClient(server.port())) {
      assertEquals(Opcode.HELLO_OK, other.hello(1, 1, 1, NS_A, TOKEN_A).opcode());
      other.send(PingFlyweight.encode(UnpooledByteBufAllocator.DEFAULT, Opcode.PING, 2, 77));
      RawClient.Frame pong = other.read();
      assertEquals(Opcode.PONG, pong.opcode());
      assertEquals(2, pong.requestId());
    }
    ByteBuffer dst = ByteBuffer.allocate(NetFixtures.MAX_PAGE);
    GetResult got = alice.get(new long[] {KEY_HI, KEY_LO}, new ByteBuffer[] {dst});
    assertEquals(1, got.found());
    assertArrayEquals(NetFixtures.bytes(stored), NetFixtures.bytes(dst, got.length(0)));
  }

  private RawClient authenticated() throws Exception {
    RawClient c = new RawClient(server.port());
    assertEquals(Opcode.HELLO_OK, c.hello(1, 1, 1, NS_A, TOKEN_A).opcode());
    return c;
  }

  private static void assertError(RawClient.Frame f, long requestId, int code) {
    assertEquals(Opcode.ERROR, f.opcode(), f.toString());
    assertEquals(ErrorCode.name(code), ErrorCode.name(f.errorCode()), f.toString());
    assertEquals(requestId, f.requestId(), f.toString());
    assertFalse(f.errorMessage().isBlank(), "an error carries a message");
  }

  @Test
  void shouldAnswerATruncatedFrameAndClose() throws Exception {
    try (RawClient c = authenticated()) {
      byte[] partial = Arrays.copyOf(RawClient.header(100, Opcode.LOOKUP, 0, 9), 40);
      c.send(partial);
      c.shutdownOutput();
      RawClient.Frame f = c.read();
      assertError(f, 9, ErrorCode.MALFORMED_FRAME);
      assertTrue(f.errorMessage().contains("stream ended inside a frame"), f.toString());
      assertTrue(c.closedByDaemon());
    }
    assertDaemonHealthy();
  }

  @Test
  void shouldCloseOnAnOversizedFrame() throws Exception {
    try (RawClient c = authenticated()) {
      c.send(RawClient.header(0x7FFF_FFF0L, Opcode.PUT, 0, 5));
      assertError(c.read(), 5, ErrorCode.FRAME_TOO_LARGE);
      assertTrue(c.closedByDaemon());
    }
    assertEquals(1, metrics.errors("FRAME_TOO_LARGE"));
    assertDaemonHealthy();
  }

  @Test
  void shouldCloseOnALengthShorterThanTheHeader() throws Exception {
    try (RawClient c = authenticated()) {
      c.send(RawClient.header(7, Opcode.PING, 0, 6));
      assertError(c.read(), 6, ErrorCode.BAD_FRAME_LENGTH);
      assertTrue(c.closedByDaemon());
    }
    assertDaemonHealthy();
  }

  @Test
  void shouldSkipAnUnknownOpcodeAndKeepTheConnection() throws Exception {
    try (RawClient c = authenticated()) {
      byte[] frame = Arrays.copyOf(RawClient.header(16 + 8, 0x0C, 0, 7), 24);
      c.send(frame);
      assertError(c.read(), 7, ErrorCode.UNKNOWN_OPCODE);
      c.send(RawClient.header(16, 0x82, 0, 8)); // a response opcode sent to the daemon
      assertError(c.read(), 8, ErrorCode.UNKNOWN_OPCODE);
      c.send(PingFlyweight.encode(UnpooledByteBufAllocator.DEFAULT, Opcode.PING, 9, 1));
      assertEquals(Opcode.PONG, c.read().opcode());
    }
    assertDaemonHealthy();
  }

  @Test
  void shouldRefuseAnUnsupportedVersion() throws Exception {
    try (RawClient c = new RawClient(server.port())) {
      RawClient.Frame f = c.hello(3, 3, 5, NS_A, TOKEN_A);
      assertError(f, 3, ErrorCode.UNSUPPORTED_VERSION);
      assertTrue(f.errorMessage().contains("3 to 5"), f.toString());
      assertTrue(c.closedByDaemon());
    }
    assertDaemonHealthy();
  }

  @Test
  void shouldRefuseAWrongToken() throws Exception {
    try (RawClient c = new RawClient(server.port())) {
      assertError(c.hello(1, 1, 1, NS_A, "not-a-valid-token-at-all"), 1, ErrorCode.AUTH_FAILED);
      assertTrue(c.closedByDaemon());
    }
    try (RawClient c = new RawClient(server.port())) {
      assertError(c.hello(1, 1, 1, NS_A, ""), 1, ErrorCode.AUTH_FAILED);
      assertTrue(c.closedByDaemon());
    }
    assertDaemonHealthy();
  }

  @Test
  void shouldRefuseANamespaceTheTokenDoesNotGrant() throws Exception {
    try (RawClient c = new RawClient(server.port())) {
      RawClient.Frame f = c.hello(1, 1, 1, NS_A, TOKEN_B);
      assertError(f, 1, ErrorCode.NAMESPACE_DENIED);
      assertFalse(f.errorMessage().contains("bob"), "names neither the grant nor the token: " + f);
      assertFalse(f.errorMessage().contains(TOKEN_B), f.toString());
      assertTrue(c.closedByDaemon());
    }
    assertDaemonHealthy();
  }

  @Test
  void shouldRefuseRequestsBeforeHello() throws Exception {
    try (RawClient c = new RawClient(server.port())) {
      c.send(KeyBatchFlyweight.encode(UnpooledByteBufAllocator.DEFAULT, Opcode.GET, 0, 4,
          new long[] {KEY_HI, KEY_LO}, 0, 1, 0));
      assertError(c.read(), 4, ErrorCode.NOT_AUTHENTICATED);
      assertTrue(c.closedByDaemon());
    }
    assertDaemonHealthy();
  }

  @Test
  void shouldRejectPagesWithBadChecksumsAndKeepTheStoredPage() throws Exception {
    // Same key as the stored page, corrupted in the payload, in the header, and well formed but
    // too long; then a good page: only the good page is stored, the stored one is untouched.
    ByteBuffer badPayload = copy(stored);
    badPayload.put(1000, (byte) (badPayload.get(1000) ^ 1));
    ByteBuffer badHeader = copy(stored);
    badHeader.put(PageFormat.TOKEN_COUNT_OFFSET, (byte) 99);
    ByteBuffer badMagic = copy(stored);
    badMagic.put(0, (byte) 'X');
    ByteBuffer good = NetFixtures.page(1, 2, NS_A, 100);
    try (RawClient c = authenticated()) {
      c.send(PutFlyweight.encode(UnpooledByteBufAllocator.DEFAULT, 11,
          new ByteBuffer[] {badPayload, badHeader, badMagic, good}, 0, 4));
      RawClient.Frame ok = c.read();
      assertEquals(Opcode.PUT_OK, ok.opcode(), ok.toString());
      assertEquals(4, ok.bodyInt(0));
      assertEquals(1, ok.bodyInt(4));
      ByteBuffer statuses = ByteBuffer.wrap(ok.body()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      assertEquals(ErrorCode.BAD_CHECKSUM, statuses.getShort(8));
      assertEquals(ErrorCode.BAD_CHECKSUM, statuses.getShort(10));
      assertEquals(ErrorCode.MALFORMED_PAGE, statuses.getShort(12));
      assertEquals(ErrorCode.OK, statuses.getShort(14));
    }
    assertEquals(2, metrics.errors("BAD_CHECKSUM"));
    assertDaemonHealthy();
  }

  @Test
  void shouldAnswerBadRequestsOneByOneOnAnOpenConnection() throws Exception {
    try (RawClient c = authenticated()) {
      // A LOOKUP whose length does not match its key count.
      byte[] lookup = Arrays.copyOf(RawClient.header(24 + 16, Opcode.LOOKUP, 0, 21), 40);
      lookup[16] = 2;
      c.send(lookup);
      assertError(c.read(), 21, ErrorCode.MALFORMED_FRAME);
      // A flag GET does not define.
      c.send(KeyBatchFlyweight.encode(UnpooledByteBufAllocator.DEFAULT, Opcode.GET, 0x80, 22,
          new long[] {KEY_HI, KEY_LO}, 0, 1, 0));
      assertError(c.read(), 22, ErrorCode.MALFORMED_FRAME);
      // More keys than the max batch.
      int tooMany = ServerConfig.MAX_BATCH_DEFAULT + 1;
      c.send(KeyBatchFlyweight.encode(UnpooledByteBufAllocator.DEFAULT, Opcode.LOOKUP, 0, 23,
          new long[2 * tooMany], 0, tooMany, 0));
      assertError(c.read(), 23, ErrorCode.BATCH_TOO_LARGE);
      // A second HELLO.
      assertError(c.hello(24, 1, 1, NS_A, TOKEN_A), 24, ErrorCode.MALFORMED_FRAME);
      // Still serving.
      c.send(PingFlyweight.encode(UnpooledByteBufAllocator.DEFAULT, Opcode.PING, 25, 5));
      assertEquals(25, c.read().requestId());
    }
    assertDaemonHealthy();
  }

  @Test
  void shouldCloseAConnectionThatSendsNoHelloInTime() throws Exception {
    stop();
    startServer(NetFixtures.config().handshakeTimeoutSeconds(1).build());
    alice = null;
    try (RawClient c = new RawClient(server.port())) {
      assertError(c.read(), 0, ErrorCode.TIMEOUT);
      assertTrue(c.closedByDaemon());
    }
  }

  @Test
  void shouldCloseConnectionsOverTheLimitAtOnce() throws Exception {
    stop();
    startServer(NetFixtures.config().maxConnections(2).build());
    alice = null;
    // One at a time: at most half the slots may be unauthenticated (the oldest gives way to a new
    // one), so two connections opened together would not both get to HELLO with a limit of 2.
    try (RawClient a = new RawClient(server.port())) {
      assertEquals(Opcode.HELLO_OK, a.hello(1, 1, 1, NS_A, "").opcode());
      RawClient b = new RawClient(server.port());
      assertEquals(Opcode.HELLO_OK, b.hello(1, 1, 1, NS_A, "").opcode());
      try (b; RawClient c = new RawClient(server.port())) {
        assertTrue(c.closedByDaemon(), "a third connection is closed at once");
      }
      a.send(PingFlyweight.encode(UnpooledByteBufAllocator.DEFAULT, Opcode.PING, 2, 5));
      assertEquals(Opcode.PONG, a.read().opcode());
    }
  }

  private static ByteBuffer copy(ByteBuffer page) {
    ByteBuffer c = ByteBuffer.allocateDirect(page.remaining());
    c.put(page.duplicate()).flip();
    return c;
  }
}
