package io.kvstore.core.tier;

import java.nio.ByteBuffer;

/**
 * Told of every page a tier evicts to make room, before the page's memory is reused, so the store
 * can write it back to the next tier (demotion).
 *
 * <p>The memory tiers call it under the lock of the shard that held the page (other shards go on),
 * so <em>the listener must not block on I/O</em> and must not call back into the tier: copy the
 * page (a memcpy into a write-back buffer) and return.
 *
 * <p><b>Held evictions.</b> A listener whose {@link #holdAheadBytes()} is above 0 may instead keep
 * an evicted page where it is: a memory tier whose memory the host can address then calls {@link
 * #onEvictHeld} for pages it evicts ahead of need, and a listener that returns true owns the page's
 * memory (still allocated, pinned, in no key table) until it hands it back with {@link
 * Tier#releaseHeld}. So a dirty page can go to write-back without being copied. To have a free slot
 * for each put while such pages are being written, the tier keeps up to {@code holdAheadBytes}
 * (each shard its share, at most an eighth of its slots of a size class) free or held: a put that
 * takes a free slot evicts one more page ahead, held if the listener keeps it. Held pages count as
 * used memory of the tier; a put that finds no free slot evicts as before (the listener copies).
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

  /**
   * An evicted page the listener may keep without copying it (see the class notes); called instead
   * of {@link #onEvict}, under the same lock and rules.
   *
   * @param page the evicted page (header + payload), read-only, position 0; valid during the call,
   *     and, if this returns true, until {@link Tier#releaseHeld}{@code (hold)}
   * @param hold the token to hand the page back with
   * @return true if the listener keeps the page (it must then release it exactly once); false if it
   *     copied or dropped it (its memory is reused at once)
   */
  default boolean onEvictHeld(long keyHi, long keyLo, ByteBuffer page, long hold) {
    onEvict(keyHi, keyLo, page);
    return false;
  }

  /**
   * Bytes of the tier to keep free or held ahead of need for {@link #onEvictHeld} (0: hold
   * nothing, evict only when a put needs the room). Read when the listener is set.
   */
  default long holdAheadBytes() {
    return 0;
  }
}
