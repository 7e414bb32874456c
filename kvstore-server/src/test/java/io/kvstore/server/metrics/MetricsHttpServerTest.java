package io.kvstore.server.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MetricsHttpServerTest {

  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final ServerMetrics metrics = new ServerMetrics(new MetricsRegistry());
  private final AtomicInteger scrapes = new AtomicInteger();
  private MetricsHttpServer server;

  @BeforeEach
  void start() throws IOException {
    server = MetricsHttpServer.start("127.0.0.1", 0, () -> {
      scrapes.incrementAndGet();
      return metrics.registry().scrape();
    });
    server.ready(true);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private HttpResponse<String> send(String method, String path) throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
        .method(method, HttpRequest.BodyPublishers.noBody())
        .timeout(Duration.ofSeconds(10))
        .build();
    return client.send(request, HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void shouldServeTheCurrentMetricsText() throws Exception {
    metrics.connectionOpened();
    metrics.recordError("bad_frame");
    HttpResponse<String> r = send("GET", "/metrics");
    assertEquals(200, r.statusCode());
    assertEquals("text/plain; version=0.0.4; charset=utf-8", r.headers().firstValue("Content-Type").orElse(""));
    assertEquals(metrics.registry().scrape(), r.body());
    assertTrue(r.body().contains("kvstore_connections 1\n"));

    metrics.connectionOpened();
    assertTrue(send("GET", "/metrics").body().contains("kvstore_connections 2\n"));
    assertEquals(2, scrapes.get());
  }

  @Test
  void shouldAnswerHealth503UntilReadyAndOnceStopping() throws Exception {
    server.ready(false);
    HttpResponse<String> starting = send("GET", "/health");
    assertEquals(503, starting.statusCode());
    assertEquals("not ready\n", starting.body());
    server.ready(true);
    assertEquals(200, send("GET", "/health").statusCode());
    server.ready(false);
    assertEquals(503, send("GET", "/health").statusCode());
  }

  @Test
  void shouldAnswerHealthNotFoundAndWrongMethods() throws Exception {
    HttpResponse<String> health = send("GET", "/health");
    assertEquals(200, health.statusCode());
    assertEquals("ok\n", health.body());

    assertEquals(404, send("GET", "/").statusCode());
    assertEquals(404, send("GET", "/metrics/extra").statusCode());
    assertEquals(404, send("GET", "/metricsx").statusCode());

    HttpResponse<String> post = send("POST", "/metrics");
    assertEquals(405, post.statusCode());
    assertEquals("GET, HEAD", post.headers().firstValue("Allow").orElse(""));

    HttpResponse<String> head = send("HEAD", "/metrics");
    assertEquals(200, head.statusCode());
    assertEquals("", head.body());
    assertEquals(1, scrapes.get());
  }

  @Test
  void shouldReportAFailingScrapeAs500() throws Exception {
    server.close();
    server = MetricsHttpServer.start("127.0.0.1", 0, () -> {
      throw new IllegalStateException("store closed");
    });
    server.ready(true);
    HttpResponse<String> r = send("GET", "/metrics");
    assertEquals(500, r.statusCode());
    assertEquals("scrape failed: java.lang.IllegalStateException: store closed\n", r.body());
    assertEquals(200, send("GET", "/health").statusCode());
  }

  @Test
  void shouldReleaseThePortAndItsThreadsOnClose() throws Exception {
    int port = server.port();
    assertEquals(200, send("GET", "/health").statusCode());
    server.close();
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
        .timeout(Duration.ofSeconds(5)).build();
    assertThrows(ConnectException.class, () -> client.send(request, HttpResponse.BodyHandlers.ofString()));
    // Every other server of this JVM's tests was closed (and its threads awaited) before this one.
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      assertFalse(t.isAlive() && t.getName().startsWith("kvstore-metrics-http-"),
          "thread left running: " + t.getName());
    }
    server.close(); // a second close is harmless
  }
}
