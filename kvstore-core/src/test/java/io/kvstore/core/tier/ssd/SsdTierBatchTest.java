package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.PageFormat;
import io.kvstore.core.index.IndexEntry;
import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.TierWriteException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.RocksDBException;

/**
 * {@link SsdTier#putAll}: pages written together (one reservation, one gathering write, one RocksDB
 * write batch) are stored exactly as single puts would store them, and a run whose write or whose
 * records fail leaves no page of it indexed, now or after a crash.
 */
class SsdTierBatchTest {

  private static final int PAYLOAD = 5000;
  private static final int LEN = PageFormat.pageLength(PAYLOAD);

  @TempDir Path dir;

  private SsdTier open(long segmentBytes) {
    return new SsdTier(
        SsdTierConfig.builder(dir, 4 << 20)
            .maxPages(1000)
            .segmentBytes(segmentBytes)
            .durability(SsdTierConfig.Durability.WAL)
            .build());
  }

  /** Opens the tier again as after a crash: no clean-close marker, the directory is rebuilt. */
  private SsdTier reopenAfterCrash(long segmentBytes) throws Exception {
    Files.deleteIfExists(dir.resolve(SsdTier.SEGMENTS_DIR).resolve(SsdTier.CLEAN_MARKER));
    return open(segmentBytes);
  }

  private static ByteBuffer[] pages(long from, int n, long version) {
    ByteBuffer[] p = new ByteBuffer[n];
    for (int i = 0; i < n; i++) {
      p[i] = Pages.page(from + i, from + i, 0, 0, PAYLOAD, version);
    }
    return p;
  }

  private static void assertServes(SsdTier tier, ByteBuffer page, long k) {
    ByteBuffer dst = ByteBuffer.allocateDirect(page.capacity());
    assertEquals(page.capacity(), tier.get(k, k, dst), "page " + k);
    assertTrue(Pages.sameBytes(page, dst, 0, page.capacity()), "bytes of page " + k);
  }

  @Test
  void shouldWriteARunBackToBackInOneSegmentAndFindItAgainAfterACrash() throws Exception {
    ByteBuffer[] p = pages(1, 10, 1);
    boolean[] stored = new boolean[10];
    try (SsdTier tier = open(1 << 20)) {
      tier.putAll(p, 10, stored);
      assertArrayEquals(new boolean[] {true, true, true, true, true, true, true, true, true, true}, stored);
      IndexEntry first = new IndexEntry();
      IndexEntry e = new IndexEntry();
      assertTrue(tier.index().get(1, 1, first));
      for (int i = 0; i < 10; i++) {
        assertEquals(0, p[i].position(), "the pages' positions are left as they were");
        assertTrue(tier.index().get(1 + i, 1 + i, e));
        assertEquals(first.segmentId(), e.segmentId(), "one segment");
        assertEquals(first.segmentOffset() + (long) i * LEN, e.segmentOffset(), "back to back");
        assertServes(tier, p[i], 1 + i);
      }
      assertEquals(10, tier.pageCount());
      assertEquals(10L * LEN, tier.usedBytes());
    }
    try (SsdTier tier = reopenAfterCrash(1 << 20)) {
      assertEquals(10, tier.pageCount(), "the batch's location records were logged");
      for (int i = 0; i < 10; i++) {
        assertServes(tier, p[i], 1 + i);
      }
    }
  }

  @Test
  void shouldStartANewSegmentWhereTheActiveOneIsFull() {
    try (SsdTier tier = open(1)) { // every page fills a segment: one page per segment
      ByteBuffer[] p = pages(1, 5, 1);
      boolean[] stored = new boolean[5];
      tier.putAll(p, 5, stored);
      IndexEntry a = new IndexEntry();
      IndexEntry b = new IndexEntry();
      for (int i = 0; i < 5; i++) {
        assertTrue(stored[i]);
        assertServes(tier, p[i], 1 + i);
        if (i > 0) {
          tier.index().get(i, i, a);
          tier.index().get(1 + i, 1 + i, b);
          assertNotEquals(a.segmentId(), b.segmentId());
        }
      }
    }
  }

  @Test
  void shouldKeepTheLaterOfTwoPagesOfOneKeyAndSkipAPageTooLarge() {
    try (SsdTier tier =
        new SsdTier(SsdTierConfig.builder(dir, 4 << 20).maxPageBytes(LEN).maxPages(1000).build())) {
      ByteBuffer v1 = Pages.page(7, 7, 0, 0, PAYLOAD, 1);
      ByteBuffer big = Pages.page(8, 8, 0, 0, PAYLOAD + 1, 1);
      ByteBuffer v2 = Pages.page(7, 7, 0, 0, PAYLOAD - 100, 2);
      boolean[] stored = new boolean[3];
      tier.putAll(new ByteBuffer[] {v1, big, v2}, 3, stored);
      assertArrayEquals(new boolean[] {true, false, true}, stored);
      assertServes(tier, v2, 7);
      assertEquals(Tier.MISS, tier.length(8, 8));
      assertEquals(1, tier.pageCount());
      assertEquals(v2.capacity(), tier.usedBytes());
    }
  }

  @Test
  void shouldIndexNoPageOfARunWhoseWriteFailsMidway() throws Exception {
    ByteBuffer a = Pages.page(1, 1, 0, 0, PAYLOAD, 1);
    ByteBuffer b = Pages.page(2, 2, 0, 0, PAYLOAD, 1);
    ByteBuffer[] batch = {
      Pages.page(3, 3, 0, 0, PAYLOAD, 1),
      Pages.page(4, 4, 0, 0, PAYLOAD, 1),
      Pages.page(1, 1, 0, 0, PAYLOAD, 2), // a replacement of a stored page
      Pages.page(5, 5, 0, 0, PAYLOAD, 1)
    };
    try (SsdTier tier = open(1 << 20)) {
      assertTrue(tier.put(a));
      assertTrue(tier.put(b));
      long used = tier.usedBytes();
      long disk = tier.diskBytes();
      long indexed = tier.index().size();

      tier.partialWriteFaultForTest = LEN + LEN / 2; // the disk fails in the second page
      boolean[] stored = new boolean[4];
      SsdStorageException e =
          assertThrows(SsdStorageException.class, () -> tier.putAll(batch, 4, stored));
      assertEquals(TierWriteException.Reason.IO_ERROR, e.reason());
      assertArrayEquals(new boolean[4], stored, "no page of the run is stored");
      assertEquals(2, tier.pageCount());
      assertEquals(used, tier.usedBytes());
      assertEquals(disk, tier.diskBytes(), "the run's reservation is given back");
      assertEquals(indexed, tier.index().size());
      for (long k = 3; k <= 5; k++) {
        assertEquals(Tier.MISS, tier.length(k, k));
      }
      assertServes(tier, a, 1); // the old version, not the half-written replacement
      assertServes(tier, b, 2);
      assertEquals(1, tier.writeFailures());

      tier.partialWriteFaultForTest = -1;
      assertTrue(tier.resumeWrites());
      ByteBuffer[] again = {batch[0], batch[1]};
      tier.putAll(again, 2, stored);
      assertTrue(stored[0] && stored[1]);
      assertServes(tier, batch[0], 3);
      assertServes(tier, batch[1], 4);
    }
    try (SsdTier tier = reopenAfterCrash(1 << 20)) {
      assertEquals(4, tier.pageCount());
      assertServes(tier, a, 1);
      assertServes(tier, b, 2);
      assertServes(tier, batch[0], 3);
      assertServes(tier, batch[1], 4);
      assertEquals(Tier.MISS, tier.length(5, 5));
      assertEquals(0, tier.corruptions());
    }
  }

  @Test
  void shouldIndexNoPageOfARunWhoseLocationRecordsFail() throws Exception {
    ByteBuffer a = Pages.page(1, 1, 0, 0, PAYLOAD, 1);
    ByteBuffer[] batch = pages(2, 3, 1);
    try (SsdTier tier = open(1 << 20)) {
      assertTrue(tier.put(a));
      long disk = tier.diskBytes();
      tier.recordFaultForTest = new RocksDBException("injected: the log cannot be written");
      boolean[] stored = new boolean[3];
      assertThrows(SsdStorageException.class, () -> tier.putAll(batch, 3, stored));
      assertArrayEquals(new boolean[3], stored);
      assertEquals(1, tier.pageCount());
      assertEquals(disk, tier.diskBytes(), "the written bytes are given back");
      for (long k = 2; k <= 4; k++) {
        assertEquals(Tier.MISS, tier.length(k, k));
      }
      tier.recordFaultForTest = null;
      ByteBuffer c = Pages.page(9, 9, 0, 0, PAYLOAD, 1);
      assertTrue(tier.put(c), "the space is reused");
      assertServes(tier, c, 9);
    }
    try (SsdTier tier = reopenAfterCrash(1 << 20)) {
      assertEquals(2, tier.pageCount(), "no record names a page of the failed run");
      assertServes(tier, a, 1);
      assertEquals(Tier.MISS, tier.length(2, 2));
      assertEquals(0, tier.corruptions());
    }
  }

  @Test
  void shouldDeleteADroppedSegmentsRecordsTogetherOrKeepThemForResume() throws Exception {
    ByteBuffer[] p = pages(1, 6, 1);
    ByteBuffer[] q = pages(11, 6, 1);
    try (SsdTier tier = open(1 << 20)) {
      boolean[] stored = new boolean[6];
      tier.putAll(p, 6, stored);
      tier.dropForTest(tier.takeSegmentOfForTest(1, 1)); // one log append for six deletes
      assertEquals(0, tier.pageCount());
      assertEquals(0, tier.pendingLocationDeletes());
      tier.putAll(q, 6, stored);
      tier.deleteFaultForTest = new RocksDBException("injected: the log cannot be written");
      tier.dropForTest(tier.takeSegmentOfForTest(11, 11));
      assertEquals(0, tier.pageCount(), "the drop works while RocksDB refuses writes");
      assertEquals(6, tier.pendingLocationDeletes(), "every record is kept for resume");
      tier.deleteFaultForTest = null;
      assertTrue(tier.resumeWrites());
      assertEquals(0, tier.pendingLocationDeletes());
    }
    try (SsdTier tier = reopenAfterCrash(1 << 20)) {
      assertEquals(0, tier.pageCount(), "no dropped page comes back after a crash");
      assertEquals(Tier.MISS, tier.length(1, 1));
      assertEquals(Tier.MISS, tier.length(11, 11));
    }
  }
  @Test
  void shouldLetKeysOfOtherStripesBeDeletedWhileASegmentIsDropped() throws Exception {
    // A drop holds one key stripe at a time: while it is inside one (its removals done, its
    // records not yet deleted), a delete of a key of another stripe completes. A drop that held
    // every stripe for the whole segment would keep that delete waiting until it ended.
    try (SsdTier tier = open(64 << 10)) {
      java.util.concurrent.ExecutorService other =
          java.util.concurrent.Executors.newSingleThreadExecutor();
      java.util.concurrent.atomic.AtomicLong deleted = new java.util.concurrent.atomic.AtomicLong(-1);
      long[] last = {0};
      try {
        tier.dropStripeHookForTest = st -> {
          if (deleted.get() >= 0) {
            return; // once
          }
          for (long k = last[0]; k > 0; k--) {
            if (SsdTier.stripe(k, k) != st && tier.length(k, k) != Tier.MISS) {
              long key = k;
              java.util.concurrent.Future<Boolean> f = other.submit(() -> tier.delete(key, key));
              try {
                assertTrue(f.get(20, java.util.concurrent.TimeUnit.SECONDS), "deleted");
              } catch (Exception e) {
                throw new AssertionError("a delete of another stripe waited for the drop", e);
              }
              deleted.set(key);
              return;
            }
          }
        };
        // 4 MiB of 5 KiB pages and more: the oldest segments are dropped to make room.
        for (long k = 1; k <= 1000 && deleted.get() < 0; k++) {
          last[0] = k;
          ByteBuffer[] p = pages(k, 1, 1);
          tier.putAll(p, 1, new boolean[1]);
        }
      } finally {
        tier.dropStripeHookForTest = null;
        other.shutdownNow();
      }
      assertTrue(deleted.get() > 0, "a segment was dropped and the delete ran inside it");
      assertEquals(Tier.MISS, tier.length(deleted.get(), deleted.get()));
      assertTrue(tier.evictions() > 0);
      long k = last[0];
      assertServes(tier, pages(k, 1, 1)[0], k);
    }
  }
}
