package io.kvstore.core.store;

/**
 * Whether the store's SSD tier is taking writes. While {@code ssdDegraded} the store keeps serving
 * from memory and from what the SSD tier already holds; write-back is paused (dirty victims are
 * dropped and counted) and the tier is retried with exponential backoff until it takes writes
 * again, when the store recovers by itself.
 *
 * @param ssdDegraded whether SSD writes are paused after a failure
 * @param reason why: {@code NO_SPACE}, {@code IO_ERROR} or {@code CLOSED} (see {@code
 *     TierWriteException.Reason}), or null when healthy
 * @param sinceEpochMillis when the store entered the degraded state (0 when healthy)
 * @param lastError message of the last SSD failure seen (kept after recovery; null if none yet)
 */
public record StoreHealth(
    boolean ssdDegraded, String reason, long sinceEpochMillis, String lastError) {

  /** Healthy, with no failure seen. */
  public static final StoreHealth OK = new StoreHealth(false, null, 0L, null);
}
