package io.kvstore.bench.targets;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kvstore.core.store.StoreHealth;
import io.kvstore.core.store.StoreStats;
import io.kvstore.core.tier.TierKind;
import java.util.List;
import org.junit.jupiter.api.Test;

class EmbeddedTargetStatsTest {

  @Test
  void shouldCountGetsServedFromTheWriteBackQueueAsSsdHits() {
    List<StoreStats.TierStats> tiers = List.of(
        new StoreStats.TierStats(TierKind.HOT, 1, 0, 0, 0, 10, 0, 0, 7, 0, 0),
        new StoreStats.TierStats(TierKind.DRAM, 1, 0, 0, 0, 25, 0, 0, 0, 4, 0),
        new StoreStats.TierStats(TierKind.SSD, 1, 0, 0, 0, 3, 0, 0, 0, 2, 0));
    // queueHits (the ninth figure) is 12.
    StoreStats.WriteBackStats wb =
        new StoreStats.WriteBackStats(0, 0, 0, 0, 0, 0, 0, 0, 12, 0, 0, 0, 0, 0);
    StoreStats stats = new StoreStats(52, 2, 0, 0, 0, 0, 0, 0, 0, tiers, wb, StoreHealth.OK,
        0, StoreStats.SsdFileStats.NONE);
    assertEquals(List.of(new TierCounters.Tier("hot", 10, 7, 0),
        new TierCounters.Tier("dram", 25, 0, 4), new TierCounters.Tier("ssd", 15, 0, 2)),
        EmbeddedTarget.fromStats(stats).tiers());
  }
}
