package io.kvstore.client;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.FrameBufferPool;
import io.kvstore.client.protocol.FrameDecoder;
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
import io.netty.util.concurrent.EventExecutor;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
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
 *   <li>keys: {@link #lookup(long[])}, {@link #get(long[], ByteBuffer[])}, {@link #put(ByteBuffer[])},
 *       {@link #prefetch(long[], int)}, {@link #delete(long[])}; keys are (hi, lo) pairs in a
 *       {@code long[]}, key {@code i} at {@code [2i, 2i + 1]};
 *   <li>tokens: {@link #lookupTokens(int[])}, {@link #fetch(int[], ByteBuffer[])},
 *       {@link #store(int[], int, ByteBuffer[])}, {@link #prefetchTokens(int[], int)}, computing
 *       keys with the builder's {@link KeyChain}.
 * </ul>
 *
 * <p>Buffers handed to the client (pages to put, destinations to get into) belong to it until the
 * returned future completes. Thread-safe.
 */
public final class KvStoreClient implements AutoCloseable {

  private final KvStoreClientBuilder config;
  private final Transport transport;
  private final EventLoopGroup group;
  private final ConnectionPool pool;
  private final FrameBufferPool frameBuffers;
  private final ServerLimits limits;
  private final long timeoutNanos;
  private final KeyOps keys;
  private volatile boolean closed;

  KvStoreClient(KvStoreClientBuilder config) {
    this.config = config;
    this.transport = Transport.select(config.preferNativeTransport);
    int threads = config.ioThreads > 0
        ? config.ioThreads
        : Math.min(config.connections, Runtime.getRuntime().availableProcessors());
    this.group = new MultiThreadIoEventLoopGroup(threads, transport.ioHandlerFactory());
    this.timeoutNanos = config.requestTimeout.toNanos();
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
            String peer = config.address.getHostString() + ":" + config.address.getPort();
            ch.pipeline()
                .addLast("frames", FrameDecoder.forClient(config.maxFrameLength, frameBuffers))
                .addLast("requests", new ClientHandler(peer));
          }
        });
    Supplier<CompletableFuture<Connection>> connector = () -> Connection.open(
        bootstrap,
        config.address,
        new Requests.Hello(config.maxFrameLength, config.namespace(), config.authToken,
            config.connectTimeout.toNanos()),
        config.maxInFlightBytes);
    this.pool = new ConnectionPool(config.connections, connector, config.reconnectDelay.toNanos());
    try {
      pool.connectAll(config.connectTimeout.toNanos() + TimeUnit.SECONDS.toNanos(1));
    } catch (RuntimeException e) {
      pool.close();
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
      frameBuffers.close();
      throw e;
    }
    this.limits = pool.readyConnections().get(0).limits();
    this.keys = new KeyOps(config.keyChain);
  }

  /** A builder with every default set. */
  public static KvStoreClientBuilder builder() {
    return new KvStoreClientBuilder();
  }

  /** The limits the daemon announced at the handshake. */
  public ServerLimits serverLimits() {
    return limits;
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
    checkKeys(keys);
    return execute(() -> new Requests.Lookup(keys, timeoutNanos), true);
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
    checkKeys(keys);
    if (dsts.length != keys.length / 2) {
      throw new IllegalArgumentException(
          dsts.length + " destination buffers for " + keys.length / 2 + " keys");
    }
    return execute(
        () -> new Requests.Get(keys, dsts, prefixOnly, config.verifyChecksums, timeoutNanos), true);
  }

  /**
   * PUT: stores whole pages (each between its position and limit, header + payload as in
   * {@code spec/2-page-format.md}); split into as many frames as the daemon's limits need. A page
   * larger than the daemon's max page gets status PAGE_TOO_LARGE without being sent.
   */
  public CompletableFuture<PutResult> putAsync(ByteBuffer[] pages) {
    int[] lengths = new int[pages.length];
    for (int i = 0; i < pages.length; i++) {
      lengths[i] = pages[i].remaining();
      if (lengths[i] < PageFormat.HEADER_LENGTH) {
        throw new IllegalArgumentException("page " + i + " has " + lengths[i] + " bytes, less than a page header");
      }
    }
    return putChunks(lengths, (from, count, frameLength) ->
        new Requests.Put(pages, from, count, frameLength, timeoutNanos));
  }

  /** PREFETCH: promote the keys towards memory within {@code deadlineMs}; completes with the count in memory. */
  public CompletableFuture<Integer> prefetchAsync(long[] keys, int deadlineMs) {
    checkKeys(keys);
    if (deadlineMs < 0) {
      throw new IllegalArgumentException("deadlineMs must be >= 0, got " + deadlineMs);
    }
    long timeout = timeoutNanos + TimeUnit.MILLISECONDS.toNanos(deadlineMs);
    return execute(() -> new Requests.Prefetch(keys, deadlineMs, timeout), true);
  }

  /** DELETE: removes the keys from every tier; completes with the number that were present. */
  public CompletableFuture<Integer> deleteAsync(long[] keys) {
    checkKeys(keys);
    return execute(() -> new Requests.Delete(keys, timeoutNanos), true);
  }

  /** STATS: the daemon's counters, one {@code name value} per line. */
  public CompletableFuture<String> statsAsync() {
    return execute(() -> new Requests.Stats(timeoutNanos), true);
  }

  /** PING: completes with the round-trip time in nanoseconds. */
  public CompletableFuture<Long> pingAsync() {
    return execute(() -> new Requests.Ping(timeoutNanos), true);
  }

  // ---------------------------------------------------------------- key level, blocking

  /** Blocking {@link #lookupAsync(long[])}. */
  public LookupResult lookup(long[] keys) {
    return await(lookupAsync(keys));
  }

  /** Blocking {@link #lookupAsync(BlockKey[])}. */
  public LookupResult lookup(BlockKey[] keys) {
    return await(lookupAsync(keys));
  }

  /** Blocking {@link #getAsync(long[], ByteBuffer[])}. */
  public GetResult get(long[] keys, ByteBuffer[] dsts) {
    return await(getAsync(keys, dsts));
  }

  /** Blocking {@link #getAsync(long[], ByteBuffer[], boolean)}. */
  public GetResult get(long[] keys, ByteBuffer[] dsts, boolean prefixOnly) {
    return await(getAsync(keys, dsts, prefixOnly));
  }

  /** Blocking {@link #putAsync(ByteBuffer[])}. */
  public PutResult put(ByteBuffer[] pages) {
    return await(putAsync(pages));
  }

  /** Blocking {@link #prefetchAsync(long[], int)}. */
  public int prefetch(long[] keys, int deadlineMs) {
    return await(prefetchAsync(keys, deadlineMs));
  }

  /** Blocking {@link #deleteAsync(long[])}. */
  public int delete(long[] keys) {
    return await(deleteAsync(keys));
  }

  /** Blocking {@link #statsAsync()}. */
  public String stats() {
    return await(statsAsync());
  }

  /** Blocking {@link #pingAsync()}. */
  public long ping() {
    return await(pingAsync());
  }

  // ---------------------------------------------------------------- token level

  /** Number of leading tokens whose blocks are all stored (a multiple of the block size). */
  public CompletableFuture<Integer> lookupTokensAsync(int[] tokens) {
    long[] chain = keys.keysOf(tokens, keys.fullBlocks(tokens));
    if (chain.length == 0) {
      return CompletableFuture.completedFuture(0);
    }
    return lookupAsync(chain).thenApply(r -> r.runLength() * keys.tokensPerBlock());
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
    return getAsync(keys.keysOf(tokens, blocks), targets, true)
        .thenApply(r -> r.leadingRun() * keys.tokensPerBlock());
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
    return putChunks(lengths, (from, count, frameLength) -> new Requests.Put(
            payloads, headers, from * PageFormat.HEADER_LENGTH, from, count, frameLength, timeoutNanos))
        .thenApply(PutResult::stored);
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
    return putChunks(lengths, (from, count, frameLength) -> new Requests.Put(
            payloads, headers, from * PageFormat.HEADER_LENGTH, from, count, frameLength, timeoutNanos));
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
   * threads. Idempotent.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    pool.close();
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
    frameBuffers.close(); // after the I/O threads: no decoder lends from it any more
  }

  // ---------------------------------------------------------------- internals

  /** Builds one PUT request for pages {@code [from, from + count)}. */
  @FunctionalInterface
  interface PutFactory {
    PendingRequest<int[]> create(int from, int count, long frameLength);
  }

  /**
   * Splits pages of the given lengths into PUT frames of about {@link
   * KvStoreClientBuilder#putFrameBytes} page bytes, within the daemon's max frame and max batch,
   * sends them, and merges the statuses. Pages over the max page length are not sent.
   */
  private CompletableFuture<PutResult> putChunks(int[] lengths, PutFactory factory) {
    int[] statuses = new int[lengths.length];
    List<CompletableFuture<Void>> parts = new ArrayList<>();
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
      parts.add(execute(() -> factory.create(chunkFrom, chunkCount, frameLength), config.retryPuts)
          .thenAccept(chunk -> System.arraycopy(chunk, 0, statuses, chunkFrom, chunkCount)));
      from += count;
    }
    return CompletableFuture.allOf(parts.toArray(new CompletableFuture<?>[0]))
        .thenApply(v -> new PutResult(statuses));
  }

  /** Runs a request, retrying retryable failures of idempotent ones on another connection. */
  private <T> CompletableFuture<T> execute(Supplier<PendingRequest<T>> factory, boolean idempotent) {
    CompletableFuture<T> result = new CompletableFuture<>();
    attempt(factory, idempotent ? config.maxRetries : 0, 1, result);
    return result;
  }

  private <T> void attempt(
      Supplier<PendingRequest<T>> factory, int retriesLeft, int attempt, CompletableFuture<T> result) {
    if (closed) {
      result.completeExceptionally(new KvStoreException(ErrorCode.CONNECTION_CLOSED, "client is closed"));
      return;
    }
    PendingRequest<T> request = factory.get();
    long bytes = request.inFlightBytes();
    request.future.whenComplete((value, error) -> {
      if (error == null) {
        result.complete(value);
      } else if (retriesLeft > 0 && !closed && asKvStoreException(error).isRetryable()) {
        long delayNanos = config.retryBackoff.toNanos() * attempt;
        group.schedule(() -> attempt(factory, retriesLeft - 1, attempt + 1, result),
            delayNanos, TimeUnit.NANOSECONDS);
      } else {
        result.completeExceptionally(asKvStoreException(error));
      }
    });
    pool.acquire(bytes).whenComplete((connection, error) -> {
      if (error != null) {
        request.fail(error);
      } else {
        request.reserved(connection, bytes);
        connection.send(request);
      }
    });
  }

  private <T> T await(CompletableFuture<T> future) {
    for (EventExecutor executor : group) {
      if (executor.inEventLoop()) {
        throw new IllegalStateException(
            "blocking kvstore call on a kvstore I/O thread would deadlock; use the async form");
      }
    }
    try {
      return future.get();
    } catch (ExecutionException e) {
      throw asKvStoreException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KvStoreException(ErrorCode.CLIENT_TIMEOUT, "interrupted while waiting", e);
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
