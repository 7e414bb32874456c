package io.kvstore.server.net;

import io.kvstore.server.shm.ShmManager;
import io.kvstore.client.protocol.FrameBufferPool;
import io.kvstore.server.config.ServerConfig;
import io.kvstore.server.metrics.ServerMetrics;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.util.internal.PlatformDependent;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What every connection of one server shares: the settings, the store, the metrics and counters,
 * the executor that runs store calls off the event loops, the request memory budget, the
 * connection limits, the auth throttle, the open connections, and the shutdown state. Made by
 * {@link KvStoreNetworkServer}, which owns everything here that needs closing.
 */
final class ServerContext {

  final ServerConfig config;
  final StoreOps store;
  final ServerMetrics metrics;
  /** Refusals, timeouts, auth failures, budget waits, failed requests by code. */
  final NetCounters counters;
  /** Runs store calls that may read or write the SSD tier; bounded, rejects when full. */
  final Executor storeExecutor;
  /**
   * PUT frames up to this many bytes are stored on the event loop that read them, when the store
   * never blocks a put ({@link StoreOps#putNeverBlocks()}); 0 when it may, or when turned off
   * ({@code net.put.on.loop.max.bytes} = 0).
   */
  final long putOnLoopMaxBytes;
  /** The largest page a client may put or get: the smaller of the configured and the store's. */
  final int maxPageLength;
  /**
   * Reused memory for large request frames (PUTs of MiB pages), shared by every connection; holds
   * at most one connection's in-flight limit. Closed by the server once its event loops stop.
   */
  final FrameBufferPool frameBuffers;
  /** The daemon-wide budget of request bytes received and not yet answered. */
  final RequestBudget budget;
  /** Slows down HELLOs from addresses that failed to authenticate. */
  final AuthThrottle authThrottle = new AuthThrottle();
  /** Connection slots: total, before HELLO per address, after HELLO per token. */
  final ConnectionLimitHandler limits;
  /** Shared-memory regions of same-host connections (spec/4); disabled when off. */
  final ShmManager shm;
  /** Writes the STATS text. */
  final StatsText stats;
  /** Connections counted by the connection limit, closed at shutdown. */
  final Set<Channel> channels = ConcurrentHashMap.newKeySet();
  /** Requests read and not yet answered, over every connection: shutdown waits for 0. */
  final AtomicInteger requestsInFlight = new AtomicInteger();
  private final AtomicLong connectionIds = new AtomicLong();
  private volatile boolean shuttingDown;

  ServerContext(
      ServerConfig config,
      StoreOps store,
      ServerMetrics metrics,
      NetCounters counters,
      Executor storeExecutor) {
    this.config = config;
    this.store = store;
    this.metrics = metrics;
    this.counters = counters;
    this.storeExecutor = storeExecutor;
    this.maxPageLength = Math.min(config.maxPageBytes(), store.maxPageBytes());
    this.putOnLoopMaxBytes = store.putNeverBlocks() ? config.putOnLoopMaxBytes() : 0;
    this.stats = new StatsText(store, metrics);
    this.frameBuffers = new FrameBufferPool(ByteBufAllocator.DEFAULT, config.maxInflightBytes());
    this.budget = new RequestBudget(config.requestMemoryBytes(PlatformDependent.estimateMaxDirectMemory()));
    this.limits = new ConnectionLimitHandler(this);
    this.shm = ShmManager.create(config.shmDirOrDefault(), config.shmRegionBytes(), config.shmTotalBytes());
  }

  /** A new connection id (sent in HELLO_OK, printed in the logs); ids start at 1. */
  long nextConnectionId() {
    return connectionIds.incrementAndGet();
  }

  /** Whether a shutdown has begun: no new connections or requests are accepted. */
  boolean shuttingDown() {
    return shuttingDown;
  }

  /** Marks the shutdown as begun. */
  void beginShutdown() {
    shuttingDown = true;
  }
}
