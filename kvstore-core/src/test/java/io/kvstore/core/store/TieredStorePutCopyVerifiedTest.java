package io.kvstore.core.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.PageFormat;
import io.kvstore.core.tier.PinnedPage;
import io.kvstore.core.tier.TestPages;
import io.kvstore.core.tier.TierKind;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link TieredStore#putCopyVerified}: the source is read once, only the store's copy is checked
 * and stored, a page that changed under the copy is refused without harming the key's current
 * page, and the fallbacks (too large for memory, memory pinned full) store a checked copy too.
 */
class TieredStorePutCopyVerifiedTest {

  /** Pages of 1 MiB: four copy chunks each. */
  private static final int BIG_PAYLOAD = 1 << 20;
  private static final int BIG_PAGE = PageFormat.pageLength(BIG_PAYLOAD);

  @TempDir Path dir;

  private TieredStore bigStore(boolean ssd) {
    return TieredStore.builder().dataDir(dir).maxPageBytes(BIG_PAGE).hotBytes(4L * BIG_PAGE)
        .dramBytes(8L * BIG_PAGE).ssdBytes(ssd ? 64L << 20 : 0).indexMaxEntries(10_000).build();
  }

  private static ByteBuffer direct(ByteBuffer page) {
    ByteBuffer d = ByteBuffer.allocateDirect(page.remaining());
    d.put(page.duplicate()).flip();
    return d;
  }

  private static byte[] bytes(ByteBuffer b) {
    byte[] a = new byte[b.remaining()];
    b.duplicate().get(a);
    return a;
  }

  private static ByteBuffer read(TieredStore store, long hi, long lo) {
    ByteBuffer dst = ByteBuffer.allocateDirect(store.maxPageBytes());
    assertTrue(store.get(hi, lo, dst) > 0, "held");
    return dst.flip();
  }

  @Test
  void shouldStoreTheExactPageAndServeItFromMemory() {
    try (TieredStore store = bigStore(true)) {
      ByteBuffer page = direct(TestPages.page(1, 1, 1, BIG_PAYLOAD));
      assertTrue(store.putCopyVerified(page, TestPages.NAMESPACE));
      assertEquals(0, page.position(), "the source's position is not moved");
      assertArrayEquals(bytes(page), bytes(read(store, 1, 1)));
      assertEquals(TierKind.HOT, StoreFixtures.whereIs(store, 1, 1));
      assertEquals(1, store.stats().puts());
      // Small, empty-payload and heap-sourced pages take the same path.
      ByteBuffer empty = TestPages.page(1, 2, 1, 0);
      assertTrue(store.putCopyVerified(empty));
      assertArrayEquals(bytes(empty), bytes(read(store, 1, 2)));
    }
  }

  @Test
  void shouldTakeKeyNamespaceAndChecksumsFromTheCopyNeverFromTheSourceAgain() {
    try (TieredStore store = bigStore(true)) {
      ByteBuffer good = TestPages.page(2, 1, 1, BIG_PAYLOAD);
      ByteBuffer src = direct(good);
      // Once a chunk is copied, rewrite the source's header (another key and namespace) and the
      // bytes already copied: the store must not read either again.
      store.copyHook(copiedTo -> {
        if (copiedTo == PageFormat.HEADER_LENGTH + VerifiedCopyPut.CHUNK_BYTES) {
          src.putLong(PageFormat.KEY_LO_OFFSET, 99);
          src.putLong(PageFormat.NAMESPACE_ID_OFFSET, 12345);
          src.put(PageFormat.HEADER_LENGTH + 10, (byte) (src.get(PageFormat.HEADER_LENGTH + 10) ^ 1));
        }
      });
      assertTrue(store.putCopyVerified(src, TestPages.NAMESPACE));
      assertArrayEquals(bytes(good), bytes(read(store, 2, 1)), "the page as it was when copied");
      assertEquals(-1, store.length(2, 99), "the rewritten key was never read");
    }
  }

  @Test
  void shouldHoldNoLockWhileCopying() throws Exception {
    try (TieredStore store = TieredStore.builder().dataDir(dir).maxPageBytes(BIG_PAGE)
        .hotBytes(0).dramBytes(16L * BIG_PAGE).ssdBytes(0).memoryShards(1).build()) {
      ByteBuffer mine = direct(TestPages.page(12, 1, 2, BIG_PAYLOAD));
      ByteBuffer sameKey = direct(TestPages.page(12, 1, 1, BIG_PAYLOAD));
      ByteBuffer otherKey = direct(TestPages.page(12, 2, 1, BIG_PAYLOAD));
      ExecutorService other = Executors.newSingleThreadExecutor();
      try {
        AtomicBoolean ran = new AtomicBoolean();
        store.copyHook(copiedTo -> {
          if (ran.compareAndSet(false, true)) {
            // Mid-copy, another thread puts the same key and another key of the same (only)
            // shard: neither may wait for this copy (it would time out here).
            try {
              assertTrue(other.submit(() -> store.put(sameKey)).get(10, TimeUnit.SECONDS));
              assertTrue(other.submit(() -> store.put(otherKey)).get(10, TimeUnit.SECONDS));
            } catch (Exception e) {
              throw new AssertionError("a put waited for the copy", e);
            }
          }
        });
        assertTrue(store.putCopyVerified(mine, TestPages.NAMESPACE));
        assertTrue(ran.get());
        assertArrayEquals(bytes(mine), bytes(read(store, 12, 1)), "the later commit wins");
        assertArrayEquals(bytes(otherKey), bytes(read(store, 12, 2)));
      } finally {
        other.shutdownNow();
      }
    }
  }

  @Test
  void shouldRefuseAPageRewrittenAheadOfTheCopyAndKeepTheOldVersion() {
    try (TieredStore store = bigStore(true)) {
      ByteBuffer v1 = TestPages.page(3, 1, 1, BIG_PAYLOAD);
      assertTrue(store.put(direct(v1)));
      long usedHot = store.stats().tier(TierKind.HOT).usedBytes();
      ByteBuffer src = direct(TestPages.page(3, 1, 2, BIG_PAYLOAD));
      int ahead = PageFormat.HEADER_LENGTH + 3 * VerifiedCopyPut.CHUNK_BYTES + 5;
      store.copyHook(copiedTo -> {
        if (copiedTo == PageFormat.HEADER_LENGTH + VerifiedCopyPut.CHUNK_BYTES) {
          src.put(ahead, (byte) (src.get(ahead) ^ 0x40)); // a byte not copied yet
        }
      });
      BadPageException e = assertThrows(BadPageException.class,
          () -> store.putCopyVerified(src, TestPages.NAMESPACE));
      assertEquals(PageFormat.ERR_PAYLOAD_CRC, e.code());
      assertArrayEquals(bytes(v1), bytes(read(store, 3, 1)), "the old version is untouched");
      assertEquals(1, store.stats().puts(), "only the first put counted");
      assertEquals(usedHot, store.stats().tier(TierKind.HOT).usedBytes(), "the slot was freed");
    }
  }

  @Test
  void shouldRefuseForgedAndMalformedHeadersBeforeTakingRoom() {
    try (TieredStore store = StoreFixtures.small(dir).build()) {
      ByteBuffer v1 = TestPages.page(4, 1, 1, 1000);
      assertTrue(store.put(v1));
      ByteBuffer badCrc = direct(TestPages.page(4, 1, 2, 1000));
      badCrc.putLong(PageFormat.NAMESPACE_ID_OFFSET, 8); // a forged namespace, header CRC left
      assertEquals(PageFormat.ERR_HEADER_CRC, assertThrows(BadPageException.class,
          () -> store.putCopyVerified(badCrc)).code());
      ByteBuffer badMagic = direct(TestPages.page(4, 1, 2, 1000));
      badMagic.put(0, (byte) 0);
      assertEquals(PageFormat.ERR_BAD_MAGIC, assertThrows(BadPageException.class,
          () -> store.putCopyVerified(badMagic)).code());
      ByteBuffer longer = ByteBuffer.allocateDirect(v1.remaining() + 8);
      longer.put(TestPages.page(4, 1, 2, 1000)).clear();
      assertEquals(PageFormat.ERR_LENGTH, assertThrows(BadPageException.class,
          () -> store.putCopyVerified(longer)).code());
      assertEquals(PageFormat.ERR_TOO_SHORT, assertThrows(BadPageException.class,
          () -> store.putCopyVerified(ByteBuffer.allocateDirect(63))).code());
      assertArrayEquals(bytes(v1), bytes(read(store, 4, 1)), "the held page is untouched");
      assertEquals(1, store.stats().puts());
    }
  }

  @Test
  void shouldRefuseAPageOfAnotherNamespaceThanTheCallersOrTheHeldOne() {
    try (TieredStore store = StoreFixtures.small(dir).build()) {
      ByteBuffer v1 = TestPages.page(5, 1, 1, 1000);
      assertTrue(store.put(v1));
      long usedHot = store.stats().tier(TierKind.HOT).usedBytes();
      // A well-formed page of namespace 7 offered by a caller of namespace 8.
      ForeignPageException notMine = assertThrows(ForeignPageException.class,
          () -> store.putCopyVerified(direct(TestPages.page(5, 2, 1, 1000)), 8));
      assertEquals(TestPages.NAMESPACE, notMine.namespaceId());
      assertEquals(-1, store.length(5, 2));
      // A page of namespace 8 for a key held under namespace 7.
      ByteBuffer foreign = ByteBuffer.allocateDirect(PageFormat.pageLength(1000));
      PageFormat.writeHeader(foreign, 0, 5, 1, 0, 0, 8, 1, 1000);
      assertThrows(ForeignPageException.class, () -> store.putCopyVerified(foreign, 8));
      assertArrayEquals(bytes(v1), bytes(read(store, 5, 1)), "the held page is untouched");
      assertEquals(usedHot, store.stats().tier(TierKind.HOT).usedBytes(), "no slot leaked");
    }
  }

  @Test
  void shouldStageAPageTooLargeForMemoryAndStoreItOnSsd() {
    try (TieredStore store = StoreFixtures.small(dir).build()) {
      int payload = 64 * 1024; // memory pages are at most 16 KiB, the SSD tier's much larger
      ByteBuffer page = direct(TestPages.page(6, 1, 1, payload));
      assertTrue(store.putCopyVerified(page, TestPages.NAMESPACE));
      assertEquals(TierKind.SSD, StoreFixtures.whereIs(store, 6, 1));
      assertArrayEquals(bytes(page), bytes(read(store, 6, 1)));
      // The staged copy is checked too.
      ByteBuffer corrupt = direct(TestPages.page(6, 2, 1, payload));
      corrupt.put(5000, (byte) (corrupt.get(5000) ^ 1));
      assertEquals(PageFormat.ERR_PAYLOAD_CRC, assertThrows(BadPageException.class,
          () -> store.putCopyVerified(corrupt)).code());
      assertEquals(-1, store.length(6, 2));
      // Larger than any tier: refused without reading its payload, nothing changed.
      ByteBuffer huge = ByteBuffer.allocateDirect(store.maxPageBytes() + 64);
      PageFormat.writeHeader(huge, 0, 6, 1, 0, 0, TestPages.NAMESPACE, 1,
          store.maxPageBytes());
      assertFalse(store.putCopyVerified(huge));
      assertArrayEquals(bytes(page), bytes(read(store, 6, 1)));
    }
  }

  @Test
  void shouldFallBackToAStagedCopyWhenEveryMemorySlotIsPinned() {
    try (TieredStore store = StoreFixtures.small(dir).build()) {
      List<PinnedPage> pins = new ArrayList<>();
      try {
        // Fill hot and DRAM with pinned pages (pins keep them from being evicted or demoted).
        for (int i = 0; i < 64; i++) {
          assertTrue(store.put(TestPages.page(7, i, 1, StoreFixtures.MAX_PAYLOAD)));
          PinnedPage p = store.getPinned(7, i);
          if (p != null) {
            pins.add(p);
          }
        }
        ByteBuffer page = direct(TestPages.page(8, 1, 1, StoreFixtures.MAX_PAYLOAD));
        assertTrue(store.putCopyVerified(page, TestPages.NAMESPACE));
        assertArrayEquals(bytes(page), bytes(read(store, 8, 1)));
      } finally {
        pins.forEach(PinnedPage::close);
      }
    }
  }

  @Test
  void shouldRefuseWhenAMemoryOnlyStoreIsPinnedFull() {
    try (TieredStore store = StoreFixtures.small(dir).ssdBytes(0).build()) {
      List<PinnedPage> pins = new ArrayList<>();
      int refusedKey = 0;
      try {
        while (store.put(TestPages.page(9, refusedKey, 1, StoreFixtures.MAX_PAYLOAD))) {
          PinnedPage p = store.getPinned(9, refusedKey);
          assertNotNull(p);
          pins.add(p);
          refusedKey++;
          assertTrue(refusedKey < 1000, "memory never filled");
        }
        // The key put refused: its shard of each memory tier is pinned full.
        ByteBuffer page = direct(TestPages.page(9, refusedKey, 1, StoreFixtures.MAX_PAYLOAD));
        assertFalse(store.putCopyVerified(page), "no slot of its size can be freed");
        assertEquals(-1, store.length(9, refusedKey));
      } finally {
        pins.forEach(PinnedPage::close);
      }
      ByteBuffer page = direct(TestPages.page(9, refusedKey, 1, StoreFixtures.MAX_PAYLOAD));
      assertTrue(store.putCopyVerified(page), "room again once unpinned");
      assertArrayEquals(bytes(page), bytes(read(store, 9, refusedKey)));
    }
  }

  /** {@code page} written to a file and mapped: a source another process can truncate. */
  private MappedByteBuffer mapped(String name, ByteBuffer page) throws IOException {
    Path file = dir.resolve(name);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW,
        StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ch.write(page.duplicate());
      return ch.map(FileChannel.MapMode.READ_ONLY, 0, page.remaining());
    }
  }

  private void truncate(String name, long size) {
    try (FileChannel ch = FileChannel.open(dir.resolve(name), StandardOpenOption.WRITE)) {
      ch.truncate(size);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * A source whose file is truncated under its mapping (a client shrinking its shared region):
   * the read that faults raises {@link InternalError} out of the call, before anything is stored;
   * the key's held page stays, the reserved slot is given back, and a staged copy's buffer too.
   */
  @Test
  void shouldRaiseAFaultOfATruncatedSourceBeforeStoringAnything() throws Exception {
    try (TieredStore store = bigStore(true)) {
      ByteBuffer v1 = TestPages.page(13, 1, 1, BIG_PAYLOAD);
      assertTrue(store.put(direct(v1)));
      long usedHot = store.stats().tier(TierKind.HOT).usedBytes();

      // Gone before the header is read.
      MappedByteBuffer empty = mapped("empty", TestPages.page(13, 1, 2, BIG_PAYLOAD));
      truncate("empty", 0);
      assertThrows(InternalError.class, () -> store.putCopyVerified(empty, TestPages.NAMESPACE));

      // Gone after the first chunk was copied into a reserved slot.
      MappedByteBuffer half = mapped("half", TestPages.page(13, 1, 3, BIG_PAYLOAD));
      store.copyHook(copiedTo -> {
        if (copiedTo == PageFormat.HEADER_LENGTH + VerifiedCopyPut.CHUNK_BYTES) {
          truncate("half", 4096);
        }
      });
      assertThrows(InternalError.class, () -> store.putCopyVerified(half, TestPages.NAMESPACE));
      store.copyHook(null);
      assertArrayEquals(bytes(v1), bytes(read(store, 13, 1)), "the held page is untouched");
      assertEquals(1, store.stats().puts());
      assertEquals(usedHot, store.stats().tier(TierKind.HOT).usedBytes(), "the slot was freed");
    }
    try (TieredStore store = StoreFixtures.small(dir.resolve("small")).build()) {
      // Too large for memory: the staged path's copy faults; its buffer goes back to the pool.
      int payload = 64 * 1024;
      int available = store.staging().available();
      for (int i = 0; i < 8; i++) {
        String name = "staged" + i;
        MappedByteBuffer src = mapped(name, TestPages.page(14, i, 1, payload));
        truncate(name, 4096);
        assertThrows(InternalError.class, () -> store.putCopyVerified(src));
        assertEquals(-1, store.length(14, i));
        assertEquals(available, store.staging().available(), "the staging buffer is back");
      }
      ByteBuffer page = direct(TestPages.page(14, 99, 1, payload));
      assertTrue(store.putCopyVerified(page));
      assertArrayEquals(bytes(page), bytes(read(store, 14, 99)));
    }
  }

  /**
   * A writer flips bytes of the source (payload and header) and flips them back, as a client
   * rewriting its region would, while pages are put from it, the key is deleted and read: every
   * put either stores the exact good page or is refused with a checksum error, and a get returns
   * the good page or a miss, never other bytes.
   */
  @Test
  void shouldStoreTheGoodPageOrRefuseItWhileTheSourceIsRewrittenAndTheKeyDeleted()
      throws Exception {
    try (TieredStore store = bigStore(false)) {
      ByteBuffer good = TestPages.page(11, 1, 1, BIG_PAYLOAD);
      byte[] goodBytes = bytes(good);
      ByteBuffer src = direct(good);
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong stored = new AtomicLong();
      AtomicLong refused = new AtomicLong();
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        Future<?> writer = pool.submit(() -> {
          java.util.Random random = new java.util.Random(1);
          while (!stop.get()) {
            int at = random.nextInt(BIG_PAGE);
            byte b = src.get(at);
            src.put(at, (byte) (b ^ (1 + random.nextInt(255))));
            Thread.onSpinWait();
            src.put(at, b);
          }
        });
        Future<?> deleter = pool.submit(() -> {
          while (!stop.get()) {
            store.delete(11, 1);
            Thread.yield();
          }
        });
        Future<?> reader = pool.submit(() -> {
          ByteBuffer dst = ByteBuffer.allocateDirect(BIG_PAGE);
          while (!stop.get()) {
            dst.clear();
            if (store.get(11, 1, dst) > 0) {
              assertArrayEquals(goodBytes, bytes(dst.flip()), "a get returned other bytes");
            }
          }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        for (int i = 0; i < 2000 && System.nanoTime() < deadline; i++) {
          try {
            if (store.putCopyVerified(src, TestPages.NAMESPACE)) {
              stored.incrementAndGet();
              ByteBuffer dst = ByteBuffer.allocateDirect(BIG_PAGE);
              if (store.get(11, 1, dst) > 0) {
                assertArrayEquals(goodBytes, bytes(dst.flip()), "stored other bytes");
              }
            }
          } catch (BadPageException e) {
            assertTrue(e.code() == PageFormat.ERR_PAYLOAD_CRC || e.code() == PageFormat.ERR_HEADER_CRC
                || e.code() == PageFormat.ERR_BAD_MAGIC || e.code() == PageFormat.ERR_BAD_VERSION
                || e.code() == PageFormat.ERR_LENGTH, e.getMessage());
            refused.incrementAndGet();
          } catch (ForeignPageException e) {
            refused.incrementAndGet(); // a flipped namespace byte with a matching CRC: never stored
          }
        }
        stop.set(true);
        writer.get(10, TimeUnit.SECONDS);
        deleter.get(10, TimeUnit.SECONDS);
        reader.get(10, TimeUnit.SECONDS);
      } finally {
        stop.set(true);
        pool.shutdownNow();
        assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
      }
      assertTrue(stored.get() > 0, "some puts copied a quiet source: " + refused.get() + " refused");
      // No reservation leaked: with everything deleted, memory holds no page and no slot.
      store.delete(11, 1);
      assertEquals(0, store.stats().tier(TierKind.HOT).pageCount());
      assertEquals(0, store.stats().tier(TierKind.HOT).usedBytes());
      assertTrue(store.putCopyVerified(direct(good)));
      assertArrayEquals(goodBytes, bytes(read(store, 11, 1)));
    }
  }
}
