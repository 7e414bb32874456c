package io.kvstore.bench.targets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kvstore.bench.report.TierResult;
import java.util.List;
import org.junit.jupiter.api.Test;

class DaemonStatsTest {

  private static final String STATS = """
      kvstore_tier_hits_total{tier="hot"} 10
      kvstore_tier_hits_total{tier="dram"} 25
      kvstore_tier_hits_total{tier="ssd"} 3
      kvstore_tier_hit_bytes_total{tier="hot"} 655360
      kvstore_tier_promotions_total{tier="hot"} 7
      kvstore_tier_promotions_total{tier="dram"} 0
      kvstore_tier_promotions_total{tier="ssd"} 0
      kvstore_tier_demotions_total{tier="hot"} 0
      kvstore_tier_demotions_total{tier="dram"} 4
      kvstore_tier_demotions_total{tier="ssd"} 2
      kvstore_misses_total 99
      kvstore_connections 2
      """;

  @Test
  void shouldReadOneSampleByItsWholeName() {
    assertEquals(2, DaemonStats.sample(STATS, "kvstore_connections"));
    assertEquals(4, DaemonStats.sample(STATS, "kvstore_tier_demotions_total{tier=\"dram\"}"));
    assertEquals(-1, DaemonStats.sample(STATS, "kvstore_tier_evictions_total{tier=\"ssd\"}"));
    assertEquals(-1, DaemonStats.sample(STATS, "kvstore_misses"), "a prefix of a name is not it");
  }

  @Test
  void shouldReadTheTierCountersFastestFirst() {
    TierCounters c = DaemonStats.parse(STATS);
    assertEquals(List.of(new TierCounters.Tier("hot", 10, 7, 0),
        new TierCounters.Tier("dram", 25, 0, 4), new TierCounters.Tier("ssd", 3, 0, 2)), c.tiers());
  }

  @Test
  void shouldCountGetsServedFromTheWriteBackQueueAsSsdHits() {
    TierCounters c = DaemonStats.parse(STATS + "kvstore_writeback_queue_hits_total 12\n");
    assertEquals(new TierCounters.Tier("ssd", 15, 0, 2), c.tiers().get(2));
    assertEquals(new TierCounters.Tier("dram", 25, 0, 4), c.tiers().get(1));
  }

  @Test
  void shouldLeaveOutTiersTheDaemonDoesNotHave() {
    TierCounters c = DaemonStats.parse("kvstore_tier_hits_total{tier=\"dram\"} 5\n"
        + "kvstore_tier_promotions_total{tier=\"dram\"} 1\n");
    assertEquals(List.of(new TierCounters.Tier("dram", 5, 1, 0)), c.tiers());
  }

  @Test
  void shouldRefuseTextWithoutTiers() {
    assertThrows(IllegalArgumentException.class, () -> DaemonStats.parse("redis_version:7.0\n"));
  }

  @Test
  void shouldDiffSnapshotsIntoBytesOfPages() {
    TierCounters before = DaemonStats.parse(STATS);
    TierCounters after = new TierCounters(List.of(new TierCounters.Tier("hot", 15, 9, 0),
        new TierCounters.Tier("dram", 25, 0, 10), new TierCounters.Tier("ssd", 3, 0, 2)));
    assertEquals(List.of(new TierResult("hot", 5, 2, 2 * 4160, 0, 0),
        new TierResult("dram", 0, 0, 0, 6, 6 * 4160), new TierResult("ssd", 0, 0, 0, 0, 0)),
        after.since(before, 4160));
  }
}
