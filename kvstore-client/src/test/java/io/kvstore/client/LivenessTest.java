package io.kvstore.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.Opcode;
import io.netty.channel.Channel;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Keepalive PING, retiring a connection that stops answering, reconnecting after a restart. */
class LivenessTest extends FakeDaemonTestBase {

  private static final long NAMESPACE = 0x5EED_0000_0000_0003L;

  private KvStoreClientBuilder builder() {
    return KvStoreClient.builder()
        .address("127.0.0.1", daemon.port())
        .namespaceId(NAMESPACE)
        .connections(2)
        .ioThreads(1)
        .callerDrivenIo(false) // the pipelined connections' keepalive and reconnects
        .maxRetries(0)
        .reconnectDelay(Duration.ofMillis(20))
        .maxReconnectDelay(Duration.ofMillis(200))
        .connectTimeout(Duration.ofSeconds(2));
  }

  private static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "gave up waiting: " + what);
      Thread.sleep(5);
    }
  }

  @Test
  void shouldPingAnIdleConnection() throws Exception {
    KvStoreClient client = connect(builder().pingInterval(Duration.ofMillis(50)));
    awaitTrue(() -> daemon.received(Opcode.PING) >= 4, "keepalive PINGs on both idle connections");
    // A connection is suspect only while its PING is unanswered: with a 50 ms interval one may be
    // in that window at any instant, so wait for the answered state rather than sample it.
    awaitTrue(() -> client.liveConnections() == 2, "answered PINGs leave both connections live");
    assertEquals(2, daemon.connectionsAccepted.get(), "answered PINGs keep the connections");
  }

  @Test
  void shouldRetireAConnectionThatStopsAnsweringAndReconnect() throws Exception {
    KvStoreClient client = connect(builder()
        .pingInterval(Duration.ofMillis(100)).pingTimeout(Duration.ofMillis(200)));
    daemon.silent = true; // sockets open, nothing answered: a stopped daemon, a partition
    awaitTrue(() -> daemon.connectionsAccepted.get() >= 4, "both connections retired and replaced");
    daemon.silent = false;
    awaitTrue(() -> client.liveConnections() == 2, "fresh connections answer");
    assertTrue(client.ping() >= 0);
  }

  @Test
  void shouldProbeAfterATimeoutAndPreferTheLiveConnection() throws Exception {
    // Long PING interval: only the request timeout can trigger the probe.
    KvStoreClient client = connect(builder().pingInterval(Duration.ofMinutes(5))
        .pingTimeout(Duration.ofMillis(300)).requestTimeout(Duration.ofMillis(200)));
    daemon.silent = true;
    KvStoreException e = assertThrows(KvStoreException.class, () -> client.lookup(new long[] {1, 1}));
    assertEquals(ErrorCode.CLIENT_TIMEOUT, e.code());
    awaitTrue(() -> daemon.received(Opcode.PING) >= 1, "a probe followed the timeout");
    awaitTrue(() -> client.liveConnections() == 1, "the probed connection is suspect");
    awaitTrue(() -> daemon.connectionsAccepted.get() >= 3, "then retired and replaced");
    daemon.silent = false;
    awaitTrue(() -> client.liveConnections() == 2, "recovered");
  }

  @Test
  void shouldBackOffFromADaemonThatDropsEveryConnectionAfterItsHandshake() throws Exception {
    KvStoreClient client = connect(builder().connections(1)
        .reconnectDelay(Duration.ofMillis(200)).maxReconnectDelay(Duration.ofSeconds(1)));
    daemon.faults.put(Opcode.PING, FakeDaemon.Fault.CLOSE);
    assertThrows(KvStoreException.class, client::ping);
    // Each new connection is dropped at its first PING: the pool must slow down, not spin.
    int before = daemon.connectionsAccepted.get();
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
    while (System.nanoTime() < until) {
      daemon.faults.put(Opcode.PING, FakeDaemon.Fault.CLOSE);
      try {
        client.ping();
      } catch (KvStoreException e) {
        // expected: dropped, or no connection while backing off
      }
      Thread.sleep(5);
    }
    int reconnects = daemon.connectionsAccepted.get() - before;
    // Without backoff this is one reconnect per loop turn (hundreds); with it, about one per
    // 100-1000 ms of delay.
    assertTrue(reconnects < 30, reconnects + " reconnects in 2 s");
    assertTrue(reconnects >= 1, "the pool gave up reconnecting");
  }

  @Test
  void shouldReconnectByItselfAndReReadTheLimitsAfterARestart() throws Exception {
    daemon.maxBatch = 100;
    KvStoreClient client = connect(builder());
    assertEquals(100, client.serverLimits().maxBatch());
    int port = daemon.port();
    daemon.close();
    awaitTrue(() -> client.liveConnections() == 0, "connections lost");
    KvStoreException down = assertThrows(KvStoreException.class, client::ping);
    assertEquals(ErrorCode.CONNECTION_CLOSED, down.code(), "fails at once while the daemon is down");
    assertTrue(down.isRetryable());

    Thread.sleep(300); // a few failed attempts: the backoff grows to its bound
    daemon = new FakeDaemon(port);
    daemon.maxBatch = 200;
    awaitTrue(() -> client.liveConnections() == 2, "reconnected without any request");
    assertEquals(200, client.serverLimits().maxBatch(), "limits re-read at the new handshake");
    assertTrue(client.ping() >= 0);
  }

  @Test
  void shouldKeepAConnectionThatIsSlowlyTakingALargePut() throws Exception {
    daemon.stallReadsAfterHello = true;
    KvStoreClient client = connect(builder().connections(1)
        .pingInterval(Duration.ofMillis(100)).pingTimeout(Duration.ofSeconds(2))
        .requestTimeout(Duration.ofSeconds(120)));
    Channel stalled = daemon.stalled.get(0);
    int pageLength = 24 << 20;
    long helloBytes = daemon.bytesRead.get();
    AtomicBoolean done = new AtomicBoolean();
    Thread trickle = new Thread(() -> {
      // The daemon reads a little every 100 ms and sends nothing until the frame is whole: the
      // keepalive PINGs go unanswered (they are queued behind the PUT) for many PING timeouts, but
      // the PUT's write keeps moving. The last 8 MiB (more than the socket buffers can hold, so
      // the client's write is over by then) are read at full speed.
      while (!done.get() && daemon.bytesRead.get() - helloBytes < pageLength - (8 << 20)) {
        stalled.config().setAutoRead(true);
        sleep(1);
        stalled.config().setAutoRead(false);
        sleep(100);
      }
      stalled.config().setAutoRead(true);
    }, "trickle-reader");
    trickle.start();
    try {
      ByteBuffer page = KvStoreClientTest.page(5, 5, NAMESPACE, pageLength, 5);
      assertTrue(client.put(new ByteBuffer[] {page}).allStored());
    } finally {
      done.set(true);
      trickle.join();
    }
    assertEquals(1, daemon.connectionsAccepted.get(), "the slow connection was retired");
    awaitTrue(() -> daemon.received(Opcode.PING) > 0, "PINGs were sent meanwhile");
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * A call made while the connections are being remade to a stopped daemon (it accepts TCP and
   * answers no HELLO) ends within its own timeout. It used to wait for the reconnect first (up to
   * the connect timeout, 3 s here) and only then start its timeout: 3 s and more for a 0.5 s
   * timeout, on the pipelined path and on a blocking call's own connection alike.
   */
  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void shouldEndACallWithinItsTimeoutWhileConnectionsAreRemadeToAStoppedDaemon(boolean callerDriven)
      throws Exception {
    KvStoreClient client = connect(builder().callerDrivenIo(callerDriven)
        .pingInterval(Duration.ofMinutes(5)).requestTimeout(Duration.ofMillis(500))
        .connectTimeout(Duration.ofSeconds(3)));
    assertTrue(client.ping() >= 0);
    daemon.stopped = true;
    daemon.open.forEach(Channel::close); // the client reconnects: no HELLO answer
    awaitTrue(() -> client.liveConnections() == 0, "the closed connections noticed");
    for (int i = 0; i < 3; i++) {
      long start = System.nanoTime();
      KvStoreException e =
          assertThrows(KvStoreException.class, () -> client.lookup(new long[] {1, 1}));
      long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertTrue(e.code() == ErrorCode.CLIENT_TIMEOUT || e.code() == ErrorCode.CONNECTION_CLOSED,
          e.getMessage());
      // The timeout is 500 ms, a reconnect's HELLO waits up to 3,000: well apart.
      assertTrue(ms < 1_500, "call " + i + " took " + ms + " ms: " + e.getMessage());
    }
    long start = System.nanoTime();
    java.util.concurrent.CompletableFuture<LookupResult> async = client.lookupAsync(new long[] {1, 1});
    java.util.concurrent.ExecutionException failed =
        assertThrows(java.util.concurrent.ExecutionException.class,
            () -> async.get(10, TimeUnit.SECONDS));
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertTrue(ms < 1_500, "the async call took " + ms + " ms: " + failed.getCause());
  }
}
