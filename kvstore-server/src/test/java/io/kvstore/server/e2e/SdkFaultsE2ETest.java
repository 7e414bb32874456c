package io.kvstore.server.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.GetResult;
import io.kvstore.client.KvStoreClient;
import io.kvstore.client.KvStoreException;
import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.server.KvStoreServerCommand;
import io.kvstore.server.net.NetFixtures;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SDK against the real daemon in a forked JVM, on a bad day: the daemon is SIGKILLed with GETs
 * in flight (every future fails with a KvStoreException and no caller buffer is written after it
 * completed), restarted on the same port and data directory with other limits (the client
 * reconnects by itself with backoff and re-reads the limits), then SIGSTOPped as a partition would
 * leave it (requests time out within the request timeout, keepalive PINGs retire the connections;
 * after SIGCONT the client recovers). Prints the figures: time for pending requests to fail after
 * the kill, time to reconnect after the restart, time to detect the partition, time to recover.
 * Slow: two forked daemons, each opening a Chronicle Map index (10-16 s on a busy 2-core machine).
 */
@Tag("slow")
class SdkFaultsE2ETest {

  private static final long NS = 0x0000FEED0000FA17L;
  private static final Pattern PORT = Pattern.compile("serving the kvstore protocol on [^:]+:(\\d+)");
  private static final byte SENTINEL = 0x5C;
  private static final int PAGE_PAYLOAD = 64 << 10;
  private static final int PAGES = 64;
  private static final int KEYS_PER_GET = 16;
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(3);
  private static final Duration PING_INTERVAL = Duration.ofSeconds(1);
  private static final Duration PING_TIMEOUT = Duration.ofSeconds(1);

  @TempDir Path dir;

  /** One forked daemon, its log, and signals sent to it. */
  private static final class Daemon implements AutoCloseable {
    final Process process;
    final List<String> lines = new CopyOnWriteArrayList<>();
    final long startedNanos;
    volatile int port = -1;

    Daemon(Path data, int port, String... extra) throws Exception {
      List<String> cmd = new ArrayList<>();
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      String flags = System.getProperty("kvstore.jvm.flags", "").trim();
      if (!flags.isEmpty()) {
        cmd.addAll(Arrays.asList(flags.split("\\s+")));
      }
      cmd.addAll(List.of("-Xmx512m", "-cp", System.getProperty("java.class.path"),
          KvStoreServerCommand.class.getName(), "--data-dir", data.toString(),
          "--port", Integer.toString(port), "--metrics-port", "0", "--hot-bytes", "0",
          "--dram-bytes", "0", "--ssd-bytes", "256MiB", "--shutdown-grace-seconds", "5"));
      cmd.addAll(List.of(extra));
      process = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      CountDownLatch started = new CountDownLatch(1);
      Thread reader = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
          for (String line; (line = r.readLine()) != null; ) {
            lines.add(line);
            Matcher m = PORT.matcher(line);
            if (m.find()) {
              this.port = Integer.parseInt(m.group(1));
            }
            if (line.contains("started; SIGTERM or Ctrl-C stops it gracefully")) {
              started.countDown();
            }
          }
        } catch (IOException e) {
          lines.add("reader failed: " + e);
        }
      }, "forked-daemon-log");
      reader.setDaemon(true);
      reader.start();
      if (!started.await(120, TimeUnit.SECONDS) || this.port < 0) {
        close();
        throw new AssertionError("daemon did not start:\n" + log());
      }
      startedNanos = System.nanoTime();
    }

    String log() {
      return String.join("\n", lines);
    }

    void signal(String name) throws Exception {
      Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid()))
          .redirectErrorStream(true).start();
      assertTrue(kill.waitFor(10, TimeUnit.SECONDS), "kill -" + name + " hung");
      assertEquals(0, kill.exitValue(), "kill -" + name + " failed");
      if (name.equals("STOP")) {
        awaitStopped();
      }
    }

    /**
     * Waits until every thread of the daemon is stopped. {@code kill} returns once the signal is
     * sent; a thread running on another CPU stops a moment later, and CI once saw the daemon
     * answer the GET sent right after {@code kill -STOP} returned.
     */
    private void awaitStopped() throws Exception {
      Path tasks = Path.of("/proc", Long.toString(process.pid()), "task");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (true) {
        boolean allStopped = true;
        try (var dirs = Files.list(tasks)) {
          for (Path task : (Iterable<Path>) dirs::iterator) {
            String stat;
            try {
              stat = Files.readString(task.resolve("stat"));
            } catch (IOException gone) {
              continue; // a thread that ended meanwhile
            }
            // The state follows the command name, which is in parentheses and may contain spaces.
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            if (state != 'T' && state != 't') {
              allStopped = false;
              break;
            }
          }
        }
        if (allStopped) {
          return;
        }
        assertTrue(System.nanoTime() < deadline, "the daemon's threads did not all stop");
        Thread.sleep(1);
      }
    }

    /** Never leaves a stopped or running daemon behind: SIGCONT (harmless if running), SIGKILL. */
    @Override
    public void close() {
      try {
        if (process.isAlive()) {
          signal("CONT");
        }
      } catch (Exception | AssertionError e) {
        // fall through to the kill
      }
      process.destroyForcibly();
      try {
        process.waitFor(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** One GET in flight and the buffers it was given. */
  private record Call(CompletableFuture<GetResult> future, ByteBuffer[] dsts) {}

  private static ByteBuffer[] buffers(int count) {
    ByteBuffer[] dsts = new ByteBuffer[count];
    for (int i = 0; i < count; i++) {
      dsts[i] = ByteBuffer.allocateDirect(PAGE_PAYLOAD + 64);
    }
    return dsts;
  }

  private static void fillSentinel(ByteBuffer b) {
    for (int i = 0; i < b.capacity(); i++) {
      b.put(i, SENTINEL);
    }
  }

  private static boolean untouched(ByteBuffer b) {
    for (int i = 0; i < b.capacity(); i++) {
      if (b.get(i) != SENTINEL) {
        return false;
      }
    }
    return true;
  }

  private static long[] keys(int from, int count) {
    long[] keys = new long[2 * count];
    for (int j = 0; j < count; j++) {
      keys[2 * j] = 3;
      keys[2 * j + 1] = from + j;
    }
    return keys;
  }

  private static long awaitMillis(BooleanSupplier condition, long limitSeconds, String what)
      throws InterruptedException {
    long start = System.nanoTime();
    long deadline = start + TimeUnit.SECONDS.toNanos(limitSeconds);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "gave up waiting " + limitSeconds + " s: " + what);
      Thread.sleep(5);
    }
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
  }

  private static boolean pings(KvStoreClient client) {
    try {
      return client.ping() >= 0;
    } catch (KvStoreException e) {
      return false;
    }
  }

  /**
   * The daemon's frame timeout measures the client, not the daemon: a frame half sent when the
   * daemon is stopped for longer than the timeout, and finished soon after it runs again, is
   * served. Before, the first tick after SIGCONT counted the stop as the client's and cut the
   * connection ({@code TIMEOUT: a frame was not completed within 2 s}).
   */
  @Test
  void shouldNotCountItsOwnStopAgainstAClientsHalfSentFrame() throws Exception {
    try (Daemon d = new Daemon(dir.resolve("stop"), 0, "--net-read-timeout-seconds", "2");
        RawClient c = new RawClient(d.port)) {
      assertEquals(io.kvstore.client.protocol.Opcode.HELLO_OK, c.hello(1, 1, 1, NS, "").opcode());
      ByteBuffer page = NetFixtures.page(7, 7, NS, PAGE_PAYLOAD);
      io.netty.buffer.ByteBuf frame = io.kvstore.client.protocol.PutFlyweight.encode(
          io.netty.buffer.UnpooledByteBufAllocator.DEFAULT, 2, new ByteBuffer[] {page.duplicate()},
          0, 1);
      byte[] bytes = new byte[frame.readableBytes()];
      frame.readBytes(bytes);
      frame.release();
      int half = bytes.length / 2;
      c.send(Arrays.copyOfRange(bytes, 0, half));
      Thread.sleep(200); // read by the daemon: the frame has begun
      d.signal("STOP");
      Thread.sleep(3_500); // longer than the 2 s frame timeout
      d.signal("CONT");
      Thread.sleep(300); // the daemon's timer runs again before the rest comes
      c.send(Arrays.copyOfRange(bytes, half, bytes.length));
      RawClient.Frame ok = c.read();
      assertEquals(io.kvstore.client.protocol.Opcode.PUT_OK, ok.opcode(), ok + "\n" + d.log());
      assertEquals(0, ok.bodyShort(8), "stored");
      c.keyBatch(io.kvstore.client.protocol.Opcode.GET, 0, 3, 0, 7, 7);
      RawClient.Frame got = c.read();
      assertEquals(io.kvstore.client.protocol.Opcode.GET_PAGE, got.opcode(), got.toString());
      assertEquals(io.kvstore.client.protocol.Opcode.GET_DONE, c.read().opcode());
      // A half-sent frame still gets cut when the client, not the daemon, is the one stalling.
      c.send(Arrays.copyOfRange(bytes, 0, half));
      RawClient.Frame cut = c.read();
      assertEquals(ErrorCode.TIMEOUT, cut.errorCode(), cut.toString());
    }
  }

  /** As above for the handshake: a HELLO sent soon after the daemon ran again is answered. */
  @Test
  void shouldNotCountItsOwnStopAgainstAClientsHandshake() throws Exception {
    try (Daemon d = new Daemon(dir.resolve("stop-hello"), 0, "--handshake-timeout-seconds", "2");
        RawClient c = new RawClient(d.port)) {
      Thread.sleep(200); // accepted: the handshake timer runs
      d.signal("STOP");
      Thread.sleep(3_500); // longer than the 2 s handshake timeout
      d.signal("CONT");
      Thread.sleep(300);
      RawClient.Frame hello = c.hello(1, 1, 1, NS, "");
      assertEquals(io.kvstore.client.protocol.Opcode.HELLO_OK, hello.opcode(),
          hello + "\n" + d.log());
      c.pingPong(2);
    }
  }

  @Test
  void shouldFailCleanlyReconnectAndRecoverThroughKillRestartAndPartition() throws Exception {
    Path data = dir.resolve("data");
    Daemon first = new Daemon(data, 0);
    Daemon second = null;
    try (KvStoreClient client = KvStoreClient.builder().address("127.0.0.1", first.port)
        .namespaceId(NS).connections(2).maxRetries(0)
        .requestTimeout(REQUEST_TIMEOUT).connectTimeout(Duration.ofSeconds(2))
        .pingInterval(PING_INTERVAL).pingTimeout(PING_TIMEOUT)
        .reconnectDelay(Duration.ofMillis(50)).maxReconnectDelay(Duration.ofMillis(500))
        .build()) {
      int port = first.port;
      long firstMaxBatch = client.serverLimits().maxBatch();
      ByteBuffer[] pages = new ByteBuffer[PAGES];
      for (int i = 0; i < PAGES; i++) {
        pages[i] = NetFixtures.page(3, i, NS, PAGE_PAYLOAD);
      }
      assertTrue(client.put(pages).allStored(), first.log());

      // ---- SIGKILL with GETs in flight
      List<Call> calls = new ArrayList<>();
      long loadUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
      while (System.nanoTime() < loadUntil) {
        long inFlight = calls.stream().filter(c -> !c.future.isDone()).count();
        if (inFlight < 8) {
          int from = calls.size() % (PAGES / KEYS_PER_GET) * KEYS_PER_GET;
          ByteBuffer[] dsts = buffers(KEYS_PER_GET);
          calls.add(new Call(client.getAsync(keys(from, KEYS_PER_GET), dsts), dsts));
        } else {
          Thread.sleep(1);
        }
      }
      // Freeze the daemon and send a few more GETs it cannot answer, so the kill is sure to find
      // requests in flight however fast the loop's own GETs were answered on a busy machine.
      first.signal("STOP");
      for (int j = 0; j < 4; j++) {
        int from = calls.size() % (PAGES / KEYS_PER_GET) * KEYS_PER_GET;
        ByteBuffer[] dsts = buffers(KEYS_PER_GET);
        calls.add(new Call(client.getAsync(keys(from, KEYS_PER_GET), dsts), dsts));
      }
      int pendingAtKill = (int) calls.stream().filter(c -> !c.future.isDone()).count();
      long killNanos = System.nanoTime();
      first.signal("KILL");
      CompletableFuture.allOf(calls.stream().map(Call::future).toArray(CompletableFuture<?>[]::new))
          .handle((v, e) -> null).get(30, TimeUnit.SECONDS);
      long failMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killNanos);
      int failed = 0;
      for (Call call : calls) {
        if (call.future.isCompletedExceptionally()) {
          failed++;
          Throwable cause = assertThrowsCompletion(call.future);
          assertTrue(cause instanceof KvStoreException, "not a KvStoreException: " + cause);
          assertEquals(ErrorCode.CONNECTION_CLOSED, ((KvStoreException) cause).code(), cause.getMessage());
        }
        for (ByteBuffer b : call.dsts) {
          fillSentinel(b); // every future is done: the buffers are the caller's again
        }
      }
      assertTrue(failed > 0, "the kill caught no request in flight (" + calls.size() + " calls)");
      Thread.sleep(1000);
      for (Call call : calls) {
        for (ByteBuffer b : call.dsts) {
          assertTrue(untouched(b), "a buffer was written after its future completed");
        }
      }
      assertTrue(first.process.waitFor(30, TimeUnit.SECONDS));
      awaitMillis(() -> client.openConnections() == 0, 10, "connections to the killed daemon dropped");
      KvStoreException down = assertThrowsKv(client::ping);
      assertEquals(ErrorCode.CONNECTION_CLOSED, down.code(), down.getMessage());

      // ---- restart on the same port and data directory, with other limits
      second = new Daemon(data, port, "--max-batch", "1000");
      long reconnectMillis = awaitMillis(() -> client.liveConnections() == 2, 30,
          "the client reconnected by itself");
      assertEquals(1000, client.serverLimits().maxBatch(), "limits re-read after the restart");
      assertNotEquals(firstMaxBatch, client.serverLimits().maxBatch());
      ByteBuffer[] dsts = buffers(KEYS_PER_GET);
      GetResult got = client.get(keys(0, KEYS_PER_GET), dsts);
      for (int j = 0; j < KEYS_PER_GET; j++) {
        if (got.isHit(j)) { // exact bytes or a miss, never other bytes
          assertArrayEquals(NetFixtures.bytes(pages[j]), NetFixtures.bytes(dsts[j], got.length(j)));
        }
      }
      ByteBuffer fresh = NetFixtures.page(4, 1, NS, PAGE_PAYLOAD);
      assertTrue(client.put(new ByteBuffer[] {fresh}).allStored(), second.log());

      // ---- SIGSTOP: the daemon keeps its sockets and answers nothing
      long stopNanos = System.nanoTime();
      second.signal("STOP");
      ByteBuffer[] partitioned = buffers(1);
      long requestStart = System.nanoTime();
      KvStoreException timedOut = assertThrowsKv(() -> client.get(new long[] {4, 1}, partitioned));
      long requestFailMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - requestStart);
      assertTrue(timedOut.code() == ErrorCode.CLIENT_TIMEOUT || timedOut.code() == ErrorCode.CONNECTION_CLOSED,
          timedOut.getMessage());
      assertTrue(requestFailMillis < REQUEST_TIMEOUT.toMillis() + 5_000,
          "a request waited " + requestFailMillis + " ms, beyond its timeout");
      fillSentinel(partitioned[0]);
      awaitMillis(() -> client.liveConnections() == 0, 30, "no connection is taken as live");
      long suspectMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stopNanos);
      awaitMillis(() -> client.openConnections() == 0, 30, "keepalive retired the connections");
      long detectMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stopNanos);
      // Calls while every connection is being remade to the stopped daemon (it accepts TCP and
      // answers no HELLO): each ends within its request timeout, the wait for a connection
      // included (it used to take up to the connect timeout on top of the whole request timeout).
      long slowest = 0;
      for (int j = 0; j < 3; j++) {
        ByteBuffer[] d = buffers(1);
        long s0 = System.nanoTime();
        KvStoreException blocked = assertThrowsKv(() -> client.get(new long[] {4, 1}, d));
        long s1 = System.nanoTime();
        Throwable async = assertThrowsCompletion(client.getAsync(new long[] {4, 1}, buffers(1)));
        long s2 = System.nanoTime();
        // A timeout, or the failed reconnect the call was waiting for: either way, in time.
        assertTrue(blocked.code() == ErrorCode.CLIENT_TIMEOUT
            || blocked.code() == ErrorCode.CONNECTION_CLOSED, blocked.getMessage());
        assertTrue(async instanceof KvStoreException k && (k.code() == ErrorCode.CLIENT_TIMEOUT
            || k.code() == ErrorCode.CONNECTION_CLOSED), String.valueOf(async));
        slowest = Math.max(slowest, Math.max(s1 - s0, s2 - s1));
      }
      long reconnectingMillis = TimeUnit.NANOSECONDS.toMillis(slowest);
      assertTrue(reconnectingMillis < REQUEST_TIMEOUT.toMillis() + 1_000,
          "a call waited " + reconnectingMillis + " ms for a stopped daemon, beyond its "
              + REQUEST_TIMEOUT.toMillis() + " ms timeout");

      long contNanos = System.nanoTime();
      second.signal("CONT");
      awaitMillis(() -> pings(client), 30, "the client recovered after SIGCONT");
      long recoverMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - contNanos);
      ByteBuffer back = buffers(1)[0];
      GetResult again = client.get(new long[] {4, 1}, new ByteBuffer[] {back});
      assertTrue(again.isHit(0), second.log());
      assertArrayEquals(NetFixtures.bytes(fresh), NetFixtures.bytes(back, again.length(0)));
      assertTrue(untouched(partitioned[0]), "the partitioned GET's buffer was written after it failed");

      System.out.printf("SDK faults against the real daemon (request timeout %d ms, PING every %d ms,"
              + " PING timeout %d ms, reconnect backoff 50..500 ms):%n"
              + "  SIGKILL with %d GETs in flight: all %d calls done %d ms after the kill (%d failed,"
              + " CONNECTION_CLOSED); no buffer written after its future completed%n"
              + "  restart on the same port: both connections back %d ms after the daemon said"
              + " started; max batch re-read %d -> %d%n"
              + "  SIGSTOP: a GET failed after %d ms (%s); no connection taken as live after %d ms,"
              + " every connection retired (closed) %d ms after the stop; while reconnecting,"
              + " the slowest call failed after %d ms%n"
              + "  SIGCONT: serving again after %d ms%n",
          REQUEST_TIMEOUT.toMillis(), PING_INTERVAL.toMillis(), PING_TIMEOUT.toMillis(),
          pendingAtKill, calls.size(), failMillis, failed, reconnectMillis, firstMaxBatch,
          client.serverLimits().maxBatch(), requestFailMillis, ErrorCode.name(timedOut.code()),
          suspectMillis, detectMillis, reconnectingMillis, recoverMillis);
    } finally {
      first.close();
      if (second != null) {
        second.close();
      }
    }
  }

  private static Throwable assertThrowsCompletion(CompletableFuture<?> future) {
    try {
      future.join();
    } catch (CompletionException e) {
      return e.getCause();
    }
    throw new AssertionError("completed normally");
  }

  private static KvStoreException assertThrowsKv(Runnable call) {
    try {
      call.run();
    } catch (KvStoreException e) {
      return e;
    }
    throw new AssertionError("no KvStoreException");
  }
}
