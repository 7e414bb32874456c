package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.PageFormat;
import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.index.IndexEntry;
import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.TierKind;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Threads put, replace, read and delete overlapping keys in a tier under capacity pressure: every
 * read returns a whole page of the key asked, equal to a version that was put (the version travels
 * in the header's namespace id), never other bytes; the capacity bound holds throughout; and the
 * accounting and the index agree with the pages at the end.
 */
class SsdTierConcurrencyTest {

  @TempDir Path dir;

  @Test
  void shouldServeOnlyPutBytesUnderConcurrentUse() throws Exception {
    long capacity = 2 << 20;
    AtomicLong maxUsed = new AtomicLong();
    SsdTierConfig config =
        SsdTierConfig.builder(dir.resolve("rocks"), capacity).maxPages(1000).build();
    // Where the index says each held page is at the end: its location record must say the same.
    Map<Long, Long> held = new HashMap<>();
    try (BlockIndex index = BlockIndex.open(dir.resolve("index"), 10_000);
        SsdTier tier = new SsdTier(config, index)) {
      ExecutorService pool = Executors.newFixedThreadPool(4);
      List<Future<Long>> results = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int seed = t;
        results.add(
            pool.submit(
                () -> {
                  SplittableRandom rnd = new SplittableRandom(seed);
                  ByteBuffer dst = ByteBuffer.allocateDirect(64 + 100_000);
                  long hits = 0;
                  for (int i = 0; i < 400; i++) {
                    long k = 1 + rnd.nextInt(64);
                    int op = rnd.nextInt(10);
                    if (op < 5) {
                      int version = rnd.nextInt(1_000_000);
                      tier.put(Pages.page(k, k, 0, 0, payloadFor(version), version));
                    } else if (op < 6) {
                      tier.delete(k, k);
                    } else {
                      dst.clear();
                      int n = tier.get(k, k, dst);
                      if (n != Tier.MISS) {
                        long version = PageFormat.namespaceId(dst, 0);
                        ByteBuffer expected =
                            Pages.page(k, k, 0, 0, payloadFor((int) version), version);
                        assertTrue(Pages.sameBytes(expected, dst, 0, n), "wrong bytes for " + k);
                        hits++;
                      }
                    }
                    maxUsed.accumulateAndGet(tier.usedBytes(), Math::max);
                  }
                  return hits;
                }));
      }
      long hits = 0;
      for (Future<Long> f : results) {
        hits += f.get(60, TimeUnit.SECONDS);
      }
      pool.shutdown();
      assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
      assertTrue(hits > 0);
      assertTrue(maxUsed.get() <= capacity, "usedBytes reached " + maxUsed.get());
      assertEquals(0, tier.corruptions());
      long sum = 0;
      long count = 0;
      for (long k = 1; k <= 64; k++) {
        int len = tier.length(k, k);
        assertEquals(len != Tier.MISS, (index.tiers(k, k) & TierKind.SSD.bit()) != 0);
        if (len != Tier.MISS) {
          sum += len;
          count++;
        }
      }
      assertEquals(sum, tier.usedBytes());
      assertEquals(count, tier.pageCount());
      assertEquals(count, index.size());
      IndexEntry e = new IndexEntry();
      for (long k = 1; k <= 64; k++) {
        if (index.get(k, k, e) && e.isIn(TierKind.SSD)) {
          held.put(k, e.segmentId() * 1_000_000_007L + e.segmentOffset());
        }
      }
    }
    // Segments were dropped (capacity pressure) while other threads put the same keys again: a
    // drop deletes a key's old record under its stripe, so it never deletes the record of the
    // key's newer page (which a crash rebuild would then miss).
    Map<Long, Long> records = new HashMap<>();
    try (LocationStore store =
        LocationStore.open(dir.resolve("rocks").resolve(LocationStore.DIR_NAME), config)) {
      store.forEach((hi, lo, segmentId, offset, length, ns, parentHi, parentLo) ->
          records.put(hi, segmentId * 1_000_000_007L + offset));
    }
    assertEquals(held, records, "location records = the pages held, at the same places");
  }

  private static int payloadFor(int version) {
    return 1000 + version % 90_000;
  }
}
