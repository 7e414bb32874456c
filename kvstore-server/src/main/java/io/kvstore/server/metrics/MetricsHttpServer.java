package io.kvstore.server.metrics;

import io.kvstore.server.CannotStartException;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.WriteTimeoutHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Serves {@code GET /metrics} and the health endpoints over HTTP/1.1 (see {@code docs/metrics.md}):
 *
 * <ul>
 *   <li>{@code /metrics}: every metric of a {@link MetricsRegistry}, in the Prometheus text format
 *       0.0.4, or OpenMetrics when the scraper's {@code Accept} asks for it;
 *   <li>{@code /health/live}: 200 while the process answers HTTP;
 *   <li>{@code /health/ready}: 200 while the daemon serves the protocol (degraded or not), 503
 *       while it starts and once it stops; a JSON body says which, and why it is degraded;
 *   <li>{@code /health}: the same status as {@code /health/ready} with a one-line text body
 *       ({@code ok}), as the Docker health check and older probes read it.
 * </ul>
 *
 * Any other path is 404, any method other than GET or HEAD 405.
 *
 * <p><b>Why Netty and not the JDK's {@code HttpServer}</b> (which the Prometheus client's
 * {@code exporter-httpserver} wraps). The JDK server has no per-request read timeout unless the
 * {@code sun.net.httpserver.maxReqTime}/{@code maxRspTime} system properties are set before its
 * implementation class loads (global to the JVM, read once, undocumented in the API), and it runs
 * handlers on a fixed pool: two clients that send half a request held both threads of the old
 * server and made {@code /health} fail for as long as they liked. Here, as on the protocol port:
 *
 * <ul>
 *   <li>one event-loop thread owns every connection and never blocks, so a stalled client costs a
 *       socket and a few hundred bytes of decoder state, not a thread;
 *   <li>a request must arrive whole within {@link Limits#requestTimeout} of the connection opening
 *       or of the previous answer (a slow-loris client that trickles bytes is cut as surely as one
 *       that stops; idle keep-alive connections end the same way);
 *   <li>an answer must be written within {@link Limits#writeTimeout} ({@link WriteTimeoutHandler}),
 *       so a client that never reads is cut and its buffer freed; meanwhile it blocks no one,
 *       because writes are asynchronous;
 *   <li>request lines and headers are bounded (4 KiB, 8 KiB) and a body is refused (GETs have
 *       none), one request per connection is processed at a time (reading pauses until its answer
 *       is written), and connections are capped at {@link Limits#maxConnections};
 *   <li>scrapes, which read the store and the JVM, run on one scrape thread with a short queue
 *       ({@link Limits#maxQueuedScrapes}; beyond it 503), never on the event loop, so health
 *       checks are answered while a scrape runs.
 * </ul>
 *
 * <p>The server owns its event-loop thread and its scrape thread and stops both in {@link
 * #close()}.
 */
public final class MetricsHttpServer implements AutoCloseable {

  /**
   * The server's bounds.
   *
   * @param requestTimeout how long a connection may take to send a whole request (from its
   *     opening or from the previous answer); then it is closed
   * @param writeTimeout how long one answer may take to be written; then the connection is closed
   * @param maxConnections connections open at once; more are closed at once
   * @param maxQueuedScrapes scrapes waiting for the scrape thread; more are answered 503
   */
  public record Limits(
      Duration requestTimeout, Duration writeTimeout, int maxConnections, int maxQueuedScrapes) {

    /** 10 s to send a request or to read an answer, 256 connections, 4 scrapes queued. */
    public static final Limits DEFAULT = new Limits(Duration.ofSeconds(10), Duration.ofSeconds(10), 256, 4);

    /** Checks the bounds. */
    public Limits {
      if (requestTimeout.isNegative() || requestTimeout.isZero()
          || writeTimeout.isNegative() || writeTimeout.isZero()) {
        throw new IllegalArgumentException("metrics HTTP timeouts must be positive");
      }
      if (maxConnections < 1 || maxQueuedScrapes < 1) {
        throw new IllegalArgumentException("metrics HTTP limits must be at least 1");
      }
    }
  }

  private static final int MAX_INITIAL_LINE = 4096;
  private static final int MAX_HEADERS = 8192;
  private static final int MAX_BODY = 0;

  private final EventLoopGroup group;
  private final ThreadPoolExecutor scrapes;
  private final Channel serverChannel;
  private final ChannelGroup connections;
  private final AtomicBoolean closed = new AtomicBoolean();

  private MetricsHttpServer(EventLoopGroup group, ThreadPoolExecutor scrapes, Channel serverChannel,
      ChannelGroup connections) {
    this.group = group;
    this.scrapes = scrapes;
    this.serverChannel = serverChannel;
    this.connections = connections;
  }

  /**
   * Binds and starts the server with {@link Limits#DEFAULT}.
   *
   * @param host the address to bind
   * @param port the port to bind; 0 picks a free one (see {@link #port()})
   * @param registry the metrics to serve
   * @param health what the health endpoints say
   * @return the running server
   * @throws IOException if the address cannot be bound
   */
  public static MetricsHttpServer start(String host, int port, MetricsRegistry registry, Health health)
      throws IOException {
    return start(host, port, registry, health, Limits.DEFAULT);
  }

  /**
   * Binds and starts the server.
   *
   * @param host the address to bind
   * @param port the port to bind; 0 picks a free one (see {@link #port()})
   * @param registry the metrics to serve
   * @param health what the health endpoints say
   * @param limits timeouts and bounds
   * @return the running server
   * @throws IOException if the address cannot be bound
   */
  public static MetricsHttpServer start(
      String host, int port, MetricsRegistry registry, Health health, Limits limits)
      throws IOException {
    // One thread: the work per event is tiny (parse a GET, write a prepared answer) and nothing
    // on it blocks; the scrape itself runs on the scrape thread.
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(
        1, new DefaultThreadFactory("kvstore-metrics-http", true), NioIoHandler.newFactory());
    ThreadPoolExecutor scrapes = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
        new ArrayBlockingQueue<>(limits.maxQueuedScrapes()),
        new DefaultThreadFactory("kvstore-metrics-scrape", true),
        new ThreadPoolExecutor.AbortPolicy());
    AtomicInteger open = new AtomicInteger();
    // Every open connection, so close() ends them rather than leaving clients to time out.
    ChannelGroup connections = new DefaultChannelGroup("kvstore-metrics-http", group.next());
    long writeTimeoutMillis = Math.max(1, limits.writeTimeout().toMillis());
    ServerBootstrap b = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .option(ChannelOption.SO_BACKLOG, 128)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            if (open.incrementAndGet() > limits.maxConnections()) {
              open.decrementAndGet();
              ch.close(); // over the cap: refuse at once rather than queue
              return;
            }
            ch.closeFuture().addListener(f -> open.decrementAndGet());
            connections.add(ch);
            ch.pipeline()
                // An answer not written within the write timeout: the client does not read.
                .addLast("write-timeout", new WriteTimeoutHandler(writeTimeoutMillis, TimeUnit.MILLISECONDS))
                // HTTP/1.1 with bounded request line and headers.
                .addLast("codec", new HttpServerCodec(MAX_INITIAL_LINE, MAX_HEADERS, MAX_HEADERS))
                // Whole requests; a GET carries no body, so any body is refused (413).
                .addLast("aggregate", new HttpObjectAggregator(MAX_BODY))
                // Routing, the request deadline and one-request-at-a-time.
                .addLast("handler", new MetricsHttpHandler(registry, health, scrapes, limits.requestTimeout()));
          }
        });
    try {
      Channel channel = b.bind(new InetSocketAddress(host, port)).syncUninterruptibly().channel();
      return new MetricsHttpServer(group, scrapes, channel, connections);
    } catch (Exception e) { // Netty rethrows the bind's checked exception undeclared
      scrapes.shutdownNow();
      group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
      if (e instanceof IOException) { // the bind's error; anything else keeps its stack trace
        throw CannotStartException.bindFailed("metrics and health (HTTP)", host, port, e,
            "metrics.port, --metrics-port; 0 turns the metrics server off");
      }
      throw e;
    }
  }

  /** The port the server is bound to. */
  public int port() {
    return ((InetSocketAddress) serverChannel.localAddress()).getPort();
  }

  /** Scrapes waiting for the scrape thread now (for tests). */
  int queuedScrapes() {
    return scrapes.getQueue().size();
  }

  /**
   * Stops accepting, closes open connections and stops both threads; returns once they are gone.
   * Idempotent.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    serverChannel.close().syncUninterruptibly();
    connections.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    scrapes.shutdownNow();
    boolean stopped = group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    try {
      stopped &= scrapes.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (!stopped) {
      throw new IllegalStateException("metrics HTTP threads did not stop within 5 s");
    }
  }
}
