package io.kvstore.core.tier;

import java.nio.ByteBuffer;

/**
 * One storage tier of the store. A tier stores whole pages ({@code spec/2-page-format.md}: 64-byte
 * header + payload) under their 128-bit key, bounded by a capacity in bytes that it never exceeds,
 * and chooses what to evict with an {@code EvictionPolicy}.
 *
 * <p>Contract, checked for every implementation by {@code TierContractTest}:
 *
 * <ul>
 *   <li>Thread-safe.
 *   <li>A stored page is returned byte for byte until it is deleted, replaced or evicted; a get
 *       returns the exact bytes put, or a miss — never other bytes.
 *   <li>{@link #usedBytes()} never exceeds {@link #capacityBytes()}.
 *   <li>A page evicted to make room is first handed to the {@link EvictionListener}.
 *   <li>A pinned page is never evicted or reused while pinned.
 * </ul>
 */
public interface Tier extends AutoCloseable {

  /** Returned by {@link #get} and {@link #length} on a miss. */
  int MISS = -1;

  /** Returned by {@link #reserve} when the tier makes no reservation. */
  long NO_RESERVATION = -1L;

  /** Which tier this is. */
  TierKind kind();

  /** The bound on {@link #usedBytes()}. */
  long capacityBytes();

  /** Bytes taken now by stored pages, as the tier accounts them against its capacity. */
  long usedBytes();

  /** Number of pages stored now. */
  long pageCount();

  /**
   * Bytes of memory the tier holds now for its pages: for a memory tier, the slabs it has
   * allocated (and one allocated ahead) and its staging buffers, up to its capacity plus a little;
   * for the SSD tier, 0 (its pages are on disk). Unlike {@link #usedBytes()}, this does not fall when
   * pages leave: a memory tier keeps its slabs until it is closed.
   */
  long memoryBytes();

  /** The largest page (header + payload) this tier can hold. */
  int maxPageBytes();

  /** Sets who is told of evicted pages (default: {@link EvictionListener#DROP}). */
  void setEvictionListener(EvictionListener listener);

  /**
   * Stores the page {@code src[position, limit)} (header + payload, already verified by the caller),
   * under the key in its header, replacing any page with that key. Evicts other pages if needed.
   * Does not move {@code src}'s position.
   *
   * @return false if the tier cannot take the page (larger than {@link #maxPageBytes()}, or no room
   *     can be made because everything evictable is pinned); nothing is changed then
   * @throws TierWriteException if the tier's storage failed (full disk, I/O error); nothing is
   *     changed then
   */
  boolean put(ByteBuffer src);

  /**
   * Stores {@code pages[0, count)} as {@link #put} stores each, in order; {@code stored[i]} says
   * whether page {@code i} is held now ({@code false} where {@link #put} would return false). A tier
   * that writes to storage may write the pages together (the SSD tier: one write of the pages
   * back to back, one log append for their locations). Does not move the pages' positions.
   *
   * @throws TierWriteException if the tier's storage failed: the pages marked in {@code stored}
   *     before the failure are stored, each whole; the others are not, and nothing of theirs is
   *     changed
   */
  default void putAll(ByteBuffer[] pages, int count, boolean[] stored) {
    java.util.Arrays.fill(stored, 0, count, false);
    for (int i = 0; i < count; i++) {
      stored[i] = put(pages[i]);
    }
  }

  /**
   * Whether this tier may offer {@link #reserve reservations}: memory tiers whose memory the host
   * can address. False by default (the SSD tier, a device-memory hot tier).
   */
  default boolean reservable() {
    return false;
  }

  /**
   * Reserves room for a page of {@code pageLength} bytes (header + payload) with this key, to be
   * filled by the caller through {@link #reservedPage} and then {@link #commit committed} or
   * {@link #abort aborted}, exactly one of the two. Lets a page from a source the caller does not
   * trust be copied once, straight into tier memory, and checked there before anyone can read it
   * (see {@code TieredStore#putCopyVerified}). Evicts as {@link #put} would; the key's current
   * page, if any, stays served until the commit. A reserved slot is never evicted and counts
   * against the capacity.
   *
   * @return a reservation, or {@link #NO_RESERVATION} if the tier cannot take such a page now
   *     (larger than {@link #maxPageBytes()}, everything evictable pinned) or does not offer
   *     reservations ({@link #reservable()} false)
   */
  default long reserve(long keyHi, long keyLo, int pageLength) {
    return NO_RESERVATION;
  }

  /**
   * A writable view of a reservation's memory: position 0, limit the reserved length. Only the
   * reserver writes it, and no lock is held while it does; the page written must be a whole page
   * (header + payload) of the key the reservation was made for.
   *
   * @throws IllegalStateException if {@code reservation} is not a live reservation of this tier
   */
  default ByteBuffer reservedPage(long reservation) {
    throw new IllegalStateException(kind() + " tier makes no reservations");
  }

  /**
   * Publishes a filled reservation under the key in its header, replacing any page with that key
   * (as {@link #put}). The reservation ends either way.
   *
   * @return false if the tier was closed meanwhile (nothing is stored then)
   * @throws IllegalStateException if {@code reservation} is not a live reservation of this tier
   */
  default boolean commit(long reservation) {
    throw new IllegalStateException(kind() + " tier makes no reservations");
  }

  /**
   * Ends a reservation without storing anything; its room is free again.
   *
   * @throws IllegalStateException if {@code reservation} is not a live reservation of this tier
   */
  default void abort(long reservation) {
    throw new IllegalStateException(kind() + " tier makes no reservations");
  }

  /**
   * Hands back the memory of a page the {@link EvictionListener} kept ({@link
   * EvictionListener#onEvictHeld} returned true): it is freed now, or at its last unpin. Works on a
   * closed tier too (the tier's memory is freed once every held page is back).
   *
   * @throws IllegalStateException if {@code hold} names no page held now (released twice)
   */
  default void releaseHeld(long hold) {
    throw new IllegalStateException(kind() + " tier holds no evicted pages");
  }

  /**
   * After a {@link TierWriteException}, tries to make the tier writable again (for a disk tier:
   * resume the storage engine once space is back). Cheap enough to call on a retry backoff; never
   * called on a request path. Memory tiers cannot fail this way and return true.
   *
   * @return whether writes are expected to succeed now
   */
  default boolean resumeWrites() {
    return true;
  }

  /**
   * A small write of the tier's own, after {@link #resumeWrites} said yes, that proves writes
   * succeed again when no page is waiting to be written (so an idle store recovers too). Never
   * called on a request path. Memory tiers have nothing to prove.
   *
   * @throws TierWriteException if the write fails (the tier stays degraded)
   */
  default void probeWrite() {}

  /**
   * Copies the page into {@code dst} at its position, advancing the position by the page length.
   *
   * @return the page length, or {@link #MISS}
   * @throws IllegalArgumentException if {@code dst.remaining()} is smaller than the page; nothing is
   *     copied then
   */
  int get(long keyHi, long keyLo, ByteBuffer dst);

  /**
   * A zero-copy pinned view of the page, or {@code null} on a miss or if this tier cannot pin (the
   * SSD tier cannot).
   */
  PinnedPage pin(long keyHi, long keyLo);

  /** Length of the page (header + payload), or {@link #MISS}. */
  int length(long keyHi, long keyLo);

  /** Whether the tier holds the key now. */
  default boolean contains(long keyHi, long keyLo) {
    return length(keyHi, keyLo) != MISS;
  }

  /**
   * Removes the page (without telling the eviction listener).
   *
   * @return whether it was present
   */
  boolean delete(long keyHi, long keyLo);

  /**
   * {@link #delete}, for a caller that excludes every other put and delete of the key while it
   * runs, and every write of it the tier is doing (the store: under the key lock, after the key's
   * write-back finished). A tier may then skip the locks that order those (the SSD tier: its
   * stripe, which its writers hold across RocksDB's log write, so a frozen disk holds it too).
   */
  default boolean deleteExclusive(long keyHi, long keyLo) {
    return delete(keyHi, keyLo);
  }

  /** Frees the tier's resources; pages of volatile tiers are gone, the SSD tier's stay on disk. */
  @Override
  void close();
}
