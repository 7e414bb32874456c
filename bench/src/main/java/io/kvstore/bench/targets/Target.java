package io.kvstore.bench.targets;

import java.io.IOException;

/**
 * A store a benchmark runs against: the embedded {@code TieredStore}, the daemon through the SDK,
 * Redis, or the raw socket baseline. A target owns what it started (a temp data directory, a forked
 * daemon or redis-server) and releases it on {@link #close()}.
 */
public interface Target extends AutoCloseable {

  /** Name in reports: {@code kvstore-embedded}, {@code kvstore-daemon}, {@code redis}, {@code raw-socket}. */
  String name();

  /** Opens a session for one worker thread. */
  Session openSession() throws IOException;

  /** A snapshot of the store's per-tier counters ({@link TierCounters#NONE} if it has none). */
  TierCounters counters() throws IOException;

  /** Stops what the target started and frees what it holds. Idempotent. */
  @Override
  void close();
}
