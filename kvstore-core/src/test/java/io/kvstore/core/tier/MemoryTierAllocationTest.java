package io.kvstore.core.tier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kvstore.common.PageFormat;
import io.kvstore.core.tier.dram.DramTier;
import io.kvstore.core.tier.hot.HotTier;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import org.agrona.BufferUtil;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The memory tiers make no Java object per page: once warm, a long run of puts (with evictions),
 * gets and deletes of ever new keys allocates (almost) nothing on this thread's heap. Measured with
 * the JVM's per-thread allocation counter, which counts bytes, not time.
 */
class MemoryTierAllocationTest {

  private static final int OPS = 60_000;
  private static final int PAGE = 4096;

  private final ByteBuffer page = ByteBuffer.allocateDirect(PAGE);
  private final ByteBuffer dst = ByteBuffer.allocateDirect(PAGE);

  @AfterEach
  void free() {
    BufferUtil.free(page);
    BufferUtil.free(dst);
  }

  @Test
  void shouldNotAllocatePerOperationInHotTier() {
    try (HotTier tier = HotTier.create(1 << 20, 16 * 1024)) {
      assertSteadyStateAllocatesNothing(tier);
    }
  }

  @Test
  void shouldNotAllocatePerOperationInDramTier() {
    try (DramTier tier = DramTier.builder(1 << 20, 16 * 1024).build()) {
      assertSteadyStateAllocatesNothing(tier);
    }
  }

  private void assertSteadyStateAllocatesNothing(Tier tier) {
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
    ByteBuffer source = TestPages.page(1, 0, 1, PAGE - PageFormat.HEADER_LENGTH);
    page.clear();
    page.put(source).flip();

    long hits = churn(tier, 0);
    long before = threads.getCurrentThreadAllocatedBytes();
    hits += churn(tier, OPS);
    long allocated = threads.getCurrentThreadAllocatedBytes() - before;

    assertTrue(hits > 0);
    assertTrue(tier.pageCount() > 0);
    assertTrue(
        allocated < OPS,
        "expected well under a byte per operation, allocated " + allocated + " bytes in " + OPS
            + " rounds of put/get/delete");
  }

  /** Puts pages under new keys (the header's key is rewritten in place), reads and deletes some. */
  private long churn(Tier tier, long keyBase) {
    long hits = 0;
    for (long i = keyBase; i < keyBase + OPS; i++) {
      PageFormat.putLongLE(page, PageFormat.KEY_LO_OFFSET, i);
      assertTrue(tier.put(page));
      dst.clear();
      if (tier.get(1, i - 7, dst) == PAGE) {
        hits++;
      }
      if (i % 3 == 0) {
        tier.delete(1, i - 5);
      }
    }
    assertEquals(0, page.position());
    return hits;
  }
}
