package io.kvstore.server.net;

import io.kvstore.server.CannotStartException;
import io.kvstore.server.shm.ShmManager;
import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.ErrorFlyweight;
import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.core.store.TieredStore;
import io.kvstore.server.NetworkServer;
import io.kvstore.server.config.ServerConfig;
import io.kvstore.server.metrics.ServerMetrics;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's protocol server ({@code spec/3-wire-protocol.md}) over a {@link TieredStore}: Netty
 * with the native epoll transport where it loads, NIO otherwise. Owns a boss event loop (accepts),
 * the worker event loops (connections) and the bounded store executor (store calls that may touch
 * the SSD tier); the store itself belongs to the caller.
 *
 * <pre>{@code
 * NetworkServer server = new KvStoreNetworkServer(config, store, metrics);
 * server.start();                       // bound: server.port() is known
 * ...
 * server.shutdownGracefully(Duration.ofSeconds(30));
 * store.close();
 * }</pre>
 *
 * <p>The pipeline of a connection is {@link KvStoreServerInitializer}'s.
 */
public final class KvStoreNetworkServer implements NetworkServer {

  private static final Logger LOG = LoggerFactory.getLogger(KvStoreNetworkServer.class);

  /** Threads running store calls off the event loops: SSD reads and writes block. */
  public static final int STORE_THREADS_DEFAULT = Math.max(4, Runtime.getRuntime().availableProcessors());
  /** Store calls that may wait for a thread; beyond that a request is answered OVERLOADED. */
  public static final int STORE_QUEUE_CAPACITY = 4096;
  /** Outbound bytes per connection above which the socket counts as not writable. */
  public static final int WRITE_HIGH_WATER_MARK_BYTES = 8 << 20;
  /** Outbound bytes per connection below which it is writable again. */
  public static final int WRITE_LOW_WATER_MARK_BYTES = 2 << 20;

  private final ServerConfig config;
  private final StoreOps store;
  private final ServerMetrics metrics;
  private final NetCounters counters = new NetCounters();
  private final AtomicBoolean started = new AtomicBoolean();
  private final AtomicBoolean stopped = new AtomicBoolean();
  private ServerContext context;
  private ThreadPoolExecutor storeExecutor;
  private EventLoopGroup boss;
  private EventLoopGroup workers;
  private Channel serverChannel;
  private String transport;
  private int port = -1;

  /**
   * Makes a server; nothing is bound or started until {@link #start()}.
   *
   * @param config settings: address, limits, auth grants, I/O threads
   * @param store the open store to serve; not closed by this server
   * @param metrics where latency, connections, errors and bytes are recorded
   */
  public KvStoreNetworkServer(ServerConfig config, TieredStore store, ServerMetrics metrics) {
    this(config, StoreOps.of(Objects.requireNonNull(store, "store")), metrics);
  }

  /**
   * Makes a server over any {@link StoreOps} (tests inject failing stores through it); nothing is
   * bound or started until {@link #start()}.
   *
   * @param config settings: address, limits, auth grants, I/O threads
   * @param store the store operations to serve; not closed by this server
   * @param metrics where latency, connections, errors and bytes are recorded
   */
  public KvStoreNetworkServer(ServerConfig config, StoreOps store, ServerMetrics metrics) {
    this.config = Objects.requireNonNull(config, "config");
    this.store = Objects.requireNonNull(store, "store");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
  }

  @Override
  public void start() throws Exception {
    if (!started.compareAndSet(false, true)) {
      throw new IllegalStateException("the server was already started");
    }
    boolean epoll = epollAvailable();
    transport = epoll ? "epoll" : "nio";
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    Class<? extends ServerChannel> channelClass =
        epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    AtomicInteger threadNo = new AtomicInteger();
    storeExecutor = new ThreadPoolExecutor(STORE_THREADS_DEFAULT, STORE_THREADS_DEFAULT, 0L,
        TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(STORE_QUEUE_CAPACITY), r -> {
          Thread t = new Thread(r, "kvstore-store-" + threadNo.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
    context = new ServerContext(config, store, metrics, counters, storeExecutor);
    boss = new MultiThreadIoEventLoopGroup(1, io);
    workers = new MultiThreadIoEventLoopGroup(config.ioThreads(), io);
    try {
      serverChannel = new ServerBootstrap()
          .group(boss, workers)
          .channel(channelClass)
          .option(ChannelOption.SO_BACKLOG, 1024)
          .option(ChannelOption.SO_REUSEADDR, true)
          .childOption(ChannelOption.TCP_NODELAY, true)
          // Half-close: every request read before the client's FIN is answered in full, and a
          // frame cut short by the FIN gets MALFORMED_FRAME, before the daemon closes (spec §3.6);
          // see RequestHandler.userEventTriggered.
          .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
          .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
              new WriteBufferWaterMark(WRITE_LOW_WATER_MARK_BYTES, WRITE_HIGH_WATER_MARK_BYTES))
          .childHandler(new KvStoreServerInitializer(context))
          .bind(new InetSocketAddress(config.host(), config.port()))
          .sync()
          .channel();
      // After the acceptor, which the bind has added: it pauses accepting on an error first.
      serverChannel.pipeline().addLast("accept-errors", new AcceptErrors(counters));
    } catch (Exception e) { // Netty rethrows the bind's checked exception undeclared
      stopped.set(true);
      stopLoopsAndExecutor(Duration.ZERO);
      if (e instanceof IOException) { // BindException, or Netty's native bind error
        throw CannotStartException.bindFailed("the kvstore protocol", config.host(), config.port(),
            e, "port, --port");
      }
      throw e;
    }
    port = ((InetSocketAddress) serverChannel.localAddress()).getPort();
    LOG.info("serving the wire protocol on {}:{} ({}, {} I/O threads, {} store threads, request"
        + " memory budget {} MiB)", config.host(), port, transport,
        config.ioThreads() == 0 ? "default" : config.ioThreads(), STORE_THREADS_DEFAULT,
        context.budget.limit() >> 20);
  }

  @Override
  public int port() {
    if (port < 0) {
      throw new IllegalStateException("the server is not started");
    }
    return port;
  }

  /** The transport in use: {@code epoll} or {@code nio} (null before {@link #start()}). */
  public String transport() {
    return transport;
  }

  /** Client connections open now. */
  public int connections() {
    return context == null ? 0 : context.channels.size();
  }

  /** Refusals, timeouts, auth failures, budget waits and failed requests since start. */
  public NetCounters counters() {
    return counters;
  }

  /** The listening socket's channel, null before start (for tests). */
  Channel serverChannelForTest() {
    return serverChannel;
  }

  /** Bytes held now against the request memory budget, over all connections (0 before start). */
  public long requestMemoryUsed() {
    return context == null ? 0 : context.budget.used();
  }

  /** The request memory budget in bytes (0 before start). */
  public long requestMemoryLimit() {
    return context == null ? 0 : context.budget.limit();
  }

  /** Requests read and not yet answered, over all connections. */
  public int requestsInFlight() {
    return context == null ? 0 : context.requestsInFlight.get();
  }

  @Override
  public void shutdownGracefully(Duration grace) {
    if (!started.get() || !stopped.compareAndSet(false, true)) {
      return;
    }
    long deadline = System.nanoTime() + grace.toNanos();
    context.beginShutdown();
    serverChannel.close().syncUninterruptibly();
    for (Channel ch : context.channels) {
      onLoop(ch, () -> {
        FlowControlHandler flow = ch.pipeline().get(FlowControlHandler.class);
        if (flow != null) {
          flow.stopReading();
        }
      });
    }
    int left;
    while ((left = context.requestsInFlight.get()) > 0 && System.nanoTime() - deadline < 0) {
      sleepMillis(5);
    }
    if (left > 0) {
      LOG.warn("{} requests still in flight after the {} grace; closing their connections", left, grace);
    }
    closeConnections("the daemon is shutting down");
    stopLoopsAndExecutor(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
    LOG.info("protocol server stopped");
  }

  @Override
  public void close() {
    if (!started.get() || !stopped.compareAndSet(false, true)) {
      return;
    }
    context.beginShutdown();
    serverChannel.close();
    for (Channel ch : context.channels) {
      ch.close();
    }
    stopLoopsAndExecutor(Duration.ZERO);
  }

  /** Tells every client why, then closes its connection; waits up to a second for the closes. */
  private void closeConnections(String reason) {
    List<Channel> open = new ArrayList<>(context.channels);
    for (Channel ch : open) {
      Errors.count(context, ErrorCode.SHUTTING_DOWN);
      ch.writeAndFlush(ErrorFlyweight.encode(ch.alloc(), FrameDescriptor.CONNECTION_REQUEST_ID,
              ErrorCode.SHUTTING_DOWN, reason))
          .addListener(ChannelFutureListener.CLOSE);
    }
    for (Channel ch : open) {
      if (!ch.closeFuture().awaitUninterruptibly(1, TimeUnit.SECONDS)) {
        ch.close();
      }
    }
  }

  /** {@link #sharedMemory()}, or null before the server has started. */
  ShmManager sharedMemoryOrNull() {
    ServerContext c = context;
    return c == null ? null : c.shm;
  }

  /** The shared-memory regions of this server's connections (for tests and metrics). */
  public ShmManager sharedMemory() {
    return context.shm;
  }

  /**
   * Stops the event loops, then the store executor, waiting for running store calls (so the caller
   * can close the store after this returns) for at least a few seconds.
   */
  private void stopLoopsAndExecutor(Duration grace) {
    if (boss != null) {
      boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
    if (workers != null) {
      workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
    if (storeExecutor != null) {
      storeExecutor.shutdown();
    }
    try {
      if (boss != null) {
        boss.terminationFuture().await(5, TimeUnit.SECONDS);
      }
      if (workers != null) {
        workers.terminationFuture().await(5, TimeUnit.SECONDS);
      }
      if (context != null) {
        context.frameBuffers.close(); // frames still held by store calls are freed on release
        context.shm.close(); // connections (and their regions) are closed with the loops
      }
      long waitMs = Math.max(5_000, grace.toMillis());
      if (storeExecutor != null && !storeExecutor.awaitTermination(waitMs, TimeUnit.MILLISECONDS)) {
        LOG.warn("store calls still running after {} ms; interrupting them", waitMs);
        storeExecutor.shutdownNow();
      }
    } catch (InterruptedException e) {
      storeExecutor.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  private static void onLoop(Channel ch, Runnable task) {
    try {
      ch.eventLoop().execute(task);
    } catch (RejectedExecutionException e) {
      ch.close(); // its loop has stopped: nothing more can be read anyway
    }
  }

  private static void sleepMillis(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for requests to finish", e);
    }
  }

  static boolean epollAvailable() {
    try {
      return Epoll.isAvailable();
    } catch (LinkageError e) {
      return false; // the native library is not on the class path: NIO it is
    }
  }
}
