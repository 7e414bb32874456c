package io.kvstore.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.common.BlockKey;
import io.kvstore.common.PageFormat;
import io.netty.channel.epoll.Epoll;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The SDK against {@link FakeDaemon}: round trips, pipelining, timeouts, retries, errors, token API. */
class KvStoreClientTest {

  private static final long NAMESPACE = 0x5EED_0000_0000_0001L;

  FakeDaemon daemon;
  private final List<KvStoreClient> clients = new ArrayList<>();

  /**
   * This test's token: a client another test left behind (still reconnecting to a port this
   * daemon now holds) fails its HELLO here and cannot add to the request counts asserted on.
   */
  private final String token = "t-" + Long.toHexString(ThreadLocalRandom.current().nextLong());

  @BeforeEach
  void startDaemon() throws InterruptedException {
    daemon = new FakeDaemon();
    daemon.authToken = token;
  }

  @AfterEach
  void stop() {
    clients.forEach(KvStoreClient::close);
    daemon.close();
  }

  KvStoreClientBuilder builder() {
    return KvStoreClient.builder()
        .address("127.0.0.1", daemon.port())
        .namespaceId(NAMESPACE)
        .authToken(token)
        .connections(2)
        .ioThreads(1)
        .callerDrivenIo(false) // the pipelined path; CallerDrivenKvStoreClientTest runs the other
        .requestTimeout(Duration.ofSeconds(5))
        .retryBackoff(Duration.ofMillis(1))
        .reconnectDelay(Duration.ofMillis(1));
  }

  KvStoreClient connect(KvStoreClientBuilder builder) {
    KvStoreClient client = builder.build();
    clients.add(client);
    return client;
  }

  static ByteBuffer page(long hi, long lo, long namespace, int payloadLength, int seed) {
    ByteBuffer page = ByteBuffer.allocateDirect(PageFormat.HEADER_LENGTH + payloadLength)
        .order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < payloadLength; i++) {
      page.put(PageFormat.HEADER_LENGTH + i, (byte) (seed * 31 + i));
    }
    PageFormat.writeHeader(page, 0, hi, lo, 0, 0, namespace, 16, payloadLength);
    return page;
  }

  private static byte[] bytes(ByteBuffer buffer, int position, int length) {
    byte[] out = new byte[length];
    buffer.duplicate().position(position).get(out);
    return out;
  }

  @Test
  void shouldHandshakeAndReportTheDaemonLimits() {
    daemon.maxBatch = 1234;
    KvStoreClient client = connect(builder());
    assertEquals(1, client.serverLimits().version());
    assertEquals(1234, client.serverLimits().maxBatch());
    assertEquals(99, client.serverLimits().connectionId());
    assertEquals(2, daemon.received(Opcode.HELLO), "one HELLO per pooled connection");
    assertTrue(client.ping() >= 0);
  }

  @Test
  void shouldGetTheExactBytesPut() {
    KvStoreClient client = connect(builder());
    ByteBuffer[] pages = {page(1, 1, NAMESPACE, 1000, 1), page(2, 2, NAMESPACE, 0, 2),
        page(3, 3, NAMESPACE, 70_000, 3)};
    PutResult put = client.put(pages);
    assertTrue(put.allStored(), put::toString);

    long[] keys = {1, 1, 2, 2, 3, 3, 4, 4};
    ByteBuffer[] dsts = new ByteBuffer[4];
    for (int i = 0; i < 4; i++) {
      dsts[i] = ByteBuffer.allocateDirect(80_000);
      dsts[i].position(8); // pages land at the position, which does not move
    }
    GetResult got = client.get(keys, dsts);
    assertEquals(3, got.found());
    assertEquals(3, got.leadingRun());
    assertFalse(got.isHit(3));
    for (int i = 0; i < 3; i++) {
      assertEquals(pages[i].remaining(), got.length(i));
      assertEquals(8, dsts[i].position());
      assertArrayEquals(bytes(pages[i], 0, pages[i].remaining()), bytes(dsts[i], 8, got.length(i)));
    }
  }

  @Test
  void shouldLookupTheLeadingRunAndDelete() {
    KvStoreClient client = connect(builder());
    client.put(new ByteBuffer[] {page(1, 0, NAMESPACE, 10, 1), page(2, 0, NAMESPACE, 10, 2),
        page(4, 0, NAMESPACE, 10, 4)});
    LookupResult lookup = client.lookup(new BlockKey[] {new BlockKey(1, 0), new BlockKey(2, 0),
        new BlockKey(3, 0), new BlockKey(4, 0)});
    assertEquals(2, lookup.runLength());
    assertEquals(2, lookup.blocksInTier(1));
    assertEquals(2, client.delete(new long[] {1, 0, 3, 0, 4, 0}));
    assertEquals(0, client.lookup(new long[] {1, 0, 2, 0}).runLength());
    assertEquals(1, client.prefetch(new long[] {2, 0, 9, 9}, 100));
    assertEquals("pages 1\n", client.stats());
  }

  @Test
  void shouldTreatACorruptedPageAsAMiss() {
    KvStoreClient client = connect(builder());
    daemon.putPage(page(7, 7, NAMESPACE, 100, 7));
    daemon.putPage(page(8, 8, NAMESPACE, 100, 8));
    daemon.corruptOnce.add(new BlockKey(8, 8));
    GetResult got = client.get(new long[] {7, 7, 8, 8},
        new ByteBuffer[] {ByteBuffer.allocateDirect(200), ByteBuffer.allocateDirect(200)});
    assertTrue(got.isHit(0));
    assertFalse(got.isHit(1), "a page failing its CRC must never be returned");
    assertEquals(1, got.found());
  }

  @Test
  void shouldStopAtTheFirstMissForAPrefixGet() {
    KvStoreClient client = connect(builder());
    client.put(new ByteBuffer[] {page(1, 0, NAMESPACE, 10, 1), page(3, 0, NAMESPACE, 10, 3)});
    ByteBuffer[] dsts = {ByteBuffer.allocate(100), ByteBuffer.allocate(100), ByteBuffer.allocate(100)};
    GetResult got = client.get(new long[] {1, 0, 2, 0, 3, 0}, dsts, true);
    assertEquals(1, got.found());
    assertFalse(got.isHit(2));
  }

  @Test
  void shouldFailAGetWhoseBufferIsTooSmall() {
    KvStoreClient client = connect(builder());
    daemon.putPage(page(5, 5, NAMESPACE, 1000, 5));
    KvStoreException e = assertThrows(KvStoreException.class,
        () -> client.get(new long[] {5, 5}, new ByteBuffer[] {ByteBuffer.allocateDirect(100)}));
    assertEquals(ErrorCode.PAGE_TOO_LARGE, e.code());
  }

  @Test
  void shouldPipelineManyRequestsOnOneConnection() {
    // No retries and a long timeout: every request must be answered on the one connection.
    KvStoreClient client =
        connect(builder().connections(1).maxRetries(0).requestTimeout(Duration.ofSeconds(30)));
    daemon.putPage(page(1, 1, NAMESPACE, 64, 1));
    List<CompletableFuture<?>> futures = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      futures.add(client.getAsync(new long[] {1, 1}, new ByteBuffer[] {ByteBuffer.allocate(128)}));
      futures.add(client.lookupAsync(new long[] {1, 1, 2, 2}));
    }
    CompletableFuture.allOf(futures.toArray(new CompletableFuture<?>[0])).join();
    assertEquals(1, daemon.connectionsAccepted.get());
    assertEquals(200, daemon.received(Opcode.GET));
    assertEquals(1, ((GetResult) futures.get(0).join()).found());
  }

  @Test
  void shouldTimeOutARequestThatGetsNoAnswer() {
    KvStoreClient client = connect(builder().maxRetries(0).requestTimeout(Duration.ofMillis(300)));
    daemon.faults.put(Opcode.LOOKUP, FakeDaemon.Fault.SILENT);
    KvStoreException e = assertThrows(KvStoreException.class, () -> client.lookup(new long[] {1, 1}));
    assertEquals(ErrorCode.CLIENT_TIMEOUT, e.code());
    assertEquals(0, client.lookup(new long[] {1, 1}).runLength(), "the connection still works");
  }

  @Test
  void shouldRetryAnIdempotentRequestAfterItsConnectionClosed() {
    KvStoreClient client = connect(builder().maxRetries(3));
    daemon.putPage(page(1, 1, NAMESPACE, 64, 1));
    daemon.faults.put(Opcode.GET, FakeDaemon.Fault.CLOSE);
    GetResult got = client.get(new long[] {1, 1}, new ByteBuffer[] {ByteBuffer.allocate(128)});
    assertEquals(1, got.found());
    assertEquals(2, daemon.received(Opcode.GET), "the GET was sent again");
  }

  @Test
  void shouldNotRetryPastTheRequestTimeout() {
    // The timeout bounds the whole call: the silent attempt used it all, no retry may start.
    KvStoreClient client = connect(builder().maxRetries(3).requestTimeout(Duration.ofMillis(300)));
    daemon.faults.put(Opcode.GET, FakeDaemon.Fault.SILENT);
    KvStoreException e = assertThrows(KvStoreException.class,
        () -> client.get(new long[] {1, 1}, new ByteBuffer[] {ByteBuffer.allocate(128)}));
    assertEquals(ErrorCode.CLIENT_TIMEOUT, e.code());
    assertEquals(1, daemon.received(Opcode.GET));
  }

  @Test
  void shouldNotRetryAPutUnlessConfigured() {
    KvStoreClient client = connect(builder().maxRetries(2));
    daemon.errors.put(Opcode.PUT, ErrorCode.OVERLOADED);
    KvStoreException e = assertThrows(KvStoreException.class,
        () -> client.put(new ByteBuffer[] {page(1, 1, NAMESPACE, 10, 1)}));
    assertEquals(ErrorCode.OVERLOADED, e.code());
    assertEquals(1, daemon.received(Opcode.PUT));

    KvStoreClient retrying = connect(builder().retryPuts(true).maxRetries(3));
    daemon.faults.put(Opcode.PUT, FakeDaemon.Fault.CLOSE);
    assertTrue(retrying.put(new ByteBuffer[] {page(1, 1, NAMESPACE, 10, 1)}).allStored());
    assertEquals(3, daemon.received(Opcode.PUT), "the PUT whose connection closed was sent again");
  }

  @Test
  void shouldReportTheDaemonErrorCodeWithoutRetryingARequestError() {
    KvStoreClient client = connect(builder());
    daemon.errors.put(Opcode.LOOKUP, ErrorCode.BATCH_TOO_LARGE);
    KvStoreException e = assertThrows(KvStoreException.class, () -> client.lookup(new long[] {1, 1}));
    assertEquals(ErrorCode.BATCH_TOO_LARGE, e.code());
    assertEquals(1, daemon.received(Opcode.LOOKUP));
  }

  @Test
  void shouldRetryOverloadedOnAnotherAttempt() {
    KvStoreClient client = connect(builder().maxRetries(1));
    daemon.errors.put(Opcode.STATS, ErrorCode.OVERLOADED);
    assertEquals("pages 0\n", client.stats());
    assertEquals(2, daemon.received(Opcode.STATS));
  }

  @Test
  void shouldReconnectAfterTheDaemonClosesTheConnection() {
    KvStoreClient client = connect(builder().connections(1).maxRetries(2));
    daemon.faults.put(Opcode.PING, FakeDaemon.Fault.CLOSE);
    assertTrue(client.ping() >= 0);
    assertEquals(2, daemon.connectionsAccepted.get());
  }

  @Test
  void shouldFailRequestsInFlightWhenTheConnectionCloses() {
    KvStoreClient client = connect(builder().connections(1).maxRetries(0));
    daemon.faults.put(Opcode.DELETE, FakeDaemon.Fault.CLOSE);
    KvStoreException e = assertThrows(KvStoreException.class, () -> client.delete(new long[] {1, 1}));
    assertEquals(ErrorCode.CONNECTION_CLOSED, e.code());
  }

  @Test
  void shouldNotBlameTheConnectionForTheLateErrorOfATimedOutRequest() throws InterruptedException {
    KvStoreClient client = connect(builder().connections(1).maxRetries(0)
        .requestTimeout(Duration.ofMillis(150)));
    daemon.responseDelayMs = 400;
    daemon.errors.put(Opcode.LOOKUP, ErrorCode.OVERLOADED);
    assertEquals(ErrorCode.CLIENT_TIMEOUT,
        assertThrows(KvStoreException.class, () -> client.lookup(new long[] {1, 1})).code());
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (client.discardedFrames() == 0 && System.nanoTime() < deadline) {
      Thread.sleep(5); // the late ERROR arrives and is dropped
    }
    assertEquals(1, client.discardedFrames());
    daemon.responseDelayMs = 0;
    daemon.faults.put(Opcode.DELETE, FakeDaemon.Fault.CLOSE);
    KvStoreException e = assertThrows(KvStoreException.class, () -> client.delete(new long[] {1, 1}));
    assertEquals(ErrorCode.CONNECTION_CLOSED, e.code(), e.getMessage());
  }

  @Test
  void shouldRefuseAWrongAuthTokenAtBuild() {
    daemon.authToken = "secret";
    KvStoreException e = assertThrows(KvStoreException.class, () -> connect(builder().authToken("nope")));
    assertEquals(ErrorCode.AUTH_FAILED, e.code());
    assertTrue(connect(builder().authToken("secret")).ping() >= 0);
  }

  @Test
  void shouldFailLocallyWhenEveryConnectionIsFull() {
    daemon.maxInFlightBytes = 1; // any request fills a connection
    daemon.responseDelayMs = 200;
    KvStoreClient client = connect(builder().connections(1).maxRetries(0));
    CompletableFuture<LookupResult> first = client.lookupAsync(new long[] {1, 1});
    CompletionException e = assertThrows(CompletionException.class,
        () -> client.lookupAsync(new long[] {2, 2}).join());
    assertEquals(ErrorCode.OVERLOADED, ((KvStoreException) e.getCause()).code());
    assertEquals(0, first.join().runLength(), "a request alone on a connection always goes");
  }

  @Test
  void shouldSplitAPutIntoFramesWithinTheDaemonLimits() {
    daemon.maxBatch = 3;
    daemon.maxPageLength = 1000;
    KvStoreClient client = connect(builder());
    ByteBuffer[] pages = new ByteBuffer[8];
    for (int i = 0; i < pages.length; i++) {
      pages[i] = page(i + 1, 0, NAMESPACE, i == 5 ? 2000 : 100, i);
    }
    PutResult result = client.put(pages);
    assertEquals(7, result.stored());
    assertEquals(ErrorCode.PAGE_TOO_LARGE, result.status(5));
    assertEquals(3, daemon.received(Opcode.PUT), "5 pages then 2 pages, at most 3 per frame");
    assertEquals(7, daemon.pages.size());
  }

  @Test
  void shouldSplitAPutIntoFramesOfAboutThePutFrameBytes() {
    KvStoreClient client = connect(builder().putFrameBytes(3 * (PageFormat.HEADER_LENGTH + 100)));
    ByteBuffer[] pages = new ByteBuffer[8];
    for (int i = 0; i < pages.length; i++) {
      pages[i] = page(i + 1, 0, NAMESPACE, i == 4 ? 500 : 100, i);
    }
    PutResult result = client.put(pages);
    assertTrue(result.allStored(), result.toString());
    // 3 pages; then page 3 alone (page 4 is too large to join it); page 4 alone (one page always
    // goes); then 3 pages.
    assertEquals(4, daemon.received(Opcode.PUT));
    assertEquals(8, daemon.pages.size());
  }

  @Test
  void shouldReportPagesOfAnotherNamespace() {
    KvStoreClient client = connect(builder());
    PutResult result = client.put(new ByteBuffer[] {page(1, 1, NAMESPACE + 1, 10, 1)});
    assertEquals(ErrorCode.NAMESPACE_DENIED, result.status(0));
  }

  @Test
  void shouldRejectBadArgumentsBeforeSending() {
    daemon.maxBatch = 2;
    KvStoreClient client = connect(builder());
    assertThrows(IllegalArgumentException.class, () -> client.lookup(new long[] {1, 2, 3}));
    assertThrows(IllegalArgumentException.class, () -> client.lookup(new long[] {1, 1, 2, 2, 3, 3}));
    assertThrows(IllegalArgumentException.class,
        () -> client.get(new long[] {1, 1}, new ByteBuffer[2]));
    assertThrows(IllegalStateException.class, () -> client.lookupTokens(new int[16]),
        "the token API needs a KeyChain");
    assertEquals(0, daemon.received(Opcode.LOOKUP));
  }

  @Test
  void shouldRefuseABlockingCallOnAnIoThread() {
    KvStoreClient client = connect(builder());
    daemon.responseDelayMs = 100; // the continuation is registered before the answer arrives
    CompletableFuture<Object> nested = client.pingAsync().thenApply(rtt -> {
      try {
        return client.ping();
      } catch (IllegalStateException e) {
        return e;
      }
    });
    assertTrue(nested.join() instanceof IllegalStateException);
  }

  @Test
  void shouldStoreAndFetchByTokens() {
    TestKeyChain chain = new TestKeyChain(NAMESPACE, 4);
    KvStoreClient client = connect(builder().namespaceId(NAMESPACE).keyChain(chain));
    int[] tokens = new int[18]; // 4 full blocks and 2 tokens left over
    for (int i = 0; i < tokens.length; i++) {
      tokens[i] = 1000 + i;
    }
    assertEquals(0, client.lookupTokens(tokens));
    ByteBuffer[] payloads = new ByteBuffer[3];
    for (int j = 0; j < 3; j++) {
      payloads[j] = ByteBuffer.allocateDirect(256);
      for (int b = 0; b < 256; b++) {
        payloads[j].put(b, (byte) (j * 7 + b));
      }
    }
    assertEquals(3, client.store(tokens, 0, payloads));
    assertEquals(12, client.lookupTokens(tokens));

    long[] keys = new long[8];
    chain.keys(tokens, 4, keys);
    byte[] second = daemon.pages.get(new BlockKey(keys[2], keys[3]));
    ByteBuffer header = ByteBuffer.wrap(second).order(ByteOrder.LITTLE_ENDIAN);
    assertEquals(PageFormat.OK, PageFormat.verify(header, 0, second.length));
    assertEquals(keys[0], PageFormat.parentHi(header, 0), "block 1's parent is block 0");
    assertEquals(keys[1], PageFormat.parentLo(header, 0));
    assertEquals(4, PageFormat.tokenCount(header, 0));
    assertEquals(NAMESPACE, PageFormat.namespaceId(header, 0));

    ByteBuffer[] dsts = new ByteBuffer[4];
    for (int i = 0; i < 4; i++) {
      dsts[i] = ByteBuffer.allocateDirect(PageFormat.HEADER_LENGTH + 256);
    }
    assertEquals(12, client.fetch(tokens, dsts));
    for (int j = 0; j < 3; j++) {
      assertArrayEquals(bytes(payloads[j], 0, 256), bytes(dsts[j], PageFormat.HEADER_LENGTH, 256));
    }
    assertEquals(3, client.prefetchTokens(tokens, 50));

    // Block 3 stored on its own: its parent is block 2.
    assertEquals(1, client.store(tokens, 3, new ByteBuffer[] {ByteBuffer.allocateDirect(8)}));
    assertEquals(16, client.lookupTokens(tokens));
  }

  @Test
  void shouldUseNioWhenNativeTransportIsNotWanted() {
    assertEquals("nio", connect(builder().preferNativeTransport(false)).transport());
    assertEquals(Epoll.isAvailable() ? "epoll" : "nio", connect(builder()).transport());
  }

  @Test
  void shouldFailRequestsAfterClose() {
    KvStoreClient client = builder().build();
    client.close();
    client.close();
    KvStoreException e = assertThrows(KvStoreException.class, client::ping);
    assertEquals(ErrorCode.CONNECTION_CLOSED, e.code());
  }
}
