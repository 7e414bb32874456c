package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.index.IndexEntry;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A restart learns a million SSD pages from the directory alone. Prints how long the reopen took
 * (the bound is 2 s per million pages); asserts only what was loaded, not the time.
 */
class SsdDirectoryReopenScaleTest {

  private static final int PAGES = 1_000_000;
  private static final int PAGE = 64 << 10;
  private static final int SLOT = 9;

  @TempDir Path dir;

  @Test
  void shouldReopenAMillionPageDirectoryFromTheIndexAlone() throws Exception {
    SsdTierConfig config =
        SsdTierConfig.builder(dir, (long) PAGES * PAGE).minPageBytes(PAGE).build();
    new SsdTier(config).close(); // creates the layout and a clean-close marker
    // One sparse segment file and a directory entry per page, as a million puts would leave them.
    Path segment = Segment.pathOf(dir.resolve(SsdTier.SEGMENTS_DIR), 0);
    try (RandomAccessFile f = new RandomAccessFile(segment.toFile(), "rw")) {
      f.setLength((long) PAGES * PAGE);
    }
    long t0 = System.nanoTime();
    try (BlockIndex index =
        BlockIndex.open(dir.resolve(SsdTier.INDEX_DIR), SsdTier.indexEntriesFor(config))) {
      IndexEntry prev = new IndexEntry();
      for (int i = 0; i < PAGES; i++) {
        index.putSsd(i, i, PAGE, 7, 0, 0, 0, (long) i * PAGE, SLOT, prev);
      }
    }
    long fillMs = (System.nanoTime() - t0) / 1_000_000;
    // As a clean close leaves it: the segment's slot at that time (not the one an open would pick).
    Files.writeString(dir.resolve(SsdTier.SEGMENTS_DIR).resolve(SsdTier.SLOTS_FILE), "0 " + SLOT + "\n");

    long t1 = System.nanoTime();
    try (SsdTier tier = new SsdTier(config)) {
      long reopenMs = (System.nanoTime() - t1) / 1_000_000;
      System.out.printf(
          "SSD directory: %,d entries written in %,d ms; reopen of the tier with %,d pages: %,d ms%n",
          PAGES, fillMs, tier.pageCount(), reopenMs);
      assertEquals(PAGES, tier.pageCount());
      assertEquals((long) PAGES * PAGE, tier.usedBytes());
      assertEquals(0, tier.reconcileReport().danglingRepaired());
      assertEquals(7, tier.namespaceOf(PAGES - 1, PAGES - 1));
      assertEquals(PAGE, tier.length(12_345, 12_345));
    }
  }
}
