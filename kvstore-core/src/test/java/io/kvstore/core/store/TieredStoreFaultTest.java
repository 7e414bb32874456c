package io.kvstore.core.store;

import static io.kvstore.core.store.StoreFixtures.dst;
import static io.kvstore.core.store.StoreFixtures.whereIs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.tier.TestPages;
import io.kvstore.core.tier.TierKind;
import io.kvstore.core.tier.TierWriteException;
import io.kvstore.core.tier.ssd.SsdTier;
import io.kvstore.core.tier.ssd.SsdTierTestAccess;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * An SSD tier that fails or stalls (through {@link FaultyTier}) must cost only what it cannot take:
 * memory keeps serving puts and gets, no page the SSD tier held is lost, gets return exact bytes or
 * a miss and never throw, the store goes degraded and recovers by itself.
 */
class TieredStoreFaultTest {

  private static final int PAYLOAD = 8 * 1024;

  @TempDir Path dir;

  private FaultyTier faulty;

  private TieredStoreBuilder builder() {
    TieredStoreBuilder b = StoreFixtures.small(dir).degradedRetryMillis(5, 20);
    b.ssdTierWrapper = t -> faulty = new FaultyTier(t);
    return b;
  }

  private static void putAll(TieredStore store, long hi, int from, int to, int version) {
    for (int k = from; k < to; k++) {
      assertTrue(store.put(TestPages.page(hi, k, version, PAYLOAD)), "put of " + k + " succeeds");
    }
  }

  /** Exact bytes of version {@code version}, or a miss (false). */
  private static boolean exactOrMiss(TieredStore store, long hi, long k, int version) {
    ByteBuffer dst = dst();
    if (store.get(hi, k, dst) < 0) {
      return false;
    }
    assertEquals(version, TestPages.check(dst.flip(), hi, k), "version of " + k);
    return true;
  }

  private static void awaitHealth(TieredStore store, boolean degraded) throws InterruptedException {
    for (int i = 0; i < 1000 && store.health().ssdDegraded() != degraded; i++) {
      Thread.sleep(10);
    }
    assertEquals(degraded, store.health().ssdDegraded(), store.health().toString());
  }

  /**
   * A store with nothing to write back recovers too: once the tier's resume says yes, a write of
   * its own (the probe) confirms it. Before, the store reported degraded until the next dirty page
   * came, so an idle daemon kept its degraded alert firing after the disk had room again. A probe
   * that fails keeps it degraded, in the same episode.
   */
  @Test
  void shouldRecoverWhileIdleOnceAProbeWriteSucceeds() throws Exception {
    try (TieredStore store = builder().build()) {
      putAll(store, 1, 0, 100, 1);
      assertTrue(store.awaitWriteBack(30_000));
      faulty.failWrites(TierWriteException.Reason.NO_SPACE);
      putAll(store, 1, 100, 200, 1);
      assertTrue(store.awaitWriteBack(30_000));
      awaitHealth(store, true);
      long since = store.health().sinceEpochMillis();
      faulty.failProbes(true);
      faulty.failWrites(null); // the resume says yes; the probe write still fails (too hopeful)
      long probes = faulty.probes.get();
      for (int i = 0; i < 1000 && faulty.probes.get() < probes + 3; i++) {
        Thread.sleep(10);
      }
      assertTrue(faulty.probes.get() >= probes + 3, "probes come on the backoff");
      assertTrue(store.health().ssdDegraded(), "a failing probe keeps it degraded");
      assertEquals(since, store.health().sinceEpochMillis(), "one episode, not one per probe");
      long writes = store.stats().writeBack().ssdWrites();
      faulty.failProbes(false);
      awaitHealth(store, false); // no put, nothing to write back: its own write confirmed it
      assertEquals(writes, store.stats().writeBack().ssdWrites(), "no page was written meanwhile");
      assertTrue(exactOrMiss(store, 1, 0, 1));
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = TierWriteException.Reason.class,
      names = {"NO_SPACE", "IO_ERROR"})
  void shouldKeepServingAndLoseNoSsdPageWhileSsdWritesFail(TierWriteException.Reason reason)
      throws Exception {
    try (TieredStore store = builder().build()) {
      putAll(store, 1, 0, 100, 1);
      assertTrue(store.awaitWriteBack(30_000));
      List<Long> onSsd = new ArrayList<>();
      for (long k = 0; k < 100; k++) {
        if (whereIs(store, 1, k) == TierKind.SSD) {
          onSsd.add(k);
        }
      }
      assertTrue(onSsd.size() > 30, "most pages went down to SSD: " + onSsd.size());

      faulty.failWrites(reason);
      putAll(store, 1, 100, 200, 1); // memory takes every put; its dirty victims cannot be written
      assertTrue(store.awaitWriteBack(30_000));
      StoreHealth h = store.health();
      assertTrue(h.ssdDegraded(), "degraded: " + h);
      assertEquals(reason.name(), h.reason());
      assertTrue(h.lastError().contains("injected"), h.lastError());
      StoreStats s = store.stats();
      assertTrue(s.writeBack().failures() >= 1, s.writeBack().toString());
      assertTrue(s.writeBack().drops() >= 1, s.writeBack().toString());
      assertTrue(s.health().ssdDegraded());

      // Reading the old pages promotes them, which evicts others, whose write-back fails: twice
      // over, every page the SSD tier held must still come back exact (the v1 bug destroyed them).
      for (int pass = 0; pass < 2; pass++) {
        for (long k : onSsd) {
          assertTrue(exactOrMiss(store, 1, k, 1), "page " + k + " held by SSD is still served");
        }
      }
      for (long k = 100; k < 200; k++) {
        exactOrMiss(store, 1, k, 1);
      }
      assertTrue(store.put(TestPages.page(1, 300, 1, PAYLOAD)));
      assertTrue(exactOrMiss(store, 1, 300, 1), "a fresh put is served from memory");
      assertTrue(store.delete(1, onSsd.get(0)), "delete works while degraded");
      assertFalse(exactOrMiss(store, 1, onSsd.get(0), 1));

      faulty.failWrites(null); // space is back
      long writes = store.stats().writeBack().ssdWrites();
      // Retries come on a backoff (5 to 20 ms here); recovery is confirmed by a successful write
      // (a page's, or the retry's own probe): evict dirty pages meanwhile (bounded: 500 rounds of
      // at least 10 ms).
      for (int round = 0; round < 500 && store.health().ssdDegraded(); round++) {
        putAll(store, 1, 10_000 + 10 * round, 10_010 + 10 * round, 2); // victims to write
        assertTrue(store.awaitWriteBack(30_000));
        Thread.sleep(10);
      }
      assertFalse(store.health().ssdDegraded(), "recovered by itself: " + store.health());
      assertTrue(faulty.resumeCalls.get() >= 1);
      putAll(store, 1, 20_000, 20_100, 2);
      assertTrue(store.awaitWriteBack(30_000));
      assertTrue(store.stats().writeBack().ssdWrites() > writes, "write-back resumed");
      assertFalse(store.health().ssdDegraded());
      assertEquals(TierKind.SSD, whereIs(store, 1, 20_000));
      assertTrue(exactOrMiss(store, 1, 20_000, 2), "a page written back after recovery is served");
    }
  }

  @Test
  void shouldServeAnSsdReadErrorAsACountedMissAndKeepThePage() throws Exception {
    try (TieredStore store = builder().build()) {
      putAll(store, 2, 0, 100, 1);
      assertTrue(store.awaitWriteBack(30_000));
      assertEquals(TierKind.SSD, whereIs(store, 2, 0));
      faulty.failReads(true);
      ByteBuffer dst = dst();
      assertEquals(-1, store.get(2, 0, dst), "a read error is a miss, not an exception");
      assertNull(store.getPinned(2, 0));
      assertTrue(store.stats().writeBack().ssdReadErrors() >= 2);
      assertTrue(exactOrMiss(store, 2, 99, 1), "memory pages are still served");
      faulty.failReads(false);
      assertTrue(exactOrMiss(store, 2, 0, 1), "the page was not removed by the failed read");
    }
  }

  @Test
  void shouldContainFailuresOfAnSsdOnlyStore() throws Exception {
    try (TieredStore store = builder().hotBytes(0).dramBytes(0).build()) {
      putAll(store, 5, 0, 10, 1);
      faulty.failReads(true);
      assertEquals(-1, store.get(5, 0, dst()), "a read error is a miss, also without memory tiers");
      faulty.failReads(false);
      assertTrue(exactOrMiss(store, 5, 0, 1));
      faulty.failWrites(TierWriteException.Reason.NO_SPACE);
      assertFalse(store.put(TestPages.page(5, 20, 1, PAYLOAD)), "no tier could take the page");
      assertTrue(store.health().ssdDegraded());
      assertTrue(exactOrMiss(store, 5, 1, 1), "pages already held are still served");
      faulty.failWrites(null);
      boolean stored = false;
      for (int i = 0; i < 500 && !stored; i++) {
        Thread.sleep(10);
        stored = store.put(TestPages.page(5, 20, 1, PAYLOAD)); // direct puts resume after a retry
      }
      assertTrue(stored);
      assertFalse(store.health().ssdDegraded());
    }
  }

  @Test
  void shouldKeepServingMemoryWhileSsdWritesStall() throws Exception {
    TieredStoreBuilder b = builder().writeBackQueueBytes(8L * StoreFixtures.MAX_PAGE);
    b.writeBackMaxWaitMillis(20);
    long drops;
    LogCapture close = new LogCapture(StoreCloser.class);
    try (TieredStore store = b.build()) {
      faulty.stallWrites();
      try {
      assertTimeoutPreemptively(
          Duration.ofSeconds(120),
          () -> {
            putAll(store, 3, 0, 150, 1); // the writers are stuck: the small queue fills, then drops
            for (long k = 140; k < 150; k++) {
              assertTrue(exactOrMiss(store, 3, k, 1), "recent puts are served from memory");
            }
            for (long k = 0; k < 150; k++) {
              exactOrMiss(store, 3, k, 1); // pages waiting in the queue are served from it
            }
          },
          "puts and gets must not wait for a stalled SSD write");
      assertTrue(faulty.stalledNow.get() >= 1, "writes were stalled meanwhile");
      assertFalse(store.health().ssdDegraded(), "a slow disk is not a failed one");
      assertTrue(store.stats().writeBack().drops() > 0, "a full queue drops and counts: " + store.stats());
      } finally {
        faulty.releaseStall();
      }
      assertTrue(store.awaitWriteBack(30_000));
      for (long k = 0; k < 150; k++) {
        exactOrMiss(store, 3, k, 1);
      }
      drops = store.stats().writeBack().drops();
    } finally {
      close.close();
    }
    // The close says how many pages the policy dropped while the store ran: with the stop's own
    // losses, all a restart will not find (kvbench crashtest's graceful stop checks against it).
    String dropped = String.format(java.util.Locale.ROOT,
        "; %,d dirty pages had been dropped by the write-back policy while the store ran", drops);
    assertTrue(close.lines().stream().anyMatch(l -> l.startsWith("store closed in ")
        && l.contains(dropped)), close.lines().toString());
  }

  @Test
  void shouldIndexNoPageWhoseWriteBackFailsMidwayAndKeepServingMemory() throws Exception {
    try (TieredStore store = builder().build()) {
      SsdTier ssd = (SsdTier) faulty.inner();
      putAll(store, 5, 0, 100, 1);
      assertTrue(store.awaitWriteBack(30_000));
      long held = ssd.pageCount();
      assertTrue(held > 30, "most pages went down to SSD: " + held);

      faulty.stallWrites(); // victims gather in the queue behind the stalled writers
      putAll(store, 5, 100, 160, 1);
      SsdTierTestAccess.failWritesAfter(ssd, PAYLOAD + PAYLOAD / 2); // the disk fails mid-write
      faulty.releaseStall();
      assertTrue(store.awaitWriteBack(30_000));
      assertTrue(store.health().ssdDegraded(), store.health().toString());
      StoreStats.WriteBackStats wb = store.stats().writeBack();
      assertTrue(wb.failures() >= 1 && wb.drops() >= 1, wb.toString());
      assertEquals(held, ssd.pageCount(), "no page of a failed write is indexed");
      for (long k = 0; k < 160; k++) {
        ByteBuffer dst = dst();
        if (ssd.get(5, k, dst) >= 0) {
          assertEquals(1, TestPages.check(dst.flip(), 5, k), "page " + k + " on SSD is whole");
        }
      }
      for (long k = 156; k < 160; k++) {
        assertTrue(exactOrMiss(store, 5, k, 1), "memory still serves page " + k);
      }

      SsdTierTestAccess.failWritesAfter(ssd, -1);
      for (int round = 0; round < 500 && store.health().ssdDegraded(); round++) {
        putAll(store, 5, 10_000 + 10 * round, 10_010 + 10 * round, 2); // victims to write
        assertTrue(store.awaitWriteBack(30_000));
        Thread.sleep(10);
      }
      assertFalse(store.health().ssdDegraded(), "recovered by itself: " + store.health());
      putAll(store, 5, 20_000, 20_100, 2);
      assertTrue(store.awaitWriteBack(30_000));
      assertEquals(TierKind.SSD, whereIs(store, 5, 20_000));
      assertTrue(exactOrMiss(store, 5, 20_000, 2), "a page written back after recovery is served");
    }
  }

  @Test
  void shouldNeverWriteBackAPageAfterItsDeleteOrANewerPut() throws Exception {
    try (TieredStore store = builder().build()) {
      faulty.stallWrites();
      // The first victims: both writers stall on batches of them. Only then may keys 1 and 2 enter
      // the queue: a writer that takes a batch takes every page pending, and a page it holds (as
      // being written) makes a delete or put of its key wait for the write.
      int next = 1000;
      for (; next < 3000 && faulty.stalledNow.get() < 2; next++) {
        assertTrue(store.put(TestPages.page(4, next, 1, PAYLOAD)));
        Thread.sleep(1);
      }
      assertEquals(2, faulty.stalledNow.get(), "both writers stalled");
      assertTrue(store.put(TestPages.page(4, 1, 1, PAYLOAD)));
      assertTrue(store.put(TestPages.page(4, 2, 1, PAYLOAD)));
      putAll(store, 4, next, next + 50, 1); // pushes keys 1 and 2 out of memory into the queue
      for (long k : new long[] {1, 2}) {
        assertEquals(TierKind.SSD, whereIs(store, 4, k), "queued (counted as SSD)");
      }
      assertTrue(store.delete(4, 1));
      assertTrue(store.put(TestPages.page(4, 2, 2, PAYLOAD)));
      assertTrue(store.stats().writeBack().cancelled() >= 2);
      faulty.releaseStall();
      assertTrue(store.awaitWriteBack(30_000));
      putAll(store, 4, 2000, 2100, 1); // everything moves down to SSD, written or dropped
      assertTrue(store.awaitWriteBack(30_000));
      assertFalse(exactOrMiss(store, 4, 1, 1), "a deleted page never comes back");
      exactOrMiss(store, 4, 2, 2); // version 2 or a miss, never version 1 (checked inside)
    }
  }
}
