package io.kvstore.server.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Clients that stall, trickle or never read cannot make {@code /health} or {@code /metrics} fail
 * (the old JDK-server endpoint lost {@code /health} to two clients sending half a request), and
 * each is cut after its timeout. Latencies are printed for the record; the only bounds asserted
 * are liveness bounds far above any normal answer and below the timeouts that would otherwise
 * have freed the server.
 */
class MetricsHttpServerSlowClientTest {

  private static final int STALLED = 50;
  private static final String HALF_REQUEST = "GET /health HTTP/1.1\r\nHost: x\r\n";

  private final MetricsRegistry registry = new MetricsRegistry();
  private final Health health = new Health(HealthProbe.NEVER_DEGRADED);
  private final List<Socket> sockets = new ArrayList<>();
  private MetricsHttpServer server;

  @AfterEach
  void stop() throws IOException {
    for (Socket s : sockets) {
      s.close();
    }
    if (server != null) {
      server.close();
    }
  }

  private void start(Duration requestTimeout, Duration writeTimeout, int maxConnections) throws IOException {
    new ServerMetrics(registry);
    health.ready(true);
    server = MetricsHttpServer.start("127.0.0.1", 0, registry, health,
        new MetricsHttpServer.Limits(requestTimeout, writeTimeout, maxConnections, 4));
  }

  private Socket connect() throws IOException {
    Socket s = new Socket();
    sockets.add(s);
    s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5_000);
    s.setSoTimeout(15_000);
    return s;
  }

  @Test
  void shouldAnswerWhileFiftyClientsStallMidRequestAndStillServeThemIfTheyFinish() throws Exception {
    // Long request timeout: the stalled clients stay connected throughout the checks below.
    start(Duration.ofSeconds(60), Duration.ofSeconds(10), 256);
    List<Socket> stalled = new ArrayList<>();
    for (int i = 0; i < STALLED; i++) {
      Socket s = connect();
      s.getOutputStream().write(HALF_REQUEST.getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      stalled.add(s);
    }
    long t0 = System.nanoTime();
    String healthAnswer = exchange("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    long healthNanos = System.nanoTime() - t0;
    t0 = System.nanoTime();
    String metricsAnswer = exchange("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    long metricsNanos = System.nanoTime() - t0;
    System.out.printf("with %d stalled clients: /health answered in %.2f ms, /metrics in %.2f ms%n",
        STALLED, healthNanos / 1e6, metricsNanos / 1e6);
    assertTrue(healthAnswer.startsWith("HTTP/1.1 200 OK\r\n"), healthAnswer);
    assertTrue(healthAnswer.endsWith("\r\n\r\nok\n"), healthAnswer);
    assertTrue(metricsAnswer.startsWith("HTTP/1.1 200 OK\r\n"), metricsAnswer);
    assertTrue(metricsAnswer.contains("kvstore_connections 0.0\n"), metricsAnswer);
    // Liveness, not speed: the old server answered only once a stalled client gave up.
    assertTrue(healthNanos < TimeUnit.SECONDS.toNanos(10), "health took " + healthNanos / 1e6 + " ms");

    // The stalled clients were held, not dropped: each finishes its request and is answered.
    for (Socket s : stalled) {
      s.getOutputStream().write("Connection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      assertTrue(answer.startsWith("HTTP/1.1 200 OK\r\n"), answer);
    }
  }

  @Test
  void shouldCloseStalledTricklingAndIdleConnectionsAfterTheRequestTimeout() throws Exception {
    start(Duration.ofSeconds(1), Duration.ofSeconds(10), 256);
    List<Socket> stalled = new ArrayList<>();
    for (int i = 0; i < STALLED; i++) {
      Socket s = connect();
      s.getOutputStream().write(HALF_REQUEST.getBytes(StandardCharsets.US_ASCII));
      stalled.add(s);
    }
    Socket idle = connect(); // connects, sends nothing
    // A keep-alive client that got its answer and then sits idle.
    Socket keptAlive = connect();
    keptAlive.getOutputStream().write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    // A slow-loris client: one byte every 200 ms, so the connection is never idle for long, yet
    // its request never completes; a plain read-idle timeout would keep it forever.
    Socket trickler = connect();
    long t0 = System.nanoTime();
    OutputStream out = trickler.getOutputStream();
    byte[] header = "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".getBytes(StandardCharsets.US_ASCII);
    out.write(HALF_REQUEST.getBytes(StandardCharsets.US_ASCII));
    boolean cut = false;
    for (int i = 0; i < header.length && !cut; i++) {
      try {
        out.write(header[i]);
        out.flush();
        Thread.sleep(200);
      } catch (SocketException e) {
        cut = true; // the server closed it: a write after the close fails
      }
    }
    long tricklerNanos = System.nanoTime() - t0;
    assertTrue(cut || endOfStream(trickler), "the trickling client was not cut");
    System.out.printf("trickling client cut after %.2f s (request timeout 1 s)%n", tricklerNanos / 1e9);

    for (Socket s : stalled) {
      assertTrue(endOfStream(s), "a stalled connection is still open");
    }
    assertTrue(endOfStream(idle), "an idle connection is still open");
    String answer = new String(keptAlive.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    assertTrue(answer.startsWith("HTTP/1.1 200 OK\r\n"), answer); // answered, then cut when idle
    System.out.printf("%d stalled, 1 idle and 1 kept-alive connection closed %.2f s after start%n",
        STALLED, (System.nanoTime() - t0) / 1e9);
    assertTrue(exchange("GET /health HTTP/1.0\r\n\r\n").startsWith("HTTP/1.1 200 OK\r\n"));
  }

  /** Reads until the server closes the connection: true on end of stream or a reset. */
  private static boolean endOfStream(Socket s) throws IOException {
    InputStream in = s.getInputStream();
    try {
      while (in.read() >= 0) {
        // discard whatever answer came before the close
      }
      return true;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (SocketException e) {
      return true; // reset: closed with unread data
    }
  }

  @Test
  void shouldNotLetAClientThatNeverReadsBlockOthersAndCutItAfterTheWriteTimeout() throws Exception {
    start(Duration.ofSeconds(30), Duration.ofSeconds(1), 256);
    // A /metrics answer of ~12 MB, far more than the socket buffers between server and client
    // can hold (Linux lets a loopback send buffer grow to 4 MiB): the write cannot complete.
    GaugeWithCallback.builder().name("kvstore_test_wide").help("many series").labelNames("n")
        .callback(cb -> {
          for (int i = 0; i < 300_000; i++) {
            cb.call(i, "s" + i);
          }
        })
        .register(registry.prometheus());
    Socket reader = connect();
    reader.getOutputStream().write("GET /metrics HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    int fullLength = reader.getInputStream().readAllBytes().length;
    assertTrue(fullLength > 10_000_000, "answer of " + fullLength + " bytes");

    Socket nonReader = new Socket();
    sockets.add(nonReader);
    nonReader.setReceiveBufferSize(4096);
    nonReader.connect(new InetSocketAddress("127.0.0.1", server.port()), 5_000);
    nonReader.setSoTimeout(15_000);
    nonReader.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));

    long t0 = System.nanoTime();
    String healthAnswer = exchange("GET /health HTTP/1.0\r\n\r\n");
    long healthNanos = System.nanoTime() - t0;
    System.out.printf("with a client not reading a %d-byte answer: /health answered in %.2f ms%n",
        fullLength, healthNanos / 1e6);
    assertTrue(healthAnswer.startsWith("HTTP/1.1 200 OK\r\n"), healthAnswer);
    assertTrue(exchange("GET /metrics HTTP/1.0\r\n\r\n").length() >= fullLength - 10_000);

    // Let the write timeout pass, then read: the server gave up part-way.
    Thread.sleep(3_000);
    long got = 0;
    InputStream in = nonReader.getInputStream();
    byte[] buf = new byte[64 * 1024];
    try {
      for (int n; (n = in.read(buf)) >= 0; ) {
        got += n;
      }
    } catch (SocketException e) {
      // reset: also a cut
    }
    System.out.printf("the non-reading client got %d of %d bytes before the cut%n", got, fullLength);
    assertTrue(got < fullLength, "the non-reading client got the whole answer: it was not cut");
  }

  @Test
  void shouldRefuseConnectionsBeyondTheCapAndRecover() throws Exception {
    start(Duration.ofSeconds(60), Duration.ofSeconds(10), 5);
    for (int i = 0; i < 5; i++) {
      connect().getOutputStream().write(HALF_REQUEST.getBytes(StandardCharsets.US_ASCII));
    }
    Socket sixth = connect();
    assertTrue(endOfStream(sixth), "the sixth connection was not refused");
    for (Socket s : sockets) {
      s.close();
    }
    sockets.clear();
    String answer = "";
    for (int i = 0; i < 50 && !answer.startsWith("HTTP/1.1 200"); i++) {
      answer = exchangeOrEmpty("GET /health HTTP/1.0\r\n\r\n"); // the closes reach the server
      if (!answer.startsWith("HTTP/1.1 200")) {
        Thread.sleep(20);
      }
    }
    assertTrue(answer.startsWith("HTTP/1.1 200 OK\r\n"), answer);
  }

  private String exchangeOrEmpty(String request) {
    try {
      return exchange(request);
    } catch (IOException e) {
      return "";
    }
  }

  /** Sends one request on a new connection and reads the answer until the server closes. */
  private String exchange(String request) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5_000);
      s.setSoTimeout(15_000);
      s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    }
  }

  @Test
  void shouldAnswerBadRequestToAMalformedRequestLine() throws Exception {
    start(Duration.ofSeconds(10), Duration.ofSeconds(10), 16);
    String answer = exchange("NOT HTTP AT ALL\r\n\r\n");
    assertTrue(answer.startsWith("HTTP/1.1 400 Bad Request\r\n"), answer);
    String tooLong = exchange("GET /" + "a".repeat(10_000) + " HTTP/1.1\r\nHost: x\r\n\r\n");
    assertTrue(tooLong.isEmpty() || tooLong.startsWith("HTTP/1.1 4"), tooLong);
    assertEquals(200, Integer.parseInt(exchange("GET /health HTTP/1.0\r\n\r\n").substring(9, 12)));
  }
}
