package io.kvstore.server.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Serves {@code GET /metrics} (the Prometheus text format) and {@code GET /health} over HTTP with the JDK's built-in server, so the daemon needs no HTTP library. It owns its two
 * threads (two, so a slow scrape does not hold up a health check) and stops them in
 * {@link #close()}. Any other path is 404, any method other than GET or HEAD 405.
 *
 * <p>{@code /health} is readiness: {@code 200 ok} only while the daemon is serving (see {@link
 * #ready(boolean)}), {@code 503 not ready} before its protocol server listens and once it has begun
 * to stop, so that a load balancer or an orchestrator sends no client to a daemon that would
 * refuse it.
 */
public final class MetricsHttpServer implements AutoCloseable {

  private static final int THREADS = 2;

  private final HttpServer server;
  private final ExecutorService executor;
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile boolean ready;

  private MetricsHttpServer(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /**
   * Binds and starts the server.
   *
   * @param host the address to bind
   * @param port the port to bind; 0 picks a free one (see {@link #port()})
   * @param scrape produces the metrics text, called once per {@code GET /metrics}
   * @return the running server
   * @throws IOException if the address cannot be bound
   */
  public static MetricsHttpServer start(String host, int port, Supplier<String> scrape)
      throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 0);
    ExecutorService executor = Executors.newFixedThreadPool(THREADS, new NamedDaemonThreads());
    server.setExecutor(executor);
    MetricsHttpServer metrics = new MetricsHttpServer(server, executor);
    server.createContext("/", exchange -> metrics.handle(exchange, scrape));
    server.start();
    return metrics;
  }

  /**
   * Sets whether {@code /health} answers 200 (the daemon serves requests) or 503 (starting or
   * stopping). Starts not ready.
   *
   * @param isReady whether the daemon is serving
   */
  public void ready(boolean isReady) {
    ready = isReady;
  }

  /** The port the server is bound to. */
  public int port() {
    return server.getAddress().getPort();
  }

  /** Stops accepting, drops open exchanges and stops the threads; returns once they are gone. Idempotent. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    server.stop(0);
    executor.shutdownNow();
    try {
      if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
        throw new IllegalStateException("metrics HTTP threads did not stop within 5 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void handle(HttpExchange exchange, Supplier<String> scrape) throws IOException {
    try (exchange) {
      String method = exchange.getRequestMethod();
      String path = exchange.getRequestURI().getPath();
      boolean head = method.equals("HEAD");
      if (!method.equals("GET") && !head) {
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        respond(exchange, 405, "text/plain; charset=utf-8", "method not allowed\n", false);
      } else if (path.equals("/metrics")) {
        String text;
        try {
          text = scrape.get();
        } catch (RuntimeException e) {
          // A failing collector must not kill the exchange silently: say why, so it shows in the
          // scraper's target status.
          respond(exchange, 500, "text/plain; charset=utf-8", "scrape failed: " + e + "\n", head);
          return;
        }
        respond(exchange, 200, PrometheusTextWriter.CONTENT_TYPE, text, head);
      } else if (path.equals("/health")) {
        if (ready) {
          respond(exchange, 200, "text/plain; charset=utf-8", "ok\n", head);
        } else {
          respond(exchange, 503, "text/plain; charset=utf-8", "not ready\n", head);
        }
      } else {
        respond(exchange, 404, "text/plain; charset=utf-8", "not found: try /metrics or /health\n", head);
      }
    }
  }

  private static void respond(HttpExchange exchange, int status, String contentType, String body,
      boolean head) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", contentType);
    if (head) {
      exchange.sendResponseHeaders(status, -1);
      return;
    }
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream os = exchange.getResponseBody()) {
      os.write(bytes);
    }
  }

  /** Daemon threads, so a server that was never closed cannot keep the JVM alive. */
  private static final class NamedDaemonThreads implements ThreadFactory {
    private static final AtomicInteger SERVERS = new AtomicInteger();
    private final int server = SERVERS.incrementAndGet();
    private final AtomicInteger threads = new AtomicInteger();

    @Override
    public Thread newThread(Runnable r) {
      Thread t = new Thread(r, "kvstore-metrics-http-" + server + "-" + threads.incrementAndGet());
      t.setDaemon(true);
      return t;
    }
  }
}
