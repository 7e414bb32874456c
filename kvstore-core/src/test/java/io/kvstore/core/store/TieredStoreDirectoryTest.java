package io.kvstore.core.store;

import static io.kvstore.core.store.StoreFixtures.dst;
import static io.kvstore.core.store.StoreFixtures.small;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.index.IndexEntry;
import io.kvstore.core.tier.TestPages;
import io.kvstore.core.tier.TierKind;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The block index as the one page directory: where a page is, of which namespace, clean or dirty
 * ({@link TieredStore#locate}); ownership of memory pages from it; and a put refused, not thrown,
 * when it has no room.
 */
class TieredStoreDirectoryTest {

  private static final int PAYLOAD = 8 * 1024;
  private static final long A = 0xAAAAL;
  private static final long B = 0xBBBBL;

  @TempDir Path dir;

  /** A DRAM-only memory (no hot tier) over SSD: 256 KiB of DRAM holds about 30 pages. */
  private TieredStoreBuilder dramAndSsd(Path at) {
    return small(at).hotBytes(0);
  }

  private static IndexEntry locate(TieredStore store, long hi, long lo) {
    IndexEntry e = new IndexEntry();
    return store.locate(hi, lo, e) ? e : null;
  }

  /** Pushes every page of key group {@code hi} out of memory by putting many pages of group 99. */
  private static void pushDown(TieredStore store) throws InterruptedException {
    for (int k = 0; k < 100; k++) {
      assertTrue(store.put(TestPages.page(99, k, 1, PAYLOAD)));
    }
    assertTrue(store.awaitWriteBack(10_000));
  }

  @Test
  void shouldRecordDirtyStateThroughPutEvictionWriteBackPromotionAndClose() throws Exception {
    try (TieredStore store = dramAndSsd(dir).build()) {
      assertTrue(store.put(TestPages.page(1, 1, 1, PAYLOAD)));
      IndexEntry e = locate(store, 1, 1);
      assertTrue(e != null && e.isIn(TierKind.DRAM) && !e.isIn(TierKind.SSD), "in DRAM: " + e);
      assertTrue(e.dirty(), "a put page is dirty until written: " + e);
      assertEquals(TestPages.NAMESPACE, e.namespaceId(), "memory pages carry their namespace");
      assertEquals(TestPages.page(1, 1, 1, PAYLOAD).remaining(), e.pageLength());

      // Eviction hands it to write-back; once written it is on SSD only, and clean.
      pushDown(store);
      e = locate(store, 1, 1);
      assertTrue(e != null && e.tiers() == TierKind.SSD.bit(), "on SSD only: " + e);
      assertFalse(e.dirty(), "written back, so clean: " + e);

      // A get promotes it; the memory copy is clean (the SSD tier keeps its copy).
      ByteBuffer dst = dst();
      assertTrue(store.get(1, 1, dst) > 0);
      TestPages.check(dst.flip(), 1, 1);
      e = locate(store, 1, 1);
      assertTrue(e.isIn(TierKind.DRAM) && e.isIn(TierKind.SSD), "promoted: " + e);
      assertFalse(e.dirty(), "a promoted page is clean: " + e);

      // Evicted again, a clean page is dropped without a write.
      long cleanDrops = store.stats().writeBack().cleanDrops();
      long ssdWrites = store.stats().writeBack().ssdWrites();
      for (int k = 100; k < 200; k++) {
        assertTrue(store.put(TestPages.page(99, k, 1, PAYLOAD)));
      }
      assertTrue(store.awaitWriteBack(10_000));
      e = locate(store, 1, 1);
      assertTrue(e != null && e.tiers() == TierKind.SSD.bit(), "dropped from memory: " + e);
      assertTrue(store.stats().writeBack().cleanDrops() > cleanDrops, "counted as a clean drop");
      // Only the 100 new dirty pages can have been written (not page (1, 1) again).
      assertTrue(store.stats().writeBack().ssdWrites() - ssdWrites <= 100);

      // A new put of the same key is dirty again, and a delete removes the entry.
      assertTrue(store.put(TestPages.page(1, 1, 2, PAYLOAD)));
      assertTrue(locate(store, 1, 1).dirty());
      assertTrue(store.put(TestPages.page(1, 2, 1, PAYLOAD)));
      assertTrue(store.delete(1, 2));
      assertEquals(null, locate(store, 1, 2), "a deleted key has no entry");
    }
    // Close wrote version 2 of (1, 1): a reopened store has it on SSD, clean, and serves it.
    try (TieredStore store = dramAndSsd(dir).build()) {
      IndexEntry e = locate(store, 1, 1);
      assertTrue(e != null && e.tiers() == TierKind.SSD.bit() && !e.dirty(), "after reopen: " + e);
      ByteBuffer dst = dst();
      assertTrue(store.get(1, 1, dst) > 0);
      assertArrayEquals(bytes(TestPages.page(1, 1, 2, PAYLOAD)), bytes(dst.flip()));
      assertEquals(0, store.stats().writeBack().dirtyPages(), "nothing is dirty after a restart");
    }
  }

  @Test
  void shouldWriteEveryDirtyPageAndOnlyThoseOnGracefulClose() throws Exception {
    List<long[]> all = new ArrayList<>();
    try (TieredStore store = dramAndSsd(dir).build()) {
      // Clean pages: written down, then promoted back into memory.
      for (int k = 0; k < 8; k++) {
        assertTrue(store.put(TestPages.page(2, k, 1, PAYLOAD)));
        all.add(new long[] {2, k});
      }
      pushDown(store);
      ByteBuffer dst = dst();
      for (int k = 0; k < 8; k++) {
        dst.clear();
        assertTrue(store.get(2, k, dst) > 0);
      }
      // Dirty pages: put last, still in memory.
      for (int k = 0; k < 10; k++) {
        assertTrue(store.put(TestPages.page(3, k, 1, PAYLOAD)));
        all.add(new long[] {3, k});
      }
      for (int k = 0; k < 10; k++) {
        assertTrue(locate(store, 3, k).dirty(), "put last, still dirty");
      }
      int promoted = 0;
      for (int k = 0; k < 8; k++) {
        IndexEntry e = locate(store, 2, k);
        assertTrue(e.isIn(TierKind.SSD) && !e.dirty(), "on SSD, clean: " + e);
        promoted += e.isIn(TierKind.DRAM) ? 1 : 0;
      }
      assertTrue(promoted > 0, "some promoted pages are still in memory, clean");
      assertTrue(store.awaitWriteBack(10_000)); // evicted pages written: only the flush writes now
      long dirty = store.index().dirtyEntries();
      assertEquals(dirty, store.stats().writeBack().dirtyPages());
      assertTrue(dirty >= 10, "at least the 10 last puts are dirty: " + dirty);
      long ssdWrites = store.stats().writeBack().ssdWrites();

      // The flush close runs: every dirty entry written, and nothing else.
      long[] flushed = store.chain().flushDirty(System.nanoTime() + 10_000_000_000L);
      assertEquals(dirty, flushed[0], "wrote every dirty page");
      assertEquals(0, flushed[1]);
      assertEquals(dirty, store.stats().writeBack().ssdWrites() - ssdWrites, "and only those");
      assertEquals(0, store.index().dirtyEntries());
      for (int k = 0; k < 10; k++) {
        IndexEntry e = locate(store, 3, k);
        assertTrue(e.isIn(TierKind.SSD) && e.isIn(TierKind.DRAM) && !e.dirty(), "flushed: " + e);
      }
      for (int k = 0; k < 100; k++) {
        all.add(new long[] {99, k});
      }
    }
    try (TieredStore store = dramAndSsd(dir).build()) {
      ByteBuffer dst = dst();
      for (long[] key : all) {
        dst.clear();
        assertTrue(store.get(key[0], key[1], dst) > 0, "served after reopen: " + key[1]);
        TestPages.check(dst.flip(), key[0], key[1]);
      }
    }
  }

  @Test
  void shouldAnswerOwnershipOfMemoryPagesFromTheIndexWithoutPinning() {
    List<FaultyTier> memory = new ArrayList<>();
    TieredStoreBuilder b = small(dir);
    b.memoryTierWrapper =
        t -> {
          FaultyTier f = new FaultyTier(t);
          memory.add(f);
          return f;
        };
    try (TieredStore store = b.build()) {
      assertEquals(2, memory.size(), "hot and DRAM wrapped");
      assertTrue(store.put(TieredStoreNamespaceTest.page(A, 5, 5, 1)));
      assertTrue(locate(store, 5, 5).isIn(TierKind.HOT));
      assertEquals(A, locate(store, 5, 5).namespaceId());
      long pins = pins(memory);

      assertThrows(
          ForeignPageException.class, () -> store.put(TieredStoreNamespaceTest.page(B, 5, 5, 2)));
      assertFalse(store.delete(5, 5, B), "a foreign delete is refused");
      assertEquals(TieredStore.FOREIGN, store.ownership(5, 5, B));
      assertEquals(TieredStore.OWN, store.ownership(5, 5, A));
      assertEquals(0, store.lookupPrefix(new long[] {5, 5}, 1, null, B));
      assertEquals(1, store.lookupPrefix(new long[] {5, 5}, 1, null, A));
      assertEquals(pins, pins(memory), "no memory page was pinned to check ownership");

      ByteBuffer dst = dst();
      assertTrue(store.get(5, 5, dst) > 0);
      assertArrayEquals(bytes(TieredStoreNamespaceTest.page(A, 5, 5, 1)), bytes(dst.flip()));
      assertTrue(store.delete(5, 5, A));
      assertEquals(TieredStore.ABSENT, store.ownership(5, 5, A));
    }
  }

  @Test
  void shouldRefuseAPutCleanlyWhenTheIndexHasNoRoomForAnotherMemoryPage() throws Exception {
    // The operator declared a smallest page of 256 KiB: the SSD tier's 8 MiB hold 32 such pages,
    // and an index of 64 entries leaves the memory tiers 32, while DRAM has room for ~120 pages of
    // the 8 KiB actually put.
    TieredStoreBuilder b =
        small(dir).ssdMinPageBytes(256 << 10).indexMaxEntries(64).dramBytes(1L << 20);
    try (TieredStore store = b.build()) {
      long limit = store.index().memoryEntryLimit();
      assertEquals(32, limit);
      int stored = 0;
      for (int k = 0; k < limit; k++) {
        assertTrue(store.put(TestPages.page(4, k, 1, PAYLOAD)), "put " + k);
        stored++;
      }
      assertEquals(0, store.stats().indexFullRejects());
      assertEquals(limit, store.index().memoryEntries());

      assertFalse(store.put(TestPages.page(4, 1000, 1, PAYLOAD)), "no entry left: refused");
      assertFalse(store.put(TestPages.page(4, 1001, 1, PAYLOAD)), "still refused");
      assertEquals(2, store.stats().indexFullRejects());
      assertEquals(2, store.stats().putRejects());
      assertEquals(stored, store.stats().puts());
      assertEquals(null, locate(store, 4, 1000), "a refused page leaves no entry");
      assertEquals(StoreHealth.OK, store.health(), "the SSD tier is not degraded by it");

      // A put replacing a held page keeps its entry: it is stored, the old version replaced.
      assertTrue(store.put(TestPages.page(4, 3, 2, PAYLOAD)));
      ByteBuffer dst = dst();
      assertTrue(store.get(4, 3, dst) > 0);
      assertArrayEquals(bytes(TestPages.page(4, 3, 2, PAYLOAD)), bytes(dst.flip()));
      // Every held page is served as it was put.
      for (int k = 0; k < limit; k++) {
        if (k != 3) {
          dst.clear();
          assertTrue(store.get(4, k, dst) > 0, "page " + k + " untouched");
          TestPages.check(dst.flip(), 4, k);
        }
      }
      // Pages leaving memory give entries back: after a delete the next put is stored.
      assertTrue(store.delete(4, 0));
      assertTrue(store.put(TestPages.page(4, 1000, 1, PAYLOAD)));
      assertTrue(store.putCopyVerified(TestPages.page(4, 3, 3, PAYLOAD)), "a verified replace too");
      assertFalse(store.putCopyVerified(TestPages.page(4, 1002, 1, PAYLOAD)));
      assertEquals(3, store.stats().indexFullRejects());
    }
  }

  @Test
  void shouldFindNoEntryInAStoreWithoutAnSsdTier() {
    try (TieredStore store = small(dir).ssdBytes(0).build()) {
      assertTrue(store.put(TieredStoreNamespaceTest.page(A, 6, 6, 1)));
      assertEquals(null, locate(store, 6, 6), "a memory-only store has no directory");
      assertEquals(TieredStore.FOREIGN, store.ownership(6, 6, B), "ownership from the header");
      assertEquals(TieredStore.OWN, store.ownership(6, 6, A));
    }
  }

  private static long pins(List<FaultyTier> tiers) {
    long n = 0;
    for (FaultyTier t : tiers) {
      n += t.pins.get();
    }
    return n;
  }

  private static byte[] bytes(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }
}
