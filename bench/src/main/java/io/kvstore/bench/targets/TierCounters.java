package io.kvstore.bench.targets;

import io.kvstore.bench.report.TierResult;
import java.util.ArrayList;
import java.util.List;

/**
 * A snapshot of a store's monotonic per-tier counters, taken before and after a run; {@link #since}
 * gives what the run did.
 *
 * @param tiers one entry per tier, fastest first
 */
public record TierCounters(List<Tier> tiers) {

  /** The counters of a target that reports none (the raw socket baseline). */
  public static final TierCounters NONE = new TierCounters(List.of());

  /**
   * One tier's counters.
   *
   * @param name {@code hot}, {@code dram}, {@code ssd}, or {@code redis}
   * @param hits pages served from the tier
   * @param promotions pages copied into it from a slower tier
   * @param demotions pages written into it when a faster tier evicted them
   */
  public record Tier(String name, long hits, long promotions, long demotions) {}

  /** Copies the list. */
  public TierCounters {
    tiers = List.copyOf(tiers);
  }

  /**
   * What happened between {@code before} and this snapshot, with bytes as pages times {@code
   * pageLength}. A tier missing from {@code before} counts from 0.
   */
  public List<TierResult> since(TierCounters before, int pageLength) {
    List<TierResult> out = new ArrayList<>(tiers.size());
    for (Tier now : tiers) {
      Tier then = before.tiers.stream().filter(t -> t.name.equals(now.name)).findFirst()
          .orElse(new Tier(now.name, 0, 0, 0));
      long promoted = now.promotions - then.promotions;
      long demoted = now.demotions - then.demotions;
      out.add(new TierResult(now.name, now.hits - then.hits, promoted, promoted * pageLength,
          demoted, demoted * pageLength));
    }
    return out;
  }
}
