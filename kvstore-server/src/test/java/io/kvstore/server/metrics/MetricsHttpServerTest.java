package io.kvstore.server.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.server.CannotStartException;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The endpoints' answers; {@link MetricsHttpServerSlowClientTest} covers misbehaving clients. */
class MetricsHttpServerTest {

  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final ServerMetrics metrics = new ServerMetrics(new MetricsRegistry());
  private final AtomicReference<HealthProbe.Status> ssd = new AtomicReference<>(HealthProbe.Status.OK);
  private final Health health = new Health(ssd::get);
  private MetricsHttpServer server;

  @BeforeEach
  void start() throws IOException {
    health.register(metrics.registry());
    server = MetricsHttpServer.start("127.0.0.1", 0, metrics.registry(), health);
    health.ready(true);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private HttpResponse<String> send(String method, String path, String... headers)
      throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
        .method(method, HttpRequest.BodyPublishers.noBody())
        .timeout(Duration.ofSeconds(10));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void shouldServeTheCurrentMetricsInThePrometheusTextFormat() throws Exception {
    metrics.connectionOpened();
    metrics.recordError("BAD_CHECKSUM");
    HttpResponse<String> r = send("GET", "/metrics");
    assertEquals(200, r.statusCode());
    assertEquals("text/plain; version=0.0.4; charset=utf-8", r.headers().firstValue("Content-Type").orElse(""));
    assertTrue(r.body().contains("# TYPE kvstore_connections gauge\nkvstore_connections 1.0\n"), r.body());
    assertTrue(r.body().contains("kvstore_errors_total{code=\"BAD_CHECKSUM\"} 1.0\n"), r.body());

    metrics.connectionOpened();
    assertTrue(send("GET", "/metrics").body().contains("kvstore_connections 2.0\n"));
  }

  @Test
  void shouldServeOpenMetricsWhenTheScraperAsksForIt() throws Exception {
    HttpResponse<String> r = send("GET", "/metrics",
        "Accept", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5");
    assertEquals(200, r.statusCode());
    assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/openmetrics-text"));
    assertTrue(r.body().endsWith("# EOF\n"), r.body());
  }

  @Test
  void shouldTellStartingReadyDegradedAndStoppingApart() throws Exception {
    server.close();
    Health fresh = new Health(ssd::get);
    server = MetricsHttpServer.start("127.0.0.1", 0, new MetricsRegistry(), fresh);

    assertAnswer(503, "not ready\n", send("GET", "/health"));
    assertAnswer(503, "{\"status\":\"starting\",\"ssd\":\"ok\"}\n", send("GET", "/health/ready"));
    assertAnswer(200, "{\"status\":\"live\"}\n", send("GET", "/health/live"));

    fresh.ready(true);
    assertAnswer(200, "ok\n", send("GET", "/health"));
    assertAnswer(200, "{\"status\":\"ready\",\"ssd\":\"ok\"}\n", send("GET", "/health/ready"));

    ssd.set(HealthProbe.Status.ssdDegraded("NO_SPACE", 1_764_622_800_000L));
    // Degraded still serves: readiness stays 200, the bodies say why.
    assertAnswer(200, "degraded: ssd NO_SPACE since 2025-12-01T21:00:00Z\n", send("GET", "/health"));
    assertAnswer(200, "{\"status\":\"degraded\",\"ssd\":\"NO_SPACE since 2025-12-01T21:00:00Z\"}\n",
        send("GET", "/health/ready"));

    ssd.set(HealthProbe.Status.OK);
    fresh.ready(false);
    assertAnswer(503, "not ready\n", send("GET", "/health"));
    assertAnswer(503, "{\"status\":\"stopping\",\"ssd\":\"ok\"}\n", send("GET", "/health/ready"));
    assertAnswer(200, "{\"status\":\"live\"}\n", send("GET", "/health/live"));
    fresh.ready(true); // a stopping daemon never becomes ready again
    assertEquals(503, send("GET", "/health").statusCode());
  }

  private static void assertAnswer(int status, String body, HttpResponse<String> r) {
    assertEquals(status, r.statusCode(), r.body());
    assertEquals(body, r.body());
  }

  @Test
  void shouldAnswer500WhenTheHealthProbeFailsAndStayLive() throws Exception {
    server.close();
    Health broken = new Health(() -> {
      throw new IllegalStateException("store closed");
    });
    broken.ready(true);
    server = MetricsHttpServer.start("127.0.0.1", 0, new MetricsRegistry(), broken);
    HttpResponse<String> r = send("GET", "/health");
    assertEquals(500, r.statusCode());
    assertEquals("health probe failed: java.lang.IllegalStateException: store closed\n", r.body());
    assertEquals(500, send("GET", "/health/ready").statusCode());
    assertEquals(200, send("GET", "/health/live").statusCode());
  }

  @Test
  void shouldExposeTheDegradedStateAsAGauge() throws Exception {
    assertTrue(send("GET", "/metrics").body().contains("\nkvstore_ssd_degraded 0.0\n"));
    ssd.set(HealthProbe.Status.ssdDegraded("IO_ERROR", 0));
    assertTrue(send("GET", "/metrics").body().contains("\nkvstore_ssd_degraded 1.0\n"));
  }

  @Test
  void shouldAnswerNotFoundAndWrongMethods() throws Exception {
    assertEquals(404, send("GET", "/").statusCode());
    assertEquals(404, send("GET", "/metrics/extra").statusCode());
    assertEquals(404, send("GET", "/metricsx").statusCode());
    assertEquals(200, send("GET", "/metrics?name[]=kvstore_connections").statusCode());

    HttpResponse<String> post = send("POST", "/metrics");
    assertEquals(405, post.statusCode());
    assertEquals("GET, HEAD", post.headers().firstValue("Allow").orElse(""));

    HttpResponse<String> head = send("HEAD", "/metrics");
    assertEquals(200, head.statusCode());
    assertEquals("", head.body());
  }

  @Test
  void shouldReportAFailingScrapeAs500AndKeepAnsweringHealth() throws Exception {
    GaugeWithCallback.builder().name("kvstore_test_failing").help("fails")
        .callback(cb -> {
          throw new IllegalStateException("store closed");
        })
        .register(metrics.registry().prometheus());
    HttpResponse<String> r = send("GET", "/metrics");
    assertEquals(500, r.statusCode());
    assertTrue(r.body().startsWith("scrape failed: "), r.body());
    assertTrue(r.body().contains("store closed"), r.body());
    assertEquals(200, send("GET", "/health").statusCode());
  }

  @Test
  void shouldAnswerHealthWhileAScrapeIsStuckAndRefuseScrapesBeyondTheQueue() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch entered = new CountDownLatch(1);
    GaugeWithCallback.builder().name("kvstore_test_slow").help("blocks until released")
        .callback(cb -> {
          entered.countDown();
          try {
            release.await(30, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          cb.call(1);
        })
        .register(metrics.registry().prometheus());
    server.close();
    server = MetricsHttpServer.start("127.0.0.1", 0, metrics.registry(), health,
        new MetricsHttpServer.Limits(Duration.ofSeconds(30), Duration.ofSeconds(30), 16, 1));
    var stuck = client.sendAsync(get("/metrics"), HttpResponse.BodyHandlers.ofString());
    assertTrue(entered.await(10, TimeUnit.SECONDS));
    var queued = client.sendAsync(get("/metrics"), HttpResponse.BodyHandlers.ofString());
    // Once the second scrape waits in the queue (of 1), a third is refused at once.
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (server.queuedScrapes() == 0 && System.nanoTime() < until) {
      Thread.sleep(10);
    }
    HttpResponse<String> refused = send("GET", "/metrics");
    assertEquals(503, refused.statusCode());
    assertEquals("too many scrapes at once; try again\n", refused.body());
    assertEquals(200, send("GET", "/health").statusCode());
    release.countDown();
    assertEquals(200, stuck.get(10, TimeUnit.SECONDS).statusCode());
    assertEquals(200, queued.get(10, TimeUnit.SECONDS).statusCode());
  }

  private HttpRequest get(String path) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
        .timeout(Duration.ofSeconds(20)).build();
  }

  @Test
  void shouldFailWithAClearErrorWhenThePortIsTaken() {
    CannotStartException e = assertThrows(CannotStartException.class,
        () -> MetricsHttpServer.start("127.0.0.1", server.port(), new MetricsRegistry(), health));
    assertEquals("cannot listen for metrics and health (HTTP) on 127.0.0.1:" + server.port()
        + ": address already in use: another process listens there; stop it or choose another"
        + " port (metrics.port, --metrics-port; 0 turns the metrics server off)", e.getMessage());
  }

  @Test
  void shouldReleaseThePortAndItsThreadsOnClose() throws Exception {
    int port = server.port();
    assertEquals(200, send("GET", "/metrics").statusCode());
    server.close();
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
        .timeout(Duration.ofSeconds(5)).build();
    assertThrows(ConnectException.class, () -> client.send(request, HttpResponse.BodyHandlers.ofString()));
    // Every other server of this JVM's tests was closed (and its threads awaited) before this one;
    // a thread may take a moment to end after signalling its termination.
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    boolean left;
    do {
      left = Thread.getAllStackTraces().keySet().stream()
          .anyMatch(t -> t.isAlive() && t.getName().startsWith("kvstore-metrics-"));
    } while (left && System.nanoTime() < until && sleep());
    assertFalse(left, "a kvstore-metrics- thread is left running");
    server.close(); // a second close is harmless
  }

  private static boolean sleep() throws InterruptedException {
    Thread.sleep(20);
    return true;
  }
}
