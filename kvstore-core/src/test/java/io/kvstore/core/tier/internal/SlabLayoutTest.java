package io.kvstore.core.tier.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SlabLayoutTest {

  private static final int KIB = 1024;

  @Test
  void shouldGiveEverySlabToExactlyOneShardInContiguousRanges() {
    for (int slabs : new int[] {4, 7, 16, 17, 63, 64, 100, 1000}) {
      for (int shards = 1; shards <= 64; shards <<= 1) {
        SlabLayout layout =
            SlabLayout.of((long) slabs * 64 * KIB, 16 * KIB, 64 * KIB, 4 * KIB, 1.25, shards);
        assertEquals(slabs, layout.maxSlabs());
        int n = layout.shards();
        assertTrue(n == 1 || slabs / n >= SlabLayout.MIN_SLABS_PER_SHARD, slabs + " slabs, " + n);
        assertTrue(n <= shards && Integer.bitCount(n) == 1);
        int next = 0;
        for (int shard = 0; shard < n; shard++) {
          assertEquals(next, layout.firstSlabOfShard(shard), "contiguous");
          int count = layout.slabsOfShard(shard);
          assertTrue(count == slabs / n || count == slabs / n + 1, "shares differ by one at most");
          for (int slab = next; slab < next + count; slab++) {
            assertEquals(shard, layout.shardOfSlab(slab), "slab " + slab + " of " + slabs);
          }
          next += count;
        }
        assertEquals(slabs, next, "every slab has a shard");
      }
    }
  }

  @Test
  void shouldKeepShardsOnlyWhereEachGetsItsSlabs() {
    assertEquals(4, SlabLayout.of(16 * 64 * KIB, 16 * KIB, 64 * KIB, 4 * KIB, 1.25, 4).shards());
    assertEquals(2, SlabLayout.of(15 * 64 * KIB, 16 * KIB, 64 * KIB, 4 * KIB, 1.25, 4).shards());
    assertEquals(1, SlabLayout.of(7 * 64 * KIB, 16 * KIB, 64 * KIB, 4 * KIB, 1.25, 4).shards());
    // Default slab size: every wanted shard gets MIN_SLABS_PER_SHARD slabs when the capacity allows.
    SlabLayout sized = SlabLayout.of(64L << 20, 64 * KIB, 0, 4 * KIB, 1.25, 8);
    assertEquals(8, sized.shards());
    assertEquals(2 << 20, sized.slabBytes());
  }

  @Test
  void shouldRejectShardCountsThatAreNotPowersOfTwo() {
    assertThrows(
        IllegalArgumentException.class,
        () -> SlabLayout.of(1 << 20, 16 * KIB, 0, 4 * KIB, 1.25, 3));
    assertThrows(
        IllegalArgumentException.class,
        () -> SlabLayout.of(1 << 20, 16 * KIB, 0, 4 * KIB, 1.25, -1));
    assertThrows(
        IllegalArgumentException.class,
        () -> SlabLayout.of(1 << 20, 16 * KIB, 0, 4 * KIB, 1.25, SlabLayout.MAX_SHARDS * 2));
    assertTrue(Integer.bitCount(SlabLayout.defaultShards()) == 1);
  }
}
