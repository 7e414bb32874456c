package io.kvstore.client;

import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.client.protocol.HelloFlyweight;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Configures and connects a {@link KvStoreClient}. Every setting has a default except the address
 * and the namespace (given directly or by a {@link KeyChain}).
 */
public final class KvStoreClientBuilder {

  /** Default number of connections in the pool. */
  public static final int CONNECTIONS_DEFAULT = 4;
  /** Default timeout of a call, retries included. */
  public static final Duration REQUEST_TIMEOUT_DEFAULT = Duration.ofSeconds(5);
  /** Default connect + handshake timeout. */
  public static final Duration CONNECT_TIMEOUT_DEFAULT = Duration.ofSeconds(5);
  /** Default retries of an idempotent request after a retryable failure. */
  public static final int MAX_RETRIES_DEFAULT = 2;
  /** Default client-side cap on unanswered request bytes per connection (spec §3.6). */
  public static final long MAX_IN_FLIGHT_BYTES_DEFAULT = 256L << 20;
  /**
   * Default page bytes per PUT frame: a batch of large pages goes as several frames sent back to
   * back on one connection, so the daemon stores one frame while the next is on the wire instead of
   * waiting for a whole 64 MiB batch before storing its first page.
   */
  public static final int PUT_FRAME_BYTES_DEFAULT = 8 << 20;
  /**
   * Default PING interval: a connection that has read nothing, or written nothing, for this long
   * sends a keepalive PING. Well below a daemon idle timeout of a minute or so, so a quiet pooled
   * connection is never closed as idle, and short enough that a dead peer is noticed in seconds.
   */
  public static final Duration PING_INTERVAL_DEFAULT = Duration.ofSeconds(15);
  /**
   * Default PING timeout: a keepalive PING unanswered this long, with nothing else read meanwhile,
   * retires the connection.
   */
  public static final Duration PING_TIMEOUT_DEFAULT = Duration.ofSeconds(5);
  /** Default delay before the first reconnect attempt of a slot (before jitter). */
  public static final Duration RECONNECT_DELAY_DEFAULT = Duration.ofMillis(200);
  /** Default bound on the delay between reconnect attempts. */
  public static final Duration MAX_RECONNECT_DELAY_DEFAULT = Duration.ofSeconds(2);
  /** Default bytes of reused receive memory for large response frames, over all connections. */
  public static final long FRAME_BUFFER_POOL_BYTES_DEFAULT = 32L << 20;

  InetSocketAddress address;
  Long namespaceId;
  KeyChain keyChain;
  byte[] authToken = new byte[0];
  int connections = CONNECTIONS_DEFAULT;
  int ioThreads;
  Duration requestTimeout = REQUEST_TIMEOUT_DEFAULT;
  Duration connectTimeout = CONNECT_TIMEOUT_DEFAULT;
  Duration retryBackoff = Duration.ofMillis(10);
  Duration reconnectDelay = RECONNECT_DELAY_DEFAULT;
  Duration maxReconnectDelay = MAX_RECONNECT_DELAY_DEFAULT;
  Duration pingInterval = PING_INTERVAL_DEFAULT;
  Duration pingTimeout = PING_TIMEOUT_DEFAULT;
  int maxRetries = MAX_RETRIES_DEFAULT;
  boolean retryPuts;
  boolean verifyChecksums = true;
  boolean sharedMemory = true;
  boolean preferNativeTransport = true;
  boolean callerDrivenIo = true;
  int maxFrameLength = FrameDescriptor.DEFAULT_MAX_FRAME_LENGTH;
  long maxInFlightBytes = MAX_IN_FLIGHT_BYTES_DEFAULT;
  int putFrameBytes = PUT_FRAME_BYTES_DEFAULT;

  KvStoreClientBuilder() {}

  /** The daemon's host and port. */
  public KvStoreClientBuilder address(String host, int port) {
    return address(InetSocketAddress.createUnresolved(host, port));
  }

  /** The daemon's address. */
  public KvStoreClientBuilder address(InetSocketAddress address) {
    this.address = address;
    return this;
  }

  /** The namespace the connections are bound to (spec/1: u64 namespace id). */
  public KvStoreClientBuilder namespaceId(long namespaceId) {
    this.namespaceId = namespaceId;
    return this;
  }

  /**
   * The key function of the token-level API; also gives the namespace when {@link #namespaceId}
   * is not set.
   */
  public KvStoreClientBuilder keyChain(KeyChain keyChain) {
    this.keyChain = keyChain;
    return this;
  }

  /** The auth token sent in HELLO (UTF-8, at most 1024 bytes); empty by default. */
  public KvStoreClientBuilder authToken(String token) {
    byte[] bytes = token.getBytes(StandardCharsets.UTF_8);
    if (bytes.length > HelloFlyweight.MAX_TOKEN_LENGTH) {
      throw new IllegalArgumentException("auth token longer than 1024 bytes");
    }
    this.authToken = bytes;
    return this;
  }

  /** Connections in the pool (default 4). */
  public KvStoreClientBuilder connections(int connections) {
    if (connections < 1) {
      throw new IllegalArgumentException("connections must be >= 1, got " + connections);
    }
    this.connections = connections;
    return this;
  }

  /** I/O threads (default: min(connections, available processors)). */
  public KvStoreClientBuilder ioThreads(int ioThreads) {
    if (ioThreads < 1) {
      throw new IllegalArgumentException("ioThreads must be >= 1, got " + ioThreads);
    }
    this.ioThreads = ioThreads;
    return this;
  }

  /**
   * How long a call may take, retries included (default 5 s): each attempt gets the time left, and
   * no retry starts that could not begin before it runs out. A PREFETCH gets its deadline on top.
   */
  public KvStoreClientBuilder requestTimeout(Duration timeout) {
    this.requestTimeout = positive(timeout, "requestTimeout");
    return this;
  }

  /** How long connecting and the handshake may take (default 5 s). */
  public KvStoreClientBuilder connectTimeout(Duration timeout) {
    this.connectTimeout = positive(timeout, "connectTimeout");
    return this;
  }

  /** Retries of an idempotent request after a retryable failure (default 2; 0 disables). */
  public KvStoreClientBuilder maxRetries(int maxRetries) {
    if (maxRetries < 0) {
      throw new IllegalArgumentException("maxRetries must be >= 0, got " + maxRetries);
    }
    this.maxRetries = maxRetries;
    return this;
  }

  /** Pause before retry {@code n} is {@code n} times this (default 10 ms). */
  public KvStoreClientBuilder retryBackoff(Duration backoff) {
    this.retryBackoff = positive(backoff, "retryBackoff");
    return this;
  }

  /**
   * Delay before the first reconnect attempt of a pool slot whose connection was lost (default
   * 200 ms); each failed attempt doubles it up to {@link #maxReconnectDelay}, and every delay is
   * jittered down by up to half, so the slots of many clients do not reconnect in step.
   */
  public KvStoreClientBuilder reconnectDelay(Duration delay) {
    this.reconnectDelay = positive(delay, "reconnectDelay");
    return this;
  }

  /**
   * Bound on the delay between reconnect attempts (default 2 s): a daemon that comes back is found
   * within about this long. Raised to {@link #reconnectDelay} if below it.
   */
  public KvStoreClientBuilder maxReconnectDelay(Duration delay) {
    this.maxReconnectDelay = positive(delay, "maxReconnectDelay");
    return this;
  }

  /**
   * PING interval (default 15 s): a connection that has read nothing, or written nothing, for this
   * long sends a keepalive PING, which keeps it open under the daemon's idle timeout and checks the
   * daemon still answers. Keep it well below the daemon's idle timeout.
   */
  public KvStoreClientBuilder pingInterval(Duration interval) {
    this.pingInterval = positive(interval, "pingInterval");
    return this;
  }

  /**
   * PING timeout (default 5 s): a keepalive PING, sent when idle or after a request timed out,
   * unanswered this long with nothing else read meanwhile retires the connection (its requests fail
   * with CONNECTION_CLOSED; the pool reconnects).
   */
  public KvStoreClientBuilder pingTimeout(Duration timeout) {
    this.pingTimeout = positive(timeout, "pingTimeout");
    return this;
  }

  /**
   * Whether PUT is retried too (default false). Re-storing a page is harmless (same key, same
   * bytes), but a PUT carries up to a frame of page bytes, and re-sending it after a timeout or
   * OVERLOADED doubles the load on a daemon that is already slow; the engine can recompute instead.
   */
  public KvStoreClientBuilder retryPuts(boolean retryPuts) {
    this.retryPuts = retryPuts;
    return this;
  }

  /** Whether fetched pages' CRCs are checked (default true; a page that fails is a miss). */
  public KvStoreClientBuilder verifyChecksums(boolean verify) {
    this.verifyChecksums = verify;
    return this;
  }

  /**
   * Whether page bytes move through a shared-memory region when the daemon runs on the same host
   * (default true; {@code spec/4-shared-memory.md}). Each connection negotiates it after HELLO and
   * falls back to TCP by itself when the daemon is remote, offers none, or the region is too
   * small; false keeps every byte on TCP.
   */
  public KvStoreClientBuilder sharedMemory(boolean enabled) {
    this.sharedMemory = enabled;
    return this;
  }

  /**
   * Whether blocking calls ({@code get}, {@code getViews}, {@code put} of one frame, {@code
   * lookup}, {@code delete}, {@code prefetch}, {@code stats}, {@code ping}) write their request and
   * read their answer on the calling thread, over connections of their own lent to one call at a
   * time, as a Jedis-style client does (default true). A round trip then wakes two threads instead
   * of four; see docs/sdk.md. Up to {@link #connections} such connections are opened beside the
   * pipelined ones; a blocking call that finds none free takes the pipelined path. With {@link
   * #sharedMemory} on and a daemon on this host each negotiates a shared region of its own and
   * moves pages through it on the calling thread. Not used by the async methods.
   */
  public KvStoreClientBuilder callerDrivenIo(boolean enabled) {
    this.callerDrivenIo = enabled;
    return this;
  }

  /** Whether native epoll is used when available (default true). */
  public KvStoreClientBuilder preferNativeTransport(boolean preferNative) {
    this.preferNativeTransport = preferNative;
    return this;
  }

  /** Longest frame the client accepts from the daemon (default 64 MiB; sent in HELLO). */
  public KvStoreClientBuilder maxFrameLength(int maxFrameLength) {
    if (maxFrameLength < FrameDescriptor.MIN_MAX_FRAME_LENGTH) {
      throw new IllegalArgumentException("maxFrameLength below " + FrameDescriptor.MIN_MAX_FRAME_LENGTH);
    }
    this.maxFrameLength = maxFrameLength;
    return this;
  }

  /** Client-side cap on unanswered request bytes per connection (default 256 MiB). */
  public KvStoreClientBuilder maxInFlightBytes(long maxInFlightBytes) {
    if (maxInFlightBytes < 1) {
      throw new IllegalArgumentException("maxInFlightBytes must be >= 1");
    }
    this.maxInFlightBytes = maxInFlightBytes;
    return this;
  }

  /**
   * Page bytes per PUT frame (default 8 MiB): a PUT whose pages add up to more is split into frames
   * of about this many bytes (at least one page each, within the daemon's max frame and max batch),
   * pipelined on the connection; their statuses are merged in page order. Pages of one call may be
   * stored in any order across frames.
   */
  public KvStoreClientBuilder putFrameBytes(int putFrameBytes) {
    if (putFrameBytes < 1) {
      throw new IllegalArgumentException("putFrameBytes must be >= 1, got " + putFrameBytes);
    }
    this.putFrameBytes = putFrameBytes;
    return this;
  }

  /**
   * Connects every pool connection and completes their handshakes.
   *
   * @throws KvStoreException if the daemon cannot be reached or refuses the handshake (the code
   *     says why: AUTH_FAILED, NAMESPACE_DENIED, UNSUPPORTED_VERSION, CONNECTION_CLOSED, ...)
   */
  public KvStoreClient build() {
    if (address == null) {
      throw new IllegalStateException("address is required");
    }
    if (namespaceId == null && keyChain == null) {
      throw new IllegalStateException("namespaceId or keyChain is required");
    }
    if (namespaceId != null && keyChain != null && namespaceId != keyChain.namespaceId()) {
      throw new IllegalStateException("namespaceId differs from the keyChain's namespace");
    }
    return new KvStoreClient(this);
  }

  long namespace() {
    return namespaceId != null ? namespaceId : keyChain.namespaceId();
  }

  private static Duration positive(Duration d, String name) {
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, got " + d);
    }
    return d;
  }
}
