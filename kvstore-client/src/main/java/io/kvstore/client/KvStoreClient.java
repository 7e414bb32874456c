package io.kvstore.client;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.FrameBufferPool;
import io.kvstore.client.protocol.FrameDecoder;
import io.kvstore.client.protocol.FrameReadAllocator;
import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.client.protocol.PutFlyweight;
import io.kvstore.common.BlockKey;
import io.kvstore.common.PageFormat;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.EventExecutor;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongFunction;
import java.util.function.Supplier;

/**
 * The SDK an inference engine links to talk to a kvstore daemon ({@code spec/3-wire-protocol.md}).
 *
 * <p>A pool of pipelined connections (Netty, native epoll where available) bound to one namespace.
 * Every operation has an async form returning a {@link CompletableFuture} and a blocking form.
 * Futures complete on an I/O thread: do heavy work in {@code *Async} continuations, and never call a
 * blocking method from a continuation (it is refused with {@link IllegalStateException}).
 * Idempotent requests (LOOKUP, GET, PREFETCH, DELETE, STATS, PING) that fail with a retryable code
 * are retried on another connection; PUT only when configured.
 *
 * <p>Two levels:
 * <ul>
 *   <li>keys: {@link #lookup(long[])}, {@link #get(long[], ByteBuffer[])} (pages copied into the
 *       caller's buffers) or {@link #getViews(long[])} (pages read in place, released by the
 *       caller), {@link #put(ByteBuffer[])},
 *       {@link #prefetch(long[], int)}, {@link #delete(long[])}; keys are (hi, lo) pairs in a
 *       {@code long[]}, key {@code i} at {@code [2i, 2i + 1]};
 *   <li>tokens: {@link #lookupTokens(int[])}, {@link #fetch(int[], ByteBuffer[])},
 *       {@link #store(int[], int, ByteBuffer[])}, {@link #prefetchTokens(int[], int)}, computing
 *       keys with the builder's {@link KeyChain}.
 * </ul>
 *
 * <p>Buffers handed to the client (pages to put, destinations to get into, key arrays) belong to it
 * until the returned future completes, and to the caller from then on, in every outcome: success,
 * failure, timeout, a lost connection, {@link #close()}, and a future completed by the caller
 * ({@code cancel}, {@code complete}, {@code orTimeout}: these stop the request, and return once
 * its buffers are free) or a blocking call interrupted (it stops the request the same way before
 * it throws). No late page is ever copied into a buffer the caller has taken back, and no byte of
 * a zero-copy PUT is sent from it (docs/sdk.md, "Who owns the buffers").
 *
 * <p>Each connection sends a keepalive PING when idle and is retired when the daemon stops
 * answering; a lost connection reconnects by itself with exponential backoff and jitter, and each
 * handshake re-reads the daemon's limits ({@link #serverLimits()}). Thread-safe.
 */
public final class KvStoreClient implements AutoCloseable {

  private final KvStoreClientBuilder config;
  private final Transport transport;
  private final EventLoopGroup group;
  private final ConnectionPool pool;
  private final FrameBufferPool frameBuffers;
  private final AtomicLong discardedFrames = new AtomicLong();
  /** Calls not yet complete (one set operation per call, not per page): settled by close(). */
  private final Set<CallFuture<?>> openCalls = ConcurrentHashMap.newKeySet();
  /** Page views handed out and not yet closed (one set operation per GET, not per page). */
  private final Set<PageViews> openViews = ConcurrentHashMap.newKeySet();
  private final long timeoutNanos;
  /** The daemon's address as host:port, for messages. */
  private final String peer;
  private final KeyOps keys;
  /** Caller-driven connections for blocking calls; null when turned off. */
  private final SyncPool sync;
  private volatile boolean closed;

  KvStoreClient(KvStoreClientBuilder config) {
    this.config = config;
    this.transport = Transport.select(config.preferNativeTransport);
    int threads = config.ioThreads > 0
        ? config.ioThreads
        : Math.min(config.connections, Runtime.getRuntime().availableProcessors());
    this.group = new MultiThreadIoEventLoopGroup(threads, transport.ioHandlerFactory());
    this.timeoutNanos = config.requestTimeout.toNanos();
    String peer = config.address.getHostString() + ":" + config.address.getPort();
    this.peer = peer;
    this.frameBuffers = new FrameBufferPool(
        ByteBufAllocator.DEFAULT, KvStoreClientBuilder.FRAME_BUFFER_POOL_BYTES_DEFAULT);
    Bootstrap bootstrap = new Bootstrap()
        .group(group)
        .channel(transport.channelClass())
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) config.connectTimeout.toMillis())
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            long pingNanos = config.pingInterval.toNanos();
            FrameDecoder frames = FrameDecoder.forClient(config.maxFrameLength, frameBuffers);
            // socket reads of a large frame's body go straight into the buffer it is kept in
            ch.config().setRecvByteBufAllocator(FrameReadAllocator.forClient(frames));
            ch.pipeline()
                // bytes -> frames, large ones accumulated in reused buffers
                .addLast("frames", frames)
                // nothing read or nothing written for the PING interval -> an IdleStateEvent
                .addLast("idle", new IdleStateHandler(pingNanos, pingNanos, 0, TimeUnit.NANOSECONDS))
                // requests out, responses routed to them; keepalive PING on idle events
                .addLast("requests",
                    new ClientHandler(peer, config.pingTimeout.toNanos(), discardedFrames));
          }
        });
    Supplier<CompletableFuture<Connection>> connector = () -> Connection.open(
        bootstrap,
        config.address,
        new Requests.Hello(config.maxFrameLength, config.namespace(), config.authToken,
            config.connectTimeout.toNanos()),
        config.maxInFlightBytes,
        config.sharedMemory);
    this.pool = new ConnectionPool(config.connections, connector,
        new Backoff(config.reconnectDelay.toNanos(),
            Math.max(config.reconnectDelay.toNanos(), config.maxReconnectDelay.toNanos()),
            () -> ThreadLocalRandom.current().nextLong()),
        group, peer);
    try {
      pool.connectAll(config.connectTimeout.toNanos() + TimeUnit.SECONDS.toNanos(1));
    } catch (RuntimeException e) {
      pool.close();
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
      frameBuffers.close();
      throw e;
    }
    this.keys = new KeyOps(config.keyChain);
    // Blocking calls write and read their own socket on the calling thread (two thread wake-ups
    // per round trip instead of four). With shared memory and a daemon on this host each such
    // connection negotiates a region of its own and moves pages through it, still on the calling
    // thread; a daemon on another host can offer no region, so there it does not ask.
    boolean shmCallerDriven = config.sharedMemory && onThisHost(config.address);
    this.sync = config.callerDrivenIo
        ? new SyncPool(config.connections,
            // A blocking call opening one has no more time than its own timeout.
            callNanos -> {
              long t = Math.min(config.connectTimeout.toNanos(), Math.max(1, callNanos));
              return SyncConnection.open(config.address,
                  new Requests.Hello(config.maxFrameLength, config.namespace(), config.authToken, t),
                  ByteBufAllocator.DEFAULT, config.maxFrameLength, t, shmCallerDriven);
            },
            () -> !pool.readyConnections().isEmpty(),
            config.pingInterval.toNanos(), config.reconnectDelay.toNanos())
        : null;
  }

  /** A builder with every default set. */
  public static KvStoreClientBuilder builder() {
    return new KvStoreClientBuilder();
  }

  /**
   * The limits the daemon announced at the latest handshake; after the daemon restarts, those it
   * announced when the client reconnected (requests are checked and split against these).
   */
  public ServerLimits serverLimits() {
    return pool.limits();
  }

  /**
   * Connections now open, handshaken and not suspected dead (no keepalive PING unanswered). 0 while
   * the daemon is down or unreachable; the pool reconnects by itself, with backoff.
   */
  public int liveConnections() {
    int live = 0;
    for (Connection c : pool.readyConnections()) {
      live += c.isSuspect() ? 0 : 1;
    }
    return live;
  }

  /**
   * Connections now open and handshaken, live or suspect: a connection whose daemon stopped
   * answering stays counted here until its keepalive PING times out and it is retired.
   */
  public int openConnections() {
    return pool.readyConnections().size();
  }

  /**
   * Open pipelined connections whose page bytes move through a shared-memory region (spec/4); the
   * others use TCP. A connection attaches its region shortly after its handshake, so this may lag
   * behind {@link #openConnections()} for a round trip after a (re)connect. The caller-driven
   * connections of blocking calls negotiate regions of their own and are not counted here.
   */
  public int sharedMemoryConnections() {
    int n = 0;
    for (Connection c : pool.readyConnections()) {
      if (c.shm() != null) {
        n++;
      }
    }
    return n;
  }

  /** Response frames dropped unread because their request had settled (for tests and stats). */
  long discardedFrames() {
    return discardedFrames.get();
  }

  /** Large-frame buffers lent now (held by frames being read or by open page views; for tests). */
  int lentFrameBuffers() {
    return frameBuffers.lentBuffers();
  }

  /** The transport in use: "epoll" or "nio". */
  public String transport() {
    return transport.name();
  }

  /** The namespace the connections are bound to. */
  public long namespaceId() {
    return config.namespace();
  }

  // ---------------------------------------------------------------- key level, async

  /** LOOKUP: how many of the keys, from the first, are stored, and in which tier. */
  public CompletableFuture<LookupResult> lookupAsync(long[] keys) {
    return lookupCall(keys, timeoutNanos);
  }

  private CallFuture<LookupResult> lookupCall(long[] keys, long timeout) {
    checkKeys(keys);
    return execute(t -> new Requests.Lookup(keys, t), true, timeout);
  }

  /** LOOKUP with {@link BlockKey}s. */
  public CompletableFuture<LookupResult> lookupAsync(BlockKey[] keys) {
    return lookupAsync(toPairs(keys));
  }

  /** GET of every key; see {@link #getAsync(long[], ByteBuffer[], boolean)}. */
  public CompletableFuture<GetResult> getAsync(long[] keys, ByteBuffer[] dsts) {
    return getAsync(keys, dsts, false);
  }

  /**
   * GET: copies the page of key {@code i} (header + payload) into {@code dsts[i]} at its position,
   * without moving position or limit; the result gives each length or a miss. A page whose key or
   * checksum is wrong is a miss. With {@code prefixOnly} the daemon stops at the first miss.
   */
  public CompletableFuture<GetResult> getAsync(
      long[] keys, ByteBuffer[] dsts, boolean prefixOnly) {
    return getCall(keys, dsts, prefixOnly);
  }

  private CallFuture<GetResult> getCall(long[] keys, ByteBuffer[] dsts, boolean prefixOnly) {
    checkGet(keys, dsts);
    return execute(t -> new Requests.Get(keys, dsts, prefixOnly, config.verifyChecksums, t), true,
        timeoutNanos);
  }

  /** {@link #getViewsAsync(long[], boolean)} of every key. */
  public CompletableFuture<PageViews> getViewsAsync(long[] keys) {
    return getViewsAsync(keys, false);
  }

  /**
   * GET whose pages the caller reads in place, without a copy into its own buffers: completes with
   * {@link PageViews}, a read-only view of each page found (header + payload), which the caller
   * must {@link PageViews#close() close} once it has read them (try-with-resources). Through a
   * shared region (spec/4) a view is the region's bytes where the daemon copied the page, and
   * keeps that run of the region leased until closed; over TCP it is the SDK's receive buffer,
   * kept until closed. Each page is checked in place before it is handed out (key, and both CRCs
   * unless {@link KvStoreClientBuilder#verifyChecksums} is off): a page that fails is an {@link
   * PageViews#error(int) error} for its key, never a view. With {@code prefixOnly} the daemon
   * stops at the first miss. Views not closed keep region space leased: when the region's GET area
   * is full the daemon sends further pages over the socket instead, so a caller that holds many
   * views slows its GETs down but never stalls or fails them. {@link #close()} closes every result
   * not closed.
   */
  public CompletableFuture<PageViews> getViewsAsync(long[] keys, boolean prefixOnly) {
    checkKeys(keys);
    return execute(t -> new GetViewsRequest(keys, prefixOnly, config.verifyChecksums, openViews,
        t), true, timeoutNanos, PageViews::close);
  }

  /** Blocking {@link #getViewsAsync(long[])}. */
  public PageViews getViews(long[] keys) {
    return getViews(keys, false);
  }

  /** Blocking {@link #getViewsAsync(long[], boolean)}. */
  public PageViews getViews(long[] keys, boolean prefixOnly) {
    checkKeys(keys);
    return blocking(t -> new GetViewsRequest(keys, prefixOnly, config.verifyChecksums, openViews,
        t), true, timeoutNanos, PageViews::close);
  }

  /**
   * PUT: stores whole pages (each between its position and limit, header + payload as in
   * {@code spec/2-page-format.md}); split into as many frames as the daemon's limits need. A page
   * larger than the daemon's max page gets status PAGE_TOO_LARGE without being sent.
   */
  public CompletableFuture<PutResult> putAsync(ByteBuffer[] pages) {
    int[] lengths = putLengths(pages);
    return putChunks(lengths, (from, count, frameLength, timeout) ->
        new Requests.Put(pages, from, count, frameLength, timeout));
  }

  /** PREFETCH: promote the keys towards memory within {@code deadlineMs}; completes with the count in memory. */
  public CompletableFuture<Integer> prefetchAsync(long[] keys, int deadlineMs) {
    checkKeys(keys);
    if (deadlineMs < 0) {
      throw new IllegalArgumentException("deadlineMs must be >= 0, got " + deadlineMs);
    }
    long timeout = timeoutNanos + TimeUnit.MILLISECONDS.toNanos(deadlineMs);
    return execute(t -> new Requests.Prefetch(keys, deadlineMs, t), true, timeout);
  }

  /** DELETE: removes the keys from every tier; completes with the number that were present. */
  public CompletableFuture<Integer> deleteAsync(long[] keys) {
    checkKeys(keys);
    return execute(t -> new Requests.Delete(keys, t), true, timeoutNanos);
  }

  /** STATS: the daemon's counters, one {@code name value} per line. */
  public CompletableFuture<String> statsAsync() {
    return execute(Requests.Stats::new, true, timeoutNanos);
  }

  /** PING: completes with the round-trip time in nanoseconds. */
  public CompletableFuture<Long> pingAsync() {
    return execute(Requests.Ping::new, true, timeoutNanos);
  }

  // ---------------------------------------------------------------- key level, blocking

  /** Blocking {@link #lookupAsync(long[])}. */
  public LookupResult lookup(long[] keys) {
    checkKeys(keys);
    return blocking(t -> new Requests.Lookup(keys, t), true, timeoutNanos);
  }

  /** Blocking {@link #lookupAsync(BlockKey[])}. */
  public LookupResult lookup(BlockKey[] keys) {
    return lookup(toPairs(keys));
  }

  /** Blocking {@link #getAsync(long[], ByteBuffer[])}. */
  public GetResult get(long[] keys, ByteBuffer[] dsts) {
    return get(keys, dsts, false);
  }

  /** Blocking {@link #getAsync(long[], ByteBuffer[], boolean)}. */
  public GetResult get(long[] keys, ByteBuffer[] dsts, boolean prefixOnly) {
    checkGet(keys, dsts);
    return blocking(t -> new Requests.Get(keys, dsts, prefixOnly, config.verifyChecksums, t), true,
        timeoutNanos);
  }

  /** Blocking {@link #putAsync(ByteBuffer[])}. */
  public PutResult put(ByteBuffer[] pages) {
    int[] lengths = putLengths(pages);
    long frameLength = oneFrame(lengths);
    if (frameLength < 0 || sync == null) {
      return await(putChunks(lengths, (from, count, fl, timeout) ->
          new Requests.Put(pages, from, count, fl, timeout)));
    }
    return new PutResult(blocking(
        t -> new Requests.Put(pages, 0, pages.length, frameLength, t), config.retryPuts,
        timeoutNanos));
  }

  /** Blocking {@link #prefetchAsync(long[], int)}. */
  public int prefetch(long[] keys, int deadlineMs) {
    checkKeys(keys);
    if (deadlineMs < 0) {
      throw new IllegalArgumentException("deadlineMs must be >= 0, got " + deadlineMs);
    }
    return blocking(t -> new Requests.Prefetch(keys, deadlineMs, t), true,
        timeoutNanos + TimeUnit.MILLISECONDS.toNanos(deadlineMs));
  }

  /** Blocking {@link #deleteAsync(long[])}. */
  public int delete(long[] keys) {
    checkKeys(keys);
    return blocking(t -> new Requests.Delete(keys, t), true, timeoutNanos);
  }

  /** Blocking {@link #statsAsync()}. */
  public String stats() {
    return blocking(Requests.Stats::new, true, timeoutNanos);
  }

  /** Blocking {@link #pingAsync()}. */
  public long ping() {
    return blocking(Requests.Ping::new, true, timeoutNanos);
  }

  // ---------------------------------------------------------------- token level

  /** Number of leading tokens whose blocks are all stored (a multiple of the block size). */
  public CompletableFuture<Integer> lookupTokensAsync(int[] tokens) {
    long[] chain = keys.keysOf(tokens, keys.fullBlocks(tokens));
    if (chain.length == 0) {
      return CompletableFuture.completedFuture(0);
    }
    return CallFuture.map(lookupCall(chain, timeoutNanos), r -> r.runLength() * keys.tokensPerBlock());
  }

  /**
   * Fetches the stored leading blocks of {@code tokens}, block {@code i}'s whole page into
   * {@code dsts[i]} (at most {@code dsts.length} blocks); completes with the number of tokens
   * fetched: the leading run of pages received, times the block size.
   */
  public CompletableFuture<Integer> fetchAsync(int[] tokens, ByteBuffer[] dsts) {
    int blocks = Math.min(keys.fullBlocks(tokens), dsts.length);
    if (blocks == 0) {
      return CompletableFuture.completedFuture(0);
    }
    ByteBuffer[] targets = dsts.length == blocks ? dsts : Arrays.copyOf(dsts, blocks);
    return CallFuture.map(getCall(keys.keysOf(tokens, blocks), targets, true),
        r -> r.leadingRun() * keys.tokensPerBlock());
  }

  /**
   * Stores blocks {@code [firstBlock, firstBlock + payloads.length)} of {@code tokens}: block
   * {@code firstBlock + j}'s KV bytes are {@code payloads[j]} (position to limit). The SDK writes
   * each page header (key, parent, namespace, token count, CRCs) and sends the payload bytes from
   * the caller's buffer without copying. Completes with the number of blocks stored.
   */
  public CompletableFuture<Integer> storeAsync(int[] tokens, int firstBlock, ByteBuffer[] payloads) {
    int blocks = firstBlock + payloads.length;
    if (firstBlock < 0 || blocks > keys.fullBlocks(tokens)) {
      throw new IllegalArgumentException("blocks [" + firstBlock + ", " + blocks + ") but the tokens hold "
          + keys.fullBlocks(tokens) + " full blocks");
    }
    long[] chain = keys.keysOf(tokens, blocks);
    byte[] headers = keys.headers(chain, firstBlock, payloads, config.namespace());
    int[] lengths = new int[payloads.length];
    for (int j = 0; j < payloads.length; j++) {
      lengths[j] = PageFormat.HEADER_LENGTH + payloads[j].remaining();
    }
    return CallFuture.map(putChunks(lengths, (from, count, frameLength, timeout) -> new Requests.Put(
            payloads, headers, from * PageFormat.HEADER_LENGTH, from, count, frameLength, timeout)),
        PutResult::stored);
  }

  /**
   * {@link #storeAsync(int[], int, ByteBuffer[])} with the chain's keys already computed: block
   * {@code i}'s key is {@code chainKeys[2i], chainKeys[2i + 1]}, block 0's parent the root. For
   * callers that store one chain in several parts (the cluster client stores each placement run
   * on its member) and so compute the keys once. Completes with each page's status.
   */
  public CompletableFuture<PutResult> storeChainAsync(long[] chainKeys, int firstBlock, ByteBuffer[] payloads) {
    int blocks = firstBlock + payloads.length;
    if (firstBlock < 0 || 2L * blocks > chainKeys.length) {
      throw new IllegalArgumentException("blocks [" + firstBlock + ", " + blocks + ") but the chain has "
          + chainKeys.length / 2 + " keys");
    }
    byte[] headers = keys.headers(chainKeys, firstBlock, payloads, config.namespace());
    int[] lengths = new int[payloads.length];
    for (int j = 0; j < payloads.length; j++) {
      lengths[j] = PageFormat.HEADER_LENGTH + payloads[j].remaining();
    }
    return putChunks(lengths, (from, count, frameLength, timeout) -> new Requests.Put(
            payloads, headers, from * PageFormat.HEADER_LENGTH, from, count, frameLength, timeout));
  }

  /** Prefetches the full blocks of {@code tokens}; completes with the number now in memory. */
  public CompletableFuture<Integer> prefetchTokensAsync(int[] tokens, int deadlineMs) {
    long[] chain = keys.keysOf(tokens, keys.fullBlocks(tokens));
    if (chain.length == 0) {
      return CompletableFuture.completedFuture(0);
    }
    return prefetchAsync(chain, deadlineMs);
  }

  /** Blocking {@link #lookupTokensAsync(int[])}. */
  public int lookupTokens(int[] tokens) {
    return await(lookupTokensAsync(tokens));
  }

  /** Blocking {@link #fetchAsync(int[], ByteBuffer[])}. */
  public int fetch(int[] tokens, ByteBuffer[] dsts) {
    return await(fetchAsync(tokens, dsts));
  }

  /** Blocking {@link #storeAsync(int[], int, ByteBuffer[])}. */
  public int store(int[] tokens, int firstBlock, ByteBuffer[] payloads) {
    return await(storeAsync(tokens, firstBlock, payloads));
  }

  /** Blocking {@link #prefetchTokensAsync(int[], int)}. */
  public int prefetchTokens(int[] tokens, int deadlineMs) {
    return await(prefetchTokensAsync(tokens, deadlineMs));
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Closes every connection (requests in flight fail with CONNECTION_CLOSED) and stops the I/O
   * threads. When it returns every call's future is complete, and no buffer handed to the client is
   * used any more. Idempotent.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (sync != null) {
      sync.close(TimeUnit.SECONDS.toNanos(2)); // calls under way fail at once; waits for them
    }
    pool.close();
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
    // Every connection is closed and its event loop has run out: writes were failed (releasing
    // PUT pages) and pending requests settled. What remains waited for a retry or a connection
    // that will not come; none of it holds a buffer.
    KvStoreException closedReason = new KvStoreException(ErrorCode.CONNECTION_CLOSED, "client is closed");
    for (CallFuture<?> call : openCalls) {
      call.settleExceptionally(closedReason);
    }
    // No GET completes any more: the views still open are released (their leases died with the
    // connections; their socket buffers go back now) and made unreadable.
    for (PageViews views : openViews) {
      views.close();
    }
    frameBuffers.close(); // after the I/O threads: no decoder lends from it any more
  }

  // ---------------------------------------------------------------- internals

  /** Builds one PUT request for pages {@code [from, from + count)}. */
  @FunctionalInterface
  interface PutFactory {
    PendingRequest<int[]> create(int from, int count, long frameLength, long timeoutNanos);
  }

  /**
   * Splits pages of the given lengths into PUT frames of about {@link
   * KvStoreClientBuilder#putFrameBytes} page bytes, within the daemon's max frame and max batch,
   * sends them, and merges the statuses. Pages over the max page length are not sent. The call
   * completes once every frame's request has (so no page is still being written by then).
   */
  private CallFuture<PutResult> putChunks(int[] lengths, PutFactory factory) {
    ServerLimits limits = pool.limits();
    int[] statuses = new int[lengths.length];
    List<CallFuture<?>> parts = new ArrayList<>();
    int[] partFrom = new int[lengths.length];
    int from = 0;
    while (from < lengths.length) {
      if (lengths[from] > limits.maxPageLength()
          || PutFlyweight.frameLength(1, lengths[from]) > limits.maxFrameLength()) {
        statuses[from] = ErrorCode.PAGE_TOO_LARGE;
        from++;
        continue;
      }
      int count = 0;
      long bytes = 0;
      while (from + count < lengths.length
          && count < limits.maxBatch()
          && (count == 0 || bytes + lengths[from + count] <= config.putFrameBytes)
          && lengths[from + count] <= limits.maxPageLength()
          && PutFlyweight.frameLength(count + 1, bytes + lengths[from + count])
              <= limits.maxFrameLength()) {
        bytes += lengths[from + count];
        count++;
      }
      int chunkFrom = from;
      int chunkCount = count;
      long frameLength = PutFlyweight.frameLength(count, bytes);
      partFrom[parts.size()] = chunkFrom;
      parts.add(execute(t -> factory.create(chunkFrom, chunkCount, frameLength, t), config.retryPuts,
          timeoutNanos));
      from += count;
    }
    return CallFuture.allOf(this::onIoThread, parts, () -> {
      for (int k = 0; k < parts.size(); k++) {
        int[] chunk = (int[]) parts.get(k).join();
        System.arraycopy(chunk, 0, statuses, partFrom[k], chunk.length);
      }
      return new PutResult(statuses);
    });
  }

  /**
   * Runs a request, retrying retryable failures of idempotent ones on another connection, all
   * within {@code timeoutNanos}: each attempt gets the time left, and no retry starts that could
   * not begin before the deadline. The returned call completes only when its last attempt's
   * request has (see {@link PendingRequest}).
   */
  private <T> CallFuture<T> execute(
      LongFunction<PendingRequest<T>> factory, boolean idempotent, long timeoutNanos) {
    return execute(factory, idempotent, timeoutNanos, null);
  }

  /**
   * {@link #execute(LongFunction, boolean, long)} of a request whose value holds resources: a value
   * that arrives after the caller stopped the call (or after {@link #close()} failed it) is handed
   * to {@code orphan}, which frees it, since nobody else ever will.
   */
  private <T> CallFuture<T> execute(LongFunction<PendingRequest<T>> factory, boolean idempotent,
      long timeoutNanos, Consumer<T> orphan) {
    return execute(factory, idempotent ? config.maxRetries : 0, 1, timeoutNanos, orphan);
  }

  /** Runs a request with {@code retries} retries left, its first attempt numbered {@code attempt}. */
  private <T> CallFuture<T> execute(LongFunction<PendingRequest<T>> factory, int retries,
      int attempt, long timeoutNanos, Consumer<T> orphan) {
    CallFuture<T> result = new CallFuture<>(this::onIoThread);
    openCalls.add(result);
    result.whenComplete((v, e) -> openCalls.remove(result));
    long deadline = System.nanoTime() + timeoutNanos;
    attempt(factory, retries, attempt, result, deadline, timeoutNanos, orphan);
    return result;
  }

  private <T> void attempt(LongFunction<PendingRequest<T>> factory, int retriesLeft, int attempt,
      CallFuture<T> result, long deadline, long timeoutNanos, Consumer<T> orphan) {
    if (closed) {
      result.settleExceptionally(
          new KvStoreException(ErrorCode.CONNECTION_CLOSED, "client is closed"));
      return;
    }
    PendingRequest<T> request = factory.apply(Math.max(1, deadline - System.nanoTime()));
    if (!result.attempt(request)) {
      return; // stopped by the caller meanwhile; the caller completes the call
    }
    long bytes = request.inFlightBytes();
    request.future.whenComplete((value, error) -> {
      if (result.isStopping()) {
        if (error == null && orphan != null) {
          orphan.accept(value); // the caller stopped it and completes it: nobody takes the value
        }
        return; // the caller stopped it and completes it
      }
      if (error == null) {
        if (!result.settle(value) && orphan != null) {
          orphan.accept(value); // completed meanwhile (client closed): nobody takes the value
        }
        return;
      }
      KvStoreException failure = asKvStoreException(error);
      long delayNanos = config.retryBackoff.toNanos() * attempt;
      if (retriesLeft > 0 && !closed && failure.isRetryable()
          && deadline - System.nanoTime() - delayNanos > 0) {
        try {
          group.schedule(
              () -> attempt(factory, retriesLeft - 1, attempt + 1, result, deadline, timeoutNanos,
                  orphan),
              delayNanos, TimeUnit.NANOSECONDS);
          return;
        } catch (RejectedExecutionException e) {
          // closing: fail with what the attempt met
        }
      }
      if (attempt > 1 && failure.code() == ErrorCode.CLIENT_TIMEOUT) {
        failure = new KvStoreException(ErrorCode.CLIENT_TIMEOUT, "no answer within "
            + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms over " + attempt + " attempts; last: "
            + failure.getMessage(), failure);
      }
      result.settleExceptionally(failure);
    });
    CompletableFuture<Connection> acquiring = pool.acquire(bytes);
    if (!acquiring.isDone()) {
      // Waiting for a connection (every one is reconnecting): bounded by the request's time as
      // its answer is. A stalled daemon accepts TCP connections and answers no HELLO, so this
      // wait took up to the connect timeout and the request then its whole timeout again.
      try {
        ScheduledFuture<?> noConnection = group.schedule(
            () -> request.fail(new KvStoreException(ErrorCode.CLIENT_TIMEOUT,
                "no connection to " + peer + " within "
                    + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms (reconnecting)")),
            Math.max(1, request.deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
        acquiring.whenComplete((c, e) -> noConnection.cancel(false));
      } catch (RejectedExecutionException e) {
        request.fail(new KvStoreException(ErrorCode.CONNECTION_CLOSED, "client is closed"));
      }
    }
    acquiring.whenComplete((connection, error) -> {
      if (error != null) {
        request.fail(error);
      } else if (closed) {
        connection.release(bytes);
        request.fail(new KvStoreException(ErrorCode.CONNECTION_CLOSED, "client is closed"));
      } else if (request.reserved(connection, bytes)) {
        connection.send(request);
      }
    });
  }

  /**
   * Whether the calling thread is one of this client's I/O threads, where a blocking call would
   * wait for the thread it runs on (and is refused). Code that composes this client's futures and
   * then blocks on them (the cluster client, an engine's callbacks) asks this before blocking.
   *
   * @return true on one of this client's I/O threads
   */
  public boolean isIoThread() {
    return onIoThread();
  }

  /** Whether the calling thread is one of the client's I/O threads. */
  private boolean onIoThread() {
    for (EventExecutor executor : group) {
      if (executor.inEventLoop()) {
        return true;
      }
    }
    return false;
  }

  /**
   * A blocking call: on a caller-driven connection when one is free ({@link SyncConnection}: this
   * thread writes the request and reads the answer), otherwise through the pipelined path. A
   * retryable failure of an idempotent request is retried on the pipelined path with the time
   * left. When this returns or throws, the request no longer touches the caller's buffers.
   */
  private <T> T blocking(
      LongFunction<PendingRequest<T>> factory, boolean idempotent, long timeoutNanos) {
    return blocking(factory, idempotent, timeoutNanos, null);
  }

  /**
   * {@link #blocking(LongFunction, boolean, long)} of a request whose value holds resources: on
   * the pipelined path a value that arrives after the caller stopped the call goes to {@code
   * orphan} (see {@link #execute(LongFunction, boolean, long, Consumer)}).
   */
  private <T> T blocking(LongFunction<PendingRequest<T>> factory, boolean idempotent,
      long timeoutNanos, Consumer<T> orphan) {
    if (onIoThread()) {
      throw new IllegalStateException(
          "blocking kvstore call on a kvstore I/O thread would deadlock; use the async form");
    }
    if (sync != null && Thread.currentThread().isInterrupted()) {
      // As the pipelined path's wait would: nothing is sent, the flag stays set.
      throw new KvStoreException(ErrorCode.CLIENT_TIMEOUT, "interrupted before the call was sent");
    }
    // The call's time starts now: opening a caller-driven connection (a HELLO the daemon may
    // not answer) counts against it, as does the pipelined path's wait for a connection.
    long start = System.nanoTime();
    SyncConnection c = sync == null || closed ? null : sync.acquire(timeoutNanos);
    long left = start + timeoutNanos - System.nanoTime();
    if (c == null) {
      if (left <= 0) {
        throw new KvStoreException(ErrorCode.CLIENT_TIMEOUT, "no connection to " + peer
            + " within " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms");
      }
      return await(execute(factory, idempotent, left, orphan));
    }
    PendingRequest<T> request = factory.apply(Math.max(1, left));
    try {
      c.call(request, start + timeoutNanos);
    } finally {
      sync.release(c, !c.isBroken());
    }
    if (!request.future.isDone()) { // call() settles every request it is given; never wait here
      request.fail(new KvStoreException(ErrorCode.INTERNAL, "caller-driven call left unsettled"));
    }
    try {
      return request.future.join();
    } catch (CompletionException | CancellationException e) {
      KvStoreException failure = asKvStoreException(e);
      long stillLeft = start + timeoutNanos - System.nanoTime();
      if (idempotent && config.maxRetries > 0 && failure.isRetryable() && !closed && stillLeft > 0
          && !Thread.currentThread().isInterrupted()) {
        // The retries left, on the pipelined path (which reconnects with backoff).
        return await(execute(factory, config.maxRetries - 1, 2, stillLeft, orphan));
      }
      throw failure;
    }
  }

  /** Whether {@code lengths} go in one PUT frame: its length, or -1 (several, or one too large). */
  private long oneFrame(int[] lengths) {
    ServerLimits limits = pool.limits();
    if (lengths.length == 0 || lengths.length > limits.maxBatch()) {
      return -1;
    }
    long bytes = 0;
    for (int length : lengths) {
      if (length > limits.maxPageLength()) {
        return -1;
      }
      bytes += length;
    }
    long frameLength = PutFlyweight.frameLength(lengths.length, bytes);
    if ((lengths.length > 1 && bytes > config.putFrameBytes)
        || frameLength > limits.maxFrameLength()) {
      return -1;
    }
    return frameLength;
  }

  private static int[] putLengths(ByteBuffer[] pages) {
    int[] lengths = new int[pages.length];
    for (int i = 0; i < pages.length; i++) {
      lengths[i] = pages[i].remaining();
      if (lengths[i] < PageFormat.HEADER_LENGTH) {
        throw new IllegalArgumentException("page " + i + " has " + lengths[i] + " bytes, less than a page header");
      }
    }
    return lengths;
  }

  private void checkGet(long[] keys, ByteBuffer[] dsts) {
    checkKeys(keys);
    if (dsts.length != keys.length / 2) {
      throw new IllegalArgumentException(
          dsts.length + " destination buffers for " + keys.length / 2 + " keys");
    }
  }

  /**
   * Whether {@code address} is this host's: loopback, or bound to one of its interfaces (where a
   * shared region can be negotiated). An address that cannot be resolved counts as this host's,
   * which keeps the pipelined path.
   */
  static boolean onThisHost(InetSocketAddress address) {
    try {
      InetAddress ip = address.isUnresolved()
          ? InetAddress.getByName(address.getHostString())
          : address.getAddress();
      return ip.isLoopbackAddress() || ip.isAnyLocalAddress()
          || NetworkInterface.getByInetAddress(ip) != null;
    } catch (IOException e) {
      return true;
    }
  }

  /** Caller-driven connections open now (for tests). */
  int callerDrivenConnections() {
    return sync == null ? 0 : sync.openConnections();
  }

  /** Caller-driven connections open now with a shared region attached (for tests). */
  int callerDrivenRegions() {
    return sync == null ? 0 : sync.withRegion();
  }

  /**
   * Waits for a call. Interrupted, it stops the call (its request settles: late pages are
   * discarded), waits until the call's buffers are free, keeps the interrupt flag set and throws.
   */
  private <T> T await(CompletableFuture<T> future) {
    if (onIoThread()) {
      throw new IllegalStateException(
          "blocking kvstore call on a kvstore I/O thread would deadlock; use the async form");
    }
    try {
      return future.get();
    } catch (ExecutionException e) {
      throw asKvStoreException(e.getCause());
    } catch (InterruptedException e) {
      KvStoreException reason = new KvStoreException(ErrorCode.CLIENT_TIMEOUT,
          "interrupted while waiting; the request was abandoned and its buffers are the caller's again",
          e);
      if (future instanceof CallFuture<T> call) {
        call.stopAndFinish(reason, () -> call.settleExceptionally(reason));
      }
      Thread.currentThread().interrupt();
      throw reason;
    } catch (CancellationException e) {
      throw new KvStoreException(ErrorCode.CLIENT_TIMEOUT, "cancelled", e);
    }
  }

  /** The failure as a {@link KvStoreException} (unwrapping completion wrappers). */
  static KvStoreException asKvStoreException(Throwable error) {
    Throwable cause = error;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    if (cause instanceof KvStoreException) {
      return (KvStoreException) cause;
    }
    return new KvStoreException(ErrorCode.INTERNAL, String.valueOf(cause), cause);
  }

  private void checkKeys(long[] keys) {
    ServerLimits limits = pool.limits();
    if ((keys.length & 1) != 0) {
      throw new IllegalArgumentException("keys are (hi, lo) pairs; got an odd length " + keys.length);
    }
    if (keys.length / 2 > limits.maxBatch()) {
      throw new IllegalArgumentException(keys.length / 2 + " keys exceed the daemon's max batch of "
          + limits.maxBatch());
    }
    if (FrameDescriptor.HEADER_LENGTH + 8 + 16L * (keys.length / 2) > limits.maxFrameLength()) {
      throw new IllegalArgumentException(keys.length / 2 + " keys exceed the daemon's max frame");
    }
  }

  private static long[] toPairs(BlockKey[] keys) {
    long[] pairs = new long[2 * keys.length];
    for (int i = 0; i < keys.length; i++) {
      pairs[2 * i] = keys[i].hi();
      pairs[2 * i + 1] = keys[i].lo();
    }
    return pairs;
  }
}
