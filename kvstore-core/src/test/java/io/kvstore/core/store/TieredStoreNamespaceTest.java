package io.kvstore.core.store;

import static io.kvstore.core.store.StoreFixtures.dst;
import static io.kvstore.core.store.StoreFixtures.small;
import static io.kvstore.core.store.StoreFixtures.whereIs;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.PageFormat;
import io.kvstore.core.tier.TierKind;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Namespace isolation: the daemon's ownership checks on PUT-replace, DELETE, LOOKUP, PREFETCH. */
class TieredStoreNamespaceTest {

  private static final long A = 0xAAAAL;
  private static final long B = 0xBBBBL;
  private static final int PAYLOAD = 8 * 1024;

  @TempDir Path dir;

  /** A page of namespace {@code ns} whose payload bytes are all {@code fill}. */
  static ByteBuffer page(long ns, long hi, long lo, int fill) {
    ByteBuffer buf = ByteBuffer.allocateDirect(PageFormat.pageLength(PAYLOAD));
    for (int i = PageFormat.HEADER_LENGTH; i < buf.capacity(); i++) {
      buf.put(i, (byte) fill);
    }
    PageFormat.writeHeader(buf, 0, hi, lo, 0, 0, ns, 16, PAYLOAD);
    return buf;
  }

  /** Pushes the pages of keys (1, 0..9) down to SSD by putting many others after them. */
  private static void pushDown(TieredStore store) {
    for (int k = 1000; k < 1100; k++) {
      assertTrue(store.put(page(A, 9, k, 1)));
    }
  }

  private static byte[] read(TieredStore store, long hi, long lo) {
    ByteBuffer dst = dst();
    int n = store.get(hi, lo, dst);
    if (n < 0) {
      return null;
    }
    byte[] b = new byte[n];
    dst.flip().get(b);
    return b;
  }

  private static byte[] bytes(ByteBuffer page) {
    byte[] b = new byte[page.remaining()];
    page.duplicate().get(b);
    return b;
  }

  @Test
  void shouldTellOwnForeignAndAbsentInMemoryAndOnSsd() {
    try (TieredStore store = small(dir).build()) {
      assertEquals(TieredStore.ABSENT, store.ownership(1, 0, A));
      store.put(page(A, 1, 0, 1));
      store.put(page(B, 1, 1, 2));
      assertEquals(TieredStore.OWN, store.ownership(1, 0, A));
      assertEquals(TieredStore.FOREIGN, store.ownership(1, 0, B));
      assertEquals(TieredStore.FOREIGN, store.ownership(1, 1, A));
      pushDown(store);
      assertEquals(TierKind.SSD, whereIs(store, 1, 0));
      assertEquals(TierKind.SSD, whereIs(store, 1, 1));
      assertEquals(TieredStore.OWN, store.ownership(1, 0, A));
      assertEquals(TieredStore.FOREIGN, store.ownership(1, 0, B));
      assertEquals(TieredStore.OWN, store.ownership(1, 1, B));
      assertEquals(TierKind.SSD, whereIs(store, 1, 0), "an ownership check moves nothing");
    }
  }

  @Test
  void shouldRefuseToReplaceAForeignPageAndKeepIt() {
    try (TieredStore store = small(dir).build()) {
      ByteBuffer mine = page(A, 1, 0, 1);
      ByteBuffer onSsd = page(A, 1, 1, 3);
      store.put(mine);
      store.put(onSsd);
      pushDown(store);
      store.put(mine); // back in memory: one key held in memory, one on SSD only
      assertEquals(TierKind.SSD, whereIs(store, 1, 1));
      for (long lo : new long[] {0, 1}) {
        ForeignPageException e =
            assertThrows(ForeignPageException.class, () -> store.put(page(B, 1, lo, 2)));
        assertEquals(B, e.namespaceId());
        assertEquals(lo, e.keyLo());
      }
      assertArrayEquals(bytes(mine), read(store, 1, 0), "the held page is left as it was");
      assertArrayEquals(bytes(onSsd), read(store, 1, 1));
      ByteBuffer newer = page(A, 1, 0, 9);
      assertTrue(store.put(newer), "the owner replaces its own page");
      assertArrayEquals(bytes(newer), read(store, 1, 0));
    }
  }

  @Test
  void shouldDeleteOnlyTheCallersPage() {
    try (TieredStore store = small(dir).build()) {
      store.put(page(A, 1, 0, 1));
      store.put(page(A, 1, 1, 1));
      pushDown(store);
      store.put(page(A, 1, 0, 1));
      for (long lo : new long[] {0, 1}) {
        assertFalse(store.delete(1, lo, B), "foreign: not deleted");
        assertEquals(TieredStore.OWN, store.ownership(1, lo, A));
        assertTrue(store.delete(1, lo, A));
        assertEquals(TieredStore.ABSENT, store.ownership(1, lo, A));
        assertFalse(store.delete(1, lo, A), "absent: nothing to delete");
      }
      assertEquals(2, store.stats().deletes());
    }
  }

  @Test
  void shouldEndTheLeadingRunAtAForeignPage() {
    try (TieredStore store = small(dir).build()) {
      store.put(page(A, 2, 0, 1));
      store.put(page(A, 2, 1, 1));
      store.put(page(B, 2, 2, 1));
      store.put(page(A, 2, 3, 1));
      long[] keys = {2, 0, 2, 1, 2, 2, 2, 3};
      int[] perTier = new int[3];
      assertEquals(2, store.lookupPrefix(keys, 4, perTier, A));
      assertEquals(2, perTier[0] + perTier[1] + perTier[2]);
      assertEquals(0, store.lookupPrefix(keys, 4, null, B));
      assertEquals(4, store.lookupPrefix(keys, 4, null), "the old overload sees every namespace");
      pushDown(store);
      assertEquals(2, store.lookupPrefix(keys, 4, perTier, A), "also when the pages are on SSD");
      assertEquals(2, perTier[TierKind.SSD.ordinal()]);
    }
  }

  @Test
  void shouldPrefetchOnlyTheCallersPagesAndNeverMoveForeignOnes() throws Exception {
    try (TieredStore store = small(dir).build()) {
      store.put(page(A, 3, 0, 1));
      store.put(page(B, 3, 1, 1));
      store.put(page(A, 3, 2, 1));
      pushDown(store);
      long[] keys = {3, 0, 3, 1, 3, 2};
      int inMemory =
          store
              .prefetch(keys, 3, System.nanoTime() + TimeUnit.SECONDS.toNanos(30), A)
              .get(30, TimeUnit.SECONDS);
      assertEquals(2, inMemory, "the foreign page is skipped, the ones after it still promoted");
      assertEquals(TierKind.SSD, whereIs(store, 3, 1), "the foreign page was not moved");
      assertEquals(TierKind.HOT, whereIs(store, 3, 2));
      int again =
          store
              .prefetch(keys, 3, System.nanoTime() + TimeUnit.SECONDS.toNanos(30), A)
              .get(30, TimeUnit.SECONDS);
      assertEquals(2, again, "memory pages of the caller count; the foreign one does not");
    }
  }
}
