package io.kvstore.core.store;

import static io.kvstore.core.store.StoreFixtures.dst;
import static io.kvstore.core.store.StoreFixtures.small;
import static io.kvstore.core.store.StoreFixtures.whereIs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.tier.TestPages;
import io.kvstore.core.tier.TierKind;
import io.kvstore.core.tier.ssd.SsdTier;
import io.kvstore.core.tier.ssd.SsdTierTestAccess;
import io.kvstore.core.tier.ssd.SsdTierTestAccess.TakenSegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A crash while the SSD tier evicts a segment. Eviction takes the victim segment out of the table
 * (gets stop serving its pages) and then removes its pages from the directory and RocksDB one by
 * one; a process killed in between leaves the rest of them on disk, and the restart serves them.
 * A put or delete acknowledged in that window must therefore remove the SSD copy itself, or the
 * restart brings back a deleted page (or an older version of a replaced one): what {@code kvbench
 * crashtest} found (306 deletes resurrected, 48 stale pages in one restart at the SSD tier's first
 * evictions of 16 MiB segments).
 *
 * <p>The crash is a copy of the data directory taken while the eviction is held open (the same
 * bytes a SIGKILL leaves: the block index is a shared mapping, RocksDB's log is written through to
 * the OS), reopened as a new store.
 */
class TieredStoreEvictionCrashTest {

  private static final int PAYLOAD = 16 * 1024;
  private static final long HI = 41;

  @TempDir Path dir;
  @TempDir Path crashed;

  private SsdTier ssd;

  private TieredStore open(Path d) {
    TieredStoreBuilder b = small(d).ssdDurability("wal");
    b.ssdTierWrapper =
        t -> {
          ssd = (SsdTier) t;
          return t;
        };
    return b.build();
  }

  @Test
  void shouldNotBringBackPagesDeletedOrReplacedWhileTheirSegmentWasBeingEvicted() throws Exception {
    long[] keys = {1, 2, 3, 4};
    List<TakenSegment> taken = new ArrayList<>();
    try (TieredStore store = open(dir)) {
      for (long k : keys) {
        store.put(TestPages.page(HI, k, 1, PAYLOAD));
      }
      // Fillers push the four out of memory; write-back puts them on SSD (memory copy gone).
      for (long k = 100; k < 160; k++) {
        store.put(TestPages.page(HI, k, 1, PAYLOAD));
      }
      assertTrue(store.awaitWriteBack(30_000), "write-back drained");
      for (long k : keys) {
        assertEquals(TierKind.SSD, whereIs(store, HI, k), "key " + k + " is on SSD only");
      }
      // An eviction chooses the segments of the four and stops before removing their pages.
      for (long k : keys) {
        if (ssd.contains(HI, k)) {
          taken.add(SsdTierTestAccess.takeSegmentOf(ssd, HI, k));
        }
      }
      ByteBuffer d = dst();
      assertEquals(-1, store.get(HI, 1, d), "a get no longer serves a page being evicted");

      // Acknowledged in the window: a delete, a namespace-checked delete, a put of a new version
      // (into memory, dirty: a crash loses it, so a miss is right, the old version is not).
      assertTrue(store.delete(HI, 1), "the delete removes the page being evicted");
      assertTrue(
          store.delete(HI, 2, TestPages.NAMESPACE),
          "the owner's delete still sees its page being evicted");
      assertTrue(store.put(TestPages.page(HI, 3, 2, PAYLOAD)));

      StoreFixtures.copyTree(dir, crashed); // the process dies here, before the eviction reaches the pages

      for (TakenSegment s : taken) {
        SsdTierTestAccess.drop(ssd, s);
      }
    }

    try (TieredStore store = open(crashed)) {
      ByteBuffer d = dst();
      assertEquals(-1, store.get(HI, 1, d.clear()), "deleted page 1 stays deleted");
      assertEquals(-1, store.get(HI, 2, d.clear()), "deleted page 2 stays deleted");
      int n = store.get(HI, 3, d.clear());
      if (n >= 0) {
        assertEquals(2, TestPages.check(d.flip(), HI, 3), "page 3: the new version or a miss");
      }
      // Untouched in the window: recovery keeps what the unfinished eviction had not removed.
      n = store.get(HI, 4, d.clear());
      assertTrue(n > 0, "page 4 was not removed by the unfinished eviction");
      assertEquals(1, TestPages.check(d.flip(), HI, 4));
      assertEquals(0, store.stats().corruptions());
    }
  }
}
