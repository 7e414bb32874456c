package io.kvstore.core.store;

import io.kvstore.core.tier.TierKind;
import java.util.List;

/**
 * A snapshot of the store's counters (monotonic since open) and gauges (now).
 *
 * @param gets get and getPinned calls
 * @param misses gets that found the key in no tier
 * @param puts pages stored by put
 * @param putBytes bytes of those pages
 * @param putRejects pages no tier could take (larger than every tier's largest page)
 * @param deletes keys removed by delete
 * @param corruptions pages that failed their checksum when read from the SSD tier (each removed)
 * @param prefetchRequests prefetch calls
 * @param prefetchedPages pages promoted by prefetch
 * @param tiers one entry per configured tier, fastest first
 */
public record StoreStats(
    long gets,
    long misses,
    long puts,
    long putBytes,
    long putRejects,
    long deletes,
    long corruptions,
    long prefetchRequests,
    long prefetchedPages,
    List<TierStats> tiers) {

  /**
   * Counters and gauges of one tier.
   *
   * @param kind which tier
   * @param capacityBytes bound on usedBytes
   * @param usedBytes bytes taken now
   * @param pageCount pages held now
   * @param hits gets served from this tier
   * @param hitBytes bytes of those pages
   * @param evictions pages this tier evicted to make room
   * @param promotions pages copied into this tier from a lower one on a hit or prefetch
   * @param demotions pages written into this tier when the tier above evicted them
   * @param admissionRejects demotions into this tier refused by its admission policy
   */
  public record TierStats(
      TierKind kind,
      long capacityBytes,
      long usedBytes,
      long pageCount,
      long hits,
      long hitBytes,
      long evictions,
      long promotions,
      long demotions,
      long admissionRejects) {}

  /** The stats of one tier, or {@code null} if the store has no such tier. */
  public TierStats tier(TierKind kind) {
    for (TierStats t : tiers) {
      if (t.kind() == kind) {
        return t;
      }
    }
    return null;
  }

  /** Hits of all tiers divided by gets (0 when there were no gets). */
  public double hitRatio() {
    return gets == 0 ? 0.0 : (double) (gets - misses) / gets;
  }
}
