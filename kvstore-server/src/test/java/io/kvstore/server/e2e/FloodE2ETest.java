package io.kvstore.server.e2e;

import static io.kvstore.server.e2e.BadFramesE2ETest.NS_A;
import static io.kvstore.server.e2e.BadFramesE2ETest.NS_B;
import static io.kvstore.server.e2e.BadFramesE2ETest.TOKEN_A;
import static io.kvstore.server.e2e.BadFramesE2ETest.TOKEN_B;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.GetPageFlyweight;
import io.kvstore.client.protocol.HelloFlyweight;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.server.KvStoreServerCommand;
import io.kvstore.server.net.NetFixtures;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The figures of issue 9 against the real daemon in a forked JVM, whose resident memory is read
 * from {@code /proc/PID/status}:
 *
 * <ol>
 *   <li>1,000 connections each announcing a 64 MiB frame (before HELLO, and after HELLO with a
 *       valid token, 10 KB of the frame sent) raise the daemon's RSS by less than 64 MiB in all,
 *       and a well-behaved client is served meanwhile;
 *   <li>during a flood of 2,000 idle connections (1,000 that never send HELLO, from 200 source
 *       addresses, and 1,000 authenticated with one token), a new client with another token
 *       connects and is served.
 * </ol>
 *
 * The measured figures are printed ({@code FIGURE ...} lines); the assertions are bounds on
 * memory and a liveness limit of 10 s, not the speed. Linux only (reads {@code /proc}).
 */
@Tag("slow")
class FloodE2ETest {

  private static final Pattern PORT = Pattern.compile("serving the kvstore protocol on [^:]+:(\\d+)");

  @TempDir Path dir;
  private Process daemon;
  private final List<String> log = new CopyOnWriteArrayList<>();
  private final List<Socket> flood = new ArrayList<>();
  private int port = -1;

  private void startDaemon(String... extra) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    String flags = System.getProperty("kvstore.jvm.flags", "").trim();
    if (!flags.isEmpty()) {
      cmd.addAll(Arrays.asList(flags.split("\\s+")));
    }
    // The heap is committed and touched up front (-Xms = -Xmx, AlwaysPreTouch), so RSS growth during
    // a flood measures what the flood costs off the heap (buffers, sockets), not the JVM growing
    // its heap into pages it had reserved: that growth depends on GC timing and machine load.
    cmd.addAll(List.of("-Xmx256m", "-Xms256m", "-XX:+AlwaysPreTouch", "-cp", System.getProperty("java.class.path"),
        KvStoreServerCommand.class.getName(), "--data-dir", dir.resolve("data").toString(),
        "--port", "0", "--metrics-port", "0", "--hot-bytes", "0", "--dram-bytes", "64MiB",
        "--ssd-bytes", "0", "--shutdown-grace-seconds", "1", "--memory-prefault", "true",
        "--auth-token", "alice=" + TOKEN_A + ":" + Long.toHexString(NS_A),
        "--auth-token", "bob=" + TOKEN_B + ":" + Long.toHexString(NS_B)));
    cmd.addAll(Arrays.asList(extra));
    daemon = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    CountDownLatch started = new CountDownLatch(1);
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(
          new InputStreamReader(daemon.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          log.add(line);
          Matcher m = PORT.matcher(line);
          if (m.find()) {
            port = Integer.parseInt(m.group(1));
          }
          if (line.contains("started; SIGTERM or Ctrl-C stops it gracefully")) {
            started.countDown();
          }
        }
      } catch (IOException e) {
        log.add("reader failed: " + e);
      }
    }, "flood-daemon-log");
    reader.setDaemon(true);
    reader.start();
    assertTrue(started.await(90, TimeUnit.SECONDS) && port > 0, "daemon did not start:\n"
        + String.join("\n", log));
    awaitTierMemoryAllocated();
  }

  /**
   * Waits until the DRAM tier holds all its memory. With {@code memory.prefault} the daemon
   * allocates (and so touches) its 64 MiB of slabs in the background from the start; measured
   * before that is done, RSS growth during a flood would include those slabs, which the flood did
   * not cause (CI saw +69.5 MiB when a slab was allocated ahead during the measurement).
   */
  private void awaitTierMemoryAllocated() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    String stats = stats();
    while (dramMetric(stats, "kvstore_tier_memory_bytes")
        < dramMetric(stats, "kvstore_tier_capacity_bytes")) {
      assertTrue(System.nanoTime() < deadline, "DRAM tier memory not allocated in 60 s:\n" + stats);
      Thread.sleep(20);
      stats = stats();
    }
  }

  /** The daemon's STATS text, asked for on a new connection with Bob's token. */
  private String stats() throws IOException {
    try (RawClient c = new RawClient(port)) {
      assertEquals(Opcode.HELLO_OK, c.hello(1, 1, 1, NS_B, TOKEN_B).opcode());
      c.send(RawClient.header(16, Opcode.STATS, 0, 2));
      RawClient.Frame f = c.read();
      assertEquals(Opcode.STATS_OK, f.opcode(), f.toString());
      return new String(f.body(), StandardCharsets.UTF_8);
    }
  }

  private static long dramMetric(String stats, String name) {
    String prefix = name + "{tier=\"dram\"} ";
    return stats.lines().filter(l -> l.startsWith(prefix))
        .mapToLong(l -> (long) Double.parseDouble(l.substring(prefix.length())))
        .findFirst().orElseThrow(() -> new AssertionError("no " + prefix + "in\n" + stats));
  }

  /** The DRAM tier's memory must not have changed since start: RSS growth is the flood's. */
  private void assertTierMemoryUnchanged() throws IOException {
    String stats = stats();
    assertEquals(dramMetric(stats, "kvstore_tier_capacity_bytes"),
        dramMetric(stats, "kvstore_tier_memory_bytes"), stats);
  }

  @AfterEach
  void stop() throws Exception {
    for (Socket s : flood) {
      s.close();
    }
    if (daemon != null) {
      daemon.destroy();
      if (!daemon.waitFor(30, TimeUnit.SECONDS)) {
        daemon.destroyForcibly();
      }
    }
  }

  /** The daemon's resident set in bytes. */
  private long rss() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(daemon.pid()), "status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    throw new IOException("no VmRSS for " + daemon.pid());
  }

  /** A socket from {@code 127.0.0.<a>} (every 127/8 address is the loopback on Linux). */
  private Socket open(int sourceHost) throws IOException {
    Socket s = new Socket();
    s.bind(new InetSocketAddress("127.0.0." + sourceHost, 0));
    s.connect(new InetSocketAddress("127.0.0.1", port));
    s.setSoTimeout(10_000);
    flood.add(s);
    return s;
  }

  private static byte[] hello(long ns, String token) {
    io.netty.buffer.ByteBuf frame = HelloFlyweight.encode(UnpooledByteBufAllocator.DEFAULT, 1, 1, 1,
        64 << 20, ns, token.getBytes(StandardCharsets.UTF_8));
    try {
      return ByteBufUtil.getBytes(frame);
    } finally {
      frame.release(); // else Netty's leak detector reports each of the 1,000 (390 lines in CI)
    }
  }

  /** Reads one frame's opcode (and skips its body) from a flood socket. */
  private static int readOpcode(Socket s) throws IOException {
    byte[] h = s.getInputStream().readNBytes(16);
    if (h.length < 16) {
      return -1;
    }
    int length = ByteBuffer.wrap(h).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(0);
    s.getInputStream().readNBytes(length - 16);
    return h[4] & 0xFF;
  }

  /**
   * A well-behaved client: connects, HELLO with Bob's token, PUT of a 1 MiB page, GET of it back
   * byte for byte; returns the time it took in ms.
   */
  private long wellBehavedClient(long key) throws Exception {
    long t0 = System.nanoTime();
    try (RawClient c = new RawClient(port)) {
      assertEquals(Opcode.HELLO_OK, c.hello(1, 1, 1, NS_B, TOKEN_B).opcode());
      ByteBuffer page = NetFixtures.page(0xB0B, key, NS_B, 1 << 20);
      c.put(2, page);
      RawClient.Frame ok = c.read();
      assertEquals(ErrorCode.OK, ok.bodyShort(8), ok.toString());
      c.keyBatch(Opcode.GET, 0, 3, 0, 0xB0B, key);
      RawClient.Frame got = c.read();
      assertEquals(Opcode.GET_PAGE, got.opcode(), got.toString());
      assertArrayEquals(NetFixtures.bytes(page), Arrays.copyOfRange(got.body(),
          GetPageFlyweight.PAGE_OFFSET - 16, got.body().length));
      assertEquals(Opcode.GET_DONE, c.read().opcode());
    }
    return (System.nanoTime() - t0) / 1_000_000;
  }

  @Test
  void thousandConnectionsAnnouncing64MiBFramesShouldNotRaiseRssBy64MiB() throws Exception {
    startDaemon("--net-connections-per-token", "2000", "--max-connections", "4096");
    wellBehavedClient(1); // warm up: the daemon's allocator and code paths
    long before = rss();
    byte[] announce = RawClient.header(64 << 20, Opcode.PUT, 0, 7);
    byte[] tenKb = new byte[10_000];
    // 1,000 unauthenticated: a 64 MiB header and 10 KB, no HELLO.
    for (int i = 0; i < 1000; i++) {
      Socket s = open(2 + i % 200);
      s.getOutputStream().write(announce);
      s.getOutputStream().write(tenKb);
    }
    long preauthMs = wellBehavedClient(2);
    long afterPreauth = rss();
    for (Socket s : flood) {
      s.close();
    }
    flood.clear();
    // 1,000 authenticated with a valid token: HELLO, then a 64 MiB header and 10 KB, held open.
    for (int i = 0; i < 1000; i++) {
      Socket s = open(2 + i % 200);
      s.getOutputStream().write(hello(NS_A, TOKEN_A));
      assertEquals(Opcode.HELLO_OK, readOpcode(s));
      s.getOutputStream().write(announce);
      s.getOutputStream().write(tenKb);
    }
    Thread.sleep(500); // every announced frame read as far as it was sent
    long authMs = wellBehavedClient(3);
    long afterAuth = rss();
    System.out.printf("FIGURE rss before %.1f MiB; after 1,000 unauthenticated 64 MiB announcements"
        + " %.1f MiB (+%.1f); after 1,000 authenticated ones held open %.1f MiB (+%.1f);"
        + " well-behaved client served in %d ms and %d ms during them%n",
        before / 1048576.0, afterPreauth / 1048576.0, (afterPreauth - before) / 1048576.0,
        afterAuth / 1048576.0, (afterAuth - before) / 1048576.0, preauthMs, authMs);
    assertTierMemoryUnchanged();
    assertTrue(afterPreauth - before < 64L << 20, "RSS grew by " + (afterPreauth - before));
    assertTrue(afterAuth - before < 64L << 20, "RSS grew by " + (afterAuth - before));
    assertTrue(preauthMs < 10_000 && authMs < 10_000, "liveness: " + preauthMs + ", " + authMs);
  }

  @Test
  void aNewClientShouldBeServedDuringAFloodOf2000IdleConnections() throws Exception {
    startDaemon();
    wellBehavedClient(1);
    // 1,000 that never send HELLO, 5 from each of 200 source addresses.
    for (int i = 0; i < 1000; i++) {
      open(2 + i % 200);
    }
    // 1,000 that HELLO with one token and then idle (beyond its share they are refused).
    int authenticated = 0;
    for (int i = 0; i < 1000; i++) {
      Socket s = open(2 + i % 200);
      s.getOutputStream().write(hello(NS_A, TOKEN_A));
      if (readOpcode(s) == Opcode.HELLO_OK) {
        authenticated++;
      }
    }
    long[] ms = new long[5];
    for (int i = 0; i < ms.length; i++) {
      ms[i] = wellBehavedClient(10 + i);
    }
    long first = ms[0];
    long worst = Arrays.stream(ms).max().getAsLong();
    System.out.printf("FIGURE flood of 2,000 idle connections (1,000 before HELLO from 200"
        + " addresses, 1,000 HELLO with one token: %d authenticated, the rest refused"
        + " CONNECTION_LIMIT): a new client connected, said HELLO, put and got back a 1 MiB page"
        + " in %d ms (5 tries: %s ms)%n", authenticated, first, Arrays.toString(ms));
    assertTrue(worst < 10_000, "liveness: " + Arrays.toString(ms));
  }

  @Test
  void theRequestMemoryBudgetShouldBoundWhatAuthenticatedClientsCanMakeTheDaemonHold() throws Exception {
    startDaemon("--net-request-memory-bytes", "64MiB", "--net-read-timeout-seconds", "5",
        "--net-connections-per-token", "1000");
    wellBehavedClient(1);
    long before = rss();
    byte[] announce = RawClient.header(64 << 20, Opcode.PUT, 0, 7);
    byte[] chunk = new byte[64 << 10];
    // 200 authenticated connections each try to send 2 MiB of a 64 MiB frame: 400 MiB offered.
    List<Thread> senders = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      Socket s = open(2 + i % 200);
      s.getOutputStream().write(hello(NS_A, TOKEN_A));
      assertEquals(Opcode.HELLO_OK, readOpcode(s));
      Thread t = new Thread(() -> {
        try {
          s.getOutputStream().write(announce);
          for (int k = 0; k < 32; k++) {
            s.getOutputStream().write(chunk); // blocks once the daemon stops reading
          }
        } catch (IOException e) {
          // cut by the daemon's read timeout: expected
        }
      }, "flood-sender-" + i);
      t.setDaemon(true);
      t.start();
      senders.add(t);
    }
    Thread.sleep(2_000);
    long held = rss();
    // Small requests are served while the budget is spent (a connection below 64 KiB reads on).
    long t0 = System.nanoTime();
    try (RawClient c = new RawClient(port)) {
      assertEquals(Opcode.HELLO_OK, c.hello(1, 1, 1, NS_B, TOKEN_B).opcode());
      c.pingPong(2);
      c.keyBatch(Opcode.LOOKUP, 0, 3, 0, 0xB0B, 1);
      assertEquals(Opcode.LOOKUP_OK, c.read().opcode());
    }
    long smallMs = (System.nanoTime() - t0) / 1_000_000;
    // A 1 MiB PUT waits for room: the read timeout cuts the stalled frames and frees the budget.
    long bigMs = wellBehavedClient(2);
    for (Thread t : senders) {
      t.join(10_000);
    }
    System.out.printf("FIGURE request budget 64 MiB, 200 authenticated connections offering 2 MiB"
        + " each of a 64 MiB frame (400 MiB): rss %.1f -> %.1f MiB (+%.1f); small requests served"
        + " in %d ms meanwhile; a 1 MiB PUT+GET in %d ms (it waited for the 5 s read timeout to"
        + " cut the stalled frames)%n", before / 1048576.0, held / 1048576.0,
        (held - before) / 1048576.0, smallMs, bigMs);
    assertTierMemoryUnchanged();
    assertTrue(held - before < 160L << 20, "RSS grew by " + (held - before));
    assertTrue(smallMs < 10_000 && bigMs < 30_000, "liveness: " + smallMs + ", " + bigMs);
  }
}
