package io.kvstore.core.tier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kvstore.common.PageFormat;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.agrona.BufferUtil;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The {@link Tier} contract, run against every implementation by subclassing (as ehcache3's tier SPI
 * tests are). A subclass supplies {@link #newTier}; tiers that cannot pin, keep their pages across a
 * restart, or hold no off-heap memory say so through the hooks.
 *
 * <p>Pages come from {@link TestPages}, so every byte a tier returns (from get, pin or the eviction
 * listener) is checked against the key it was asked for: a torn, stale or foreign page fails.
 */
public abstract class TierContractTest {

  /** Largest page (header + payload) the tiers under test are configured for. */
  protected static final int MAX_PAGE = 16 * 1024;
  /** Capacity of the tiers under test: room for a few dozen pages. */
  protected static final long CAPACITY = 256 * 1024;

  private final List<Tier> opened = new ArrayList<>();
  private final List<ByteBuffer> directBuffers = new ArrayList<>();

  /** A new, empty tier of at most {@code capacityBytes} for pages up to {@code maxPageBytes}. */
  protected abstract Tier newTier(long capacityBytes, int maxPageBytes);

  /** Whether {@link Tier#pin} returns views (false for tiers that cannot pin, like SSD). */
  protected boolean canPin() {
    return true;
  }

  /** Whether pages survive {@link Tier#close()} and {@link #reopen}. */
  protected boolean persistent() {
    return false;
  }

  /** Opens again the tier closed by the caller (only called when {@link #persistent()}). */
  protected Tier reopen(long capacityBytes, int maxPageBytes) {
    throw new UnsupportedOperationException("this tier does not persist its pages");
  }

  /**
   * Memory the tier holds outside the heap, measured from outside it; the default reads the JVM's
   * direct buffer pool, which is where the memory tiers allocate. Return -1 to skip the check.
   */
  protected long offHeapBytes() {
    for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
      if (pool.getName().equals("direct")) {
        return pool.getMemoryUsed();
      }
    }
    return -1;
  }

  /** Creates a tier through {@link #newTier} and closes it after the test. */
  protected final Tier open(long capacityBytes, int maxPageBytes) {
    Tier tier = newTier(capacityBytes, maxPageBytes);
    opened.add(tier);
    return tier;
  }

  @AfterEach
  void closeTiers() {
    opened.forEach(Tier::close);
    opened.clear();
    directBuffers.forEach(BufferUtil::free);
    directBuffers.clear();
  }

  @Test
  void shouldRoundTripExactBytesForEverySize() {
    Tier tier = open(CAPACITY, MAX_PAGE);
    int max = MAX_PAGE - PageFormat.HEADER_LENGTH;
    int[] payloads = {0, 1, 7, 15, 16, 17, 63, 64, 1000, 4096 - 64, 4096, 8191, max - 1, max};
    ByteBuffer direct = direct(MAX_PAGE + 16);
    ByteBuffer directSource = direct(MAX_PAGE);
    for (int i = 0; i < payloads.length; i++) {
      ByteBuffer page = TestPages.page(1, i, 1, payloads[i]);
      assertTrue(tier.put(i % 2 == 0 ? page : TestPages.copyInto(page, directSource)), "put of " + payloads[i]);
      assertEquals(0, page.position(), "put must not move the source");
      int length = PageFormat.pageLength(payloads[i]);
      assertEquals(length, tier.length(1, i));
      assertTrue(tier.contains(1, i));

      ByteBuffer heap = ByteBuffer.allocate(length + 10).position(5);
      assertEquals(length, tier.get(1, i, heap));
      assertEquals(5 + length, heap.position());
      TestPages.check(heap, 5, length, 1, i);

      direct.clear().position(3);
      assertEquals(length, tier.get(1, i, direct));
      assertEquals(3 + length, direct.position());
      TestPages.check(direct, 3, length, 1, i);
    }
    assertEquals(payloads.length, tier.pageCount());
    assertTrue(tier.usedBytes() > 0 && tier.usedBytes() <= tier.capacityBytes());
  }

  @Test
  void shouldMissForAbsentKey() {
    Tier tier = open(CAPACITY, MAX_PAGE);
    assertTrue(tier.put(TestPages.page(2, 1, 1, 100)));
    ByteBuffer dst = ByteBuffer.allocate(MAX_PAGE).position(9);
    assertEquals(Tier.MISS, tier.get(2, 2, dst));
    assertEquals(9, dst.position(), "a miss must not move the destination");
    assertEquals(Tier.MISS, tier.length(2, 2));
    assertFalse(tier.contains(2, 2));
    assertNull(tier.pin(2, 2));
    assertFalse(tier.delete(2, 2));
    assertEquals(1, tier.pageCount());
  }

  @Test
  void shouldReplacePageWithSameKey() {
    Tier tier = open(CAPACITY, MAX_PAGE);
    assertTrue(tier.put(TestPages.page(3, 1, 1, 5000)));
    assertTrue(tier.put(TestPages.page(3, 1, 2, 300)));
    assertEquals(PageFormat.pageLength(300), tier.length(3, 1));
    assertEquals(2, TestPages.check(read(tier, 3, 1), 3, 1));
    assertTrue(tier.put(TestPages.page(3, 1, 3, MAX_PAGE - PageFormat.HEADER_LENGTH)));
    assertEquals(3, TestPages.check(read(tier, 3, 1), 3, 1));
    assertEquals(1, tier.pageCount());
  }

  @Test
  void shouldDeletePage() {
    Tier tier = open(CAPACITY, MAX_PAGE);
    assertTrue(tier.put(TestPages.page(4, 1, 1, 100)));
    assertTrue(tier.put(TestPages.page(4, 2, 1, 100)));
    assertTrue(tier.delete(4, 1));
    assertFalse(tier.contains(4, 1));
    assertNull(read(tier, 4, 1));
    assertFalse(tier.delete(4, 1));
    assertEquals(1, tier.pageCount());
    TestPages.check(read(tier, 4, 2), 4, 2);
  }

  @Test
  void shouldRejectTooLargePageChangingNothing() {
    Tier tier = open(CAPACITY, MAX_PAGE);
    assertEquals(MAX_PAGE, tier.maxPageBytes());
    assertTrue(tier.put(TestPages.page(5, 1, 1, 2000)));
    long used = tier.usedBytes();
    int tooLarge = MAX_PAGE - PageFormat.HEADER_LENGTH + 1;
    assertFalse(tier.put(TestPages.page(5, 2, 1, tooLarge)));
    assertFalse(tier.put(TestPages.page(5, 1, 2, tooLarge)));
    assertFalse(tier.contains(5, 2));
    assertEquals(1, TestPages.check(read(tier, 5, 1), 5, 1), "the old page must stay");
    assertEquals(1, tier.pageCount());
    assertEquals(used, tier.usedBytes());
  }

  @Test
  void shouldRejectBadArguments() {
    Tier tier = open(CAPACITY, MAX_PAGE);
    assertThrows(IllegalArgumentException.class, () -> tier.put(ByteBuffer.allocate(10)));
    ByteBuffer truncated = TestPages.page(6, 1, 1, 100).limit(PageFormat.pageLength(50));
    assertThrows(IllegalArgumentException.class, () -> tier.put(truncated));
    assertEquals(0, tier.pageCount());

    assertTrue(tier.put(TestPages.page(6, 2, 1, 100)));
    ByteBuffer small = ByteBuffer.allocate(PageFormat.pageLength(100) - 1);
    assertThrows(IllegalArgumentException.class, () -> tier.get(6, 2, small));
    assertEquals(0, small.position(), "nothing is copied into a destination that is too small");
  }

  @Test
  void shouldKeepModelAndCapacityUnderRandomWorkload() {
    Tier tier = open(CAPACITY, MAX_PAGE);
    Map<Long, Integer> model = new HashMap<>();
    tier.setEvictionListener(
        (hi, lo, page) -> {
          int version = TestPages.check(page, hi, lo);
          assertEquals(model.remove(lo), version, "evicted page must be the latest version");
        });
    Random random = new Random(42);
    ByteBuffer dst = ByteBuffer.allocate(MAX_PAGE);
    int[] versions = new int[96];
    for (int op = 0; op < 4000; op++) {
      long key = random.nextInt(versions.length);
      int choice = random.nextInt(10);
      if (choice < 5) {
        int version = ++versions[(int) key];
        int payload = random.nextInt(MAX_PAGE - PageFormat.HEADER_LENGTH + 1);
        if (tier.put(TestPages.page(9, key, version, payload))) {
          model.put(key, version);
        } else {
          fail("nothing is pinned, so a put of a page that fits must succeed (op " + op + ")");
        }
      } else if (choice < 9) {
        dst.clear();
        int length = tier.get(9, key, dst);
        if (length == Tier.MISS) {
          assertFalse(model.containsKey(key), "a resident page missed");
        } else {
          assertEquals(model.get(key), TestPages.check(dst, 0, length, 9, key));
        }
      } else {
        assertEquals(model.remove(key) != null, tier.delete(9, key));
      }
      assertTrue(tier.usedBytes() <= tier.capacityBytes(), "over capacity after op " + op);
      assertEquals(model.size(), tier.pageCount(), "page count after op " + op);
    }
  }

  @Test
  void shouldHandEvictedPagesToListenerBeforeReuse() {
    Tier tier = open(CAPACITY, MAX_PAGE);
    Map<Long, Integer> evicted = new HashMap<>();
    tier.setEvictionListener(
        (hi, lo, page) -> {
          assertEquals(0, page.position());
          assertTrue(page.isReadOnly(), "listener gets a read-only view");
          assertTrue(tier.usedBytes() <= tier.capacityBytes());
          evicted.merge(lo, TestPages.check(page, hi, lo), (a, b) -> fail("evicted twice: " + lo));
        });
    int pageCount = (int) (4 * CAPACITY / 4096);
    for (int i = 0; i < pageCount; i++) {
      assertTrue(tier.put(TestPages.page(10, i, i + 1, 4096 - PageFormat.HEADER_LENGTH)));
    }
    assertFalse(evicted.isEmpty(), "four times the capacity must evict");
    for (int i = 0; i < pageCount; i++) {
      ByteBuffer page = read(tier, 10, i);
      if (page == null) {
        assertEquals(i + 1, evicted.get((long) i), "missing page " + i + " was never evicted");
      } else {
        assertFalse(evicted.containsKey((long) i), "evicted page " + i + " is still served");
        TestPages.check(page, 10, i);
      }
    }
    assertEquals(pageCount, evicted.size() + tier.pageCount());
  }

  @Test
  void shouldKeepPinnedPagesUnderPressure() {
    assumeTrue(canPin());
    Tier tier = open(CAPACITY, MAX_PAGE);
    List<Long> evicted = new ArrayList<>();
    tier.setEvictionListener((hi, lo, page) -> evicted.add(lo));
    List<PinnedPage> pins = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      assertTrue(tier.put(TestPages.page(11, i, 1, 3000)));
      PinnedPage pin = tier.pin(11, i);
      assertNotNull(pin);
      pins.add(pin);
    }
    Random random = new Random(7);
    for (int i = 100; i < 100 + 4 * CAPACITY / 2048; i++) {
      int payload = random.nextInt(MAX_PAGE - PageFormat.HEADER_LENGTH);
      assertTrue(tier.put(TestPages.page(11, i, 1, payload)), "put " + i);
    }
    assertFalse(evicted.isEmpty());
    for (int i = 0; i < 3; i++) {
      assertFalse(evicted.contains((long) i), "pinned page " + i + " was evicted");
      ByteBuffer view = pins.get(i).buffer();
      assertTrue(view.isReadOnly());
      assertEquals(0, view.position());
      TestPages.check(view, 11, i);
      TestPages.check(read(tier, 11, i), 11, i);
    }
    pins.forEach(PinnedPage::close);
    pins.forEach(PinnedPage::close);
  }

  @Test
  void shouldRefusePutWhenEverythingIsPinned() {
    assumeTrue(canPin());
    Tier tier = open(CAPACITY, MAX_PAGE);
    List<Long> evicted = new ArrayList<>();
    tier.setEvictionListener((hi, lo, page) -> evicted.add(lo));
    List<PinnedPage> pins = new ArrayList<>();
    int payload = MAX_PAGE - PageFormat.HEADER_LENGTH;
    int refused = -1;
    for (int i = 0; i <= CAPACITY / PageFormat.HEADER_LENGTH; i++) {
      long used = tier.usedBytes();
      long count = tier.pageCount();
      if (!tier.put(TestPages.page(12, i, 1, payload))) {
        assertEquals(used, tier.usedBytes(), "a refused put changes nothing");
        assertEquals(count, tier.pageCount());
        assertFalse(tier.contains(12, i));
        refused = i;
        break;
      }
      PinnedPage pin = tier.pin(12, i);
      assertNotNull(pin, "pin of a stored page");
      pins.add(pin);
    }
    assertTrue(refused > 0, "a tier whose pages are all pinned must refuse a put");
    assertTrue(evicted.isEmpty(), "pinned pages were evicted: " + evicted);
    for (int i = 0; i < refused; i++) {
      TestPages.check(pins.get(i).buffer(), 12, i);
    }
    // Unpin pages one at a time until the refused page fits. A sharded tier evicts within the
    // refused key's shard, so the page unpinned first may not be the one that makes room; but only
    // an unpinned page may ever be evicted, and exactly one is needed.
    int unpinned = 0;
    boolean stored = false;
    while (!stored && unpinned < refused) {
      pins.get(unpinned++).close();
      stored = tier.put(TestPages.page(12, refused, 1, payload));
    }
    assertTrue(stored, "unpinned pages make room");
    assertEquals(1, evicted.size(), "one page makes room for one page: " + evicted);
    assertTrue(evicted.get(0) < unpinned, "only an unpinned page is evicted: " + evicted);
    TestPages.check(read(tier, 12, refused), 12, refused);
    for (int i = unpinned; i < refused; i++) {
      TestPages.check(pins.get(i).buffer(), 12, i);
    }
    pins.forEach(PinnedPage::close);
  }

  @Test
  void shouldStayExactUnderConcurrentMixedOperations() throws Exception {
    Tier tier = open(CAPACITY, MAX_PAGE);
    AtomicReference<Throwable> listenerFailure = new AtomicReference<>();
    Map<Long, Long> evictions = new ConcurrentHashMap<>();
    tier.setEvictionListener(
        (hi, lo, page) -> {
          try {
            TestPages.check(page, hi, lo);
            evictions.merge(lo, 1L, Long::sum);
          } catch (Throwable t) {
            listenerFailure.compareAndSet(null, t);
          }
        });
    int threads = 8;
    AtomicLong hits = new AtomicLong();
    AtomicLong stored = new AtomicLong();
    List<ByteBuffer> buffers = new ArrayList<>();
    for (int t = 0; t < 2 * threads; t++) {
      buffers.add(t % 4 < 2 ? ByteBuffer.allocate(MAX_PAGE) : direct(MAX_PAGE));
    }
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int seed = t;
        futures.add(
            pool.submit(
                () ->
                    mixedWorkload(
                        tier, seed, buffers.get(2 * seed), buffers.get(2 * seed + 1), start, hits,
                        stored)));
      }
      start.countDown();
      for (Future<?> future : futures) {
        future.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
      assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
    }
    if (listenerFailure.get() != null) {
      throw new AssertionError("eviction listener saw a bad page", listenerFailure.get());
    }
    assertTrue(hits.get() > 0, "the workload must hit sometimes");
    assertTrue(stored.get() > 0, "the workload must store pages");
    assertTrue(tier.usedBytes() <= tier.capacityBytes());
    for (long key = 0; key < 64; key++) {
      ByteBuffer page = read(tier, 13, key);
      if (page != null) {
        TestPages.check(page, 13, key);
      }
    }
  }

  /**
   * One thread's share: puts (refusals allowed, since other threads' short pins may block every
   * victim for an instant), gets and pins checked byte for byte, deletes.
   */
  private Void mixedWorkload(
      Tier tier,
      int seed,
      ByteBuffer source,
      ByteBuffer dst,
      CountDownLatch start,
      AtomicLong hits,
      AtomicLong stored)
      throws InterruptedException {
    Random random = new Random(seed);
    start.await();
    for (int op = 0; op < 1500; op++) {
      long key = random.nextInt(64);
      int choice = random.nextInt(10);
      if (choice < 4) {
        int payload = random.nextInt(MAX_PAGE - PageFormat.HEADER_LENGTH + 1);
        ByteBuffer page = TestPages.page(13, key, seed * 100_000 + op, payload);
        if (tier.put(random.nextBoolean() ? page : TestPages.copyInto(page, source))) {
          stored.incrementAndGet();
        }
      } else if (choice < 7) {
        dst.clear();
        int length = tier.get(13, key, dst);
        if (length != Tier.MISS) {
          assertEquals(length, dst.position());
          TestPages.check(dst, 0, length, 13, key);
          hits.incrementAndGet();
        }
      } else if (choice < 9 && canPin()) {
        try (PinnedPage pin = tier.pin(13, key)) {
          if (pin != null) {
            TestPages.check(pin.buffer(), 13, key);
            hits.incrementAndGet();
          }
        }
      } else {
        tier.delete(13, key);
      }
      assertTrue(tier.usedBytes() <= tier.capacityBytes());
    }
    return null;
  }

  @Test
  void shouldFailAfterCloseAndReleaseMemory() {
    long before = offHeapBytes();
    Tier tier = newTier(CAPACITY, MAX_PAGE);
    for (int i = 0; i < 20; i++) {
      assertTrue(tier.put(TestPages.page(14, i, 1, 3000)));
    }
    long during = offHeapBytes();
    if (persistent()) {
      assertEquals(0, tier.memoryBytes(), "a persistent tier's pages are not in memory");
    } else {
      assertTrue(tier.memoryBytes() >= tier.usedBytes() && tier.usedBytes() > 0,
          "a memory tier holds at least what its pages use: " + tier.memoryBytes());
    }
    tier.close();
    tier.close();
    long after = offHeapBytes();
    assertEquals(0, tier.memoryBytes(), "a closed tier holds no memory");
    assertThrows(IllegalStateException.class, () -> tier.put(TestPages.page(14, 99, 1, 10)));
    assertThrows(IllegalStateException.class, () -> tier.get(14, 1, ByteBuffer.allocate(MAX_PAGE)));
    assertThrows(IllegalStateException.class, () -> tier.delete(14, 1));
    if (before >= 0 && !persistent()) {
      assertTrue(during > before, "the tier should hold off-heap memory while open");
      assertEquals(before, after, "close must free the tier's off-heap memory");
    }
  }

  @Test
  void shouldFreeMemoryOnlyAfterLastPinWhenClosedWhilePinned() {
    assumeTrue(canPin());
    Tier tier = newTier(CAPACITY, MAX_PAGE);
    assertTrue(tier.put(TestPages.page(15, 1, 1, 5000)));
    PinnedPage pin = tier.pin(15, 1);
    tier.close();
    TestPages.check(pin.buffer(), 15, 1);
    pin.close();
    assertThrows(IllegalStateException.class, () -> tier.pin(15, 1));
  }

  @Test
  void shouldKeepPagesAcrossReopen() {
    assumeTrue(persistent());
    Tier tier = newTier(CAPACITY, MAX_PAGE);
    for (int i = 0; i < 10; i++) {
      assertTrue(tier.put(TestPages.page(16, i, 1, 1000 * i)));
    }
    tier.close();
    Tier reopened = reopen(CAPACITY, MAX_PAGE);
    opened.add(reopened);
    for (int i = 0; i < 10; i++) {
      TestPages.check(read(reopened, 16, i), 16, i);
    }
  }

  /** The page as a new heap buffer (position 0, limit its length), or null on a miss. */
  protected static ByteBuffer read(Tier tier, long keyHi, long keyLo) {
    ByteBuffer dst = ByteBuffer.allocate(tier.maxPageBytes());
    int length = tier.get(keyHi, keyLo, dst);
    if (length == Tier.MISS) {
      return null;
    }
    assertEquals(length, dst.position());
    return dst.flip();
  }

  @Test
  void shouldCommitAFilledReservationOrOfferNone() {
    Tier tier = open(CAPACITY, MAX_PAGE);
    ByteBuffer old = TestPages.page(21, 1, 1, 3000);
    assertTrue(tier.put(old));
    ByteBuffer fresh = TestPages.page(21, 1, 2, 5000);
    long r = tier.reserve(21, 1, fresh.remaining());
    if (r == Tier.NO_RESERVATION) {
      assertTrue(tier.kind() == TierKind.SSD || !tier.reservable(),
          "a memory tier with room refuses a reservation only when it offers none");
      return; // the contract allows a tier to offer none (SSD, device memory)
    }
    ByteBuffer view = tier.reservedPage(r);
    assertEquals(0, view.position());
    assertEquals(fresh.remaining(), view.limit());
    view.put(fresh.duplicate());
    ByteBuffer dst = ByteBuffer.allocate(MAX_PAGE);
    assertEquals(1, TestPages.check(read(tier, 21, 1, dst), 21, 1),
        "the old page is served until the commit");
    assertTrue(tier.commit(r));
    assertEquals(2, TestPages.check(read(tier, 21, 1, dst), 21, 1));
    assertEquals(1, tier.pageCount());
    assertThrows(IllegalStateException.class, () -> tier.commit(r), "a reservation ends once");
  }

  @Test
  void shouldFreeAnAbortedReservation() {
    Tier tier = open(CAPACITY, MAX_PAGE);
    long r = tier.reserve(22, 1, MAX_PAGE);
    if (r == Tier.NO_RESERVATION) {
      return;
    }
    tier.reservedPage(r).put(0, (byte) 1);
    tier.abort(r);
    assertEquals(Tier.MISS, tier.length(22, 1), "nothing stored");
    assertEquals(0, tier.pageCount());
    assertThrows(IllegalStateException.class, () -> tier.abort(r));
    // The room is free again: a second reservation and a put both fit.
    long again = tier.reserve(22, 1, MAX_PAGE);
    assertTrue(again != Tier.NO_RESERVATION);
    tier.abort(again);
    assertTrue(tier.put(TestPages.page(22, 1, 1, MAX_PAGE - PageFormat.HEADER_LENGTH)));
  }

  private static ByteBuffer read(Tier tier, long hi, long lo, ByteBuffer dst) {
    dst.clear();
    assertTrue(tier.get(hi, lo, dst) > 0);
    return dst.flip();
  }

  /** A direct buffer freed after the test, so the direct pool measures only the tiers. */
  protected final ByteBuffer direct(int bytes) {
    ByteBuffer buffer = ByteBuffer.allocateDirect(bytes);
    directBuffers.add(buffer);
    return buffer;
  }
}
