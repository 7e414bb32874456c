package io.kvstore.core.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.dram.DramTier;
import io.kvstore.core.tier.hot.HotTier;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link TieredStoreBuilder#memoryShards}: passed to both memory tiers, checked before opening. */
class TieredStoreBuilderShardsTest {

  @TempDir Path dir;

  @Test
  void shouldGiveBothMemoryTiersTheShardsAsked() {
    try (TieredStore store = TieredStore.builder().dataDir(dir).maxPageBytes(64 << 10)
        .hotBytes(16L << 20).dramBytes(32L << 20).ssdBytes(0).memoryShards(2).build()) {
      int seen = 0;
      for (Tier t : store.tiers()) {
        if (t instanceof HotTier hot) {
          assertEquals(2, hot.shardCount());
          seen++;
        } else if (t instanceof DramTier dram) {
          assertEquals(2, dram.shardCount());
          seen++;
        }
      }
      assertEquals(2, seen);
    }
  }

  @Test
  void shouldRefuseAShardCountThatIsNotAPowerOfTwo() {
    IllegalArgumentException three = assertThrows(IllegalArgumentException.class,
        () -> TieredStore.builder().dataDir(dir).ssdBytes(0).memoryShards(3).build());
    assertTrue(three.getMessage().contains("memoryShards"), three.getMessage());
    IllegalArgumentException many = assertThrows(IllegalArgumentException.class,
        () -> TieredStore.builder().dataDir(dir).ssdBytes(0).memoryShards(512).build());
    assertTrue(many.getMessage().contains("power of two up to 256"), many.getMessage());
  }
}
