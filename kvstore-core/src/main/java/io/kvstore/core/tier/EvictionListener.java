package io.kvstore.core.tier;

import java.nio.ByteBuffer;

/**
 * Told of every page a tier evicts to make room, before the page's memory is reused, so the store
 * can write it back to the next tier (demotion).
 *
 * <p>The memory tiers call it under the lock of the shard that held the page (other shards go on),
 * so <em>the listener must not block on I/O</em> and must not call back into the tier: copy the
 * page (a memcpy into a write-back buffer) and return.
 */
@FunctionalInterface
public interface EvictionListener {

  /** A listener that drops evicted pages. */
  EvictionListener DROP = (keyHi, keyLo, page) -> {};

  /**
   * @param page the evicted page (header + payload), read-only, position 0, valid only during the
   *     call
   */
  void onEvict(long keyHi, long keyLo, ByteBuffer page);
}
