package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kvstore.common.PageFormat;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A restart after a crash with a write-ahead log rebuilds the directory of a million SSD pages from
 * RocksDB's location records (the block index the killed process left is discarded), checking
 * each record against the page header at its location. Prints how long the reopen took (the
 * issue's bound is 2 s per million pages); asserts only what was loaded, not the time.
 *
 * <p>Pages are small (256 bytes) so that the million of them take 256 MiB of disk, spread over 64
 * segments; keys are hashed, so RocksDB's key order visits the segments in random order, as
 * block keys do. 15 to 25 s on a busy 2-core machine, most of it writing the pages and records,
 * hence slow.
 */
@Tag("slow")
class SsdDirectoryRebuildScaleTest {

  /**
   * Pages of the store: a million, or {@code -Dkvstore.rebuild.pages} for {@link
   * SsdRebuildRestart} (a multiple of {@link #SEGMENTS}; two sizes give the cost per page apart from
   * the per-process costs).
   */
  private static final int PAGES = Integer.getInteger("kvstore.rebuild.pages", 1_000_000);
  private static final int PAGE = 256;
  private static final int SEGMENTS = 64;
  private static final long NS = 7;

  @TempDir Path dir;

  private static long keyHi(int i) {
    return (i + 1L) * 0x9E3779B97F4A7C15L;
  }

  private static long keyLo(int i) {
    return Long.rotateLeft(keyHi(i), 31) ^ i;
  }

  /** The SSD tier of the test in {@code dir}: 64 segments of 15,625 pages, durability wal. */
  static SsdTierConfig config(Path dir) {
    return SsdTierConfig.builder(dir, (long) PAGES * PAGE + (256L << 20))
        .minPageBytes(PAGE)
        .segmentBytes((long) PAGES / SEGMENTS * PAGE)
        .durability(SsdTierConfig.Durability.WAL)
        .build();
  }

  /**
   * Writes the million pages into their segment files and their location records into RocksDB, as
   * a process killed after writing them leaves the tier (no clean-close marker, no slot table).
   */
  static void writeCrashedStore(Path dir) throws Exception {
    SsdTierConfig config = config(dir);
    new SsdTier(config).close(); // the layout, then as a crash leaves it: no clean-close marker
    Path segDir = dir.resolve(SsdTier.SEGMENTS_DIR);
    Files.delete(segDir.resolve(SsdTier.CLEAN_MARKER));
    Files.deleteIfExists(segDir.resolve(SsdTier.SLOTS_FILE));

    int perSegment = PAGES / SEGMENTS;
    int payload = PAGE - PageFormat.HEADER_LENGTH;
    ByteBuffer buf = ByteBuffer.allocateDirect(perSegment * PAGE);
    SsdTierConfig filling =
        SsdTierConfig.builder(dir, config.capacityBytes())
            .minPageBytes(PAGE)
            .durability(SsdTierConfig.Durability.NONE)
            .build();
    try (LocationStore store = LocationStore.open(dir.resolve(LocationStore.DIR_NAME), filling)) {
      LocationStore.WriteSlot slot = new LocationStore.WriteSlot();
      for (int s = 0; s < SEGMENTS; s++) {
        buf.clear();
        for (int p = 0; p < perSegment; p++) {
          int i = s * perSegment + p;
          int off = p * PAGE;
          for (int b = 0; b < payload; b++) {
            buf.put(off + PageFormat.HEADER_LENGTH + b, (byte) i);
          }
          PageFormat.writeHeader(buf, off, keyHi(i), keyLo(i), 0, 0, NS, 16, payload);
          store.put(slot, keyHi(i), keyLo(i), s, off, PAGE, NS, 0, 0);
        }
        try (FileChannel ch =
            FileChannel.open(
                Segment.pathOf(segDir, s), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
          while (buf.hasRemaining()) {
            ch.write(buf);
          }
        }
      }
    }
  }

  @Test
  void shouldRebuildAMillionPageDirectoryFromTheLocationRecords() throws Exception {
    SsdTierConfig config = config(dir);
    long t0 = System.nanoTime();
    writeCrashedStore(dir);
    long fillMs = (System.nanoTime() - t0) / 1_000_000;

    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long t1 = System.nanoTime();
    long cpu1 = threads.getCurrentThreadCpuTime();
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    long processCpu1 = os.getProcessCpuTime();
    try (SsdTier tier = new SsdTier(config)) {
      long reopenMs = (System.nanoTime() - t1) / 1_000_000;
      // The CPU time of the opening thread (the scan and the checks run on it) says less about the
      // host's other load than the wall time does, on a machine shared with other builds.
      long cpuMs = (threads.getCurrentThreadCpuTime() - cpu1) / 1_000_000;
      // The index inserts run on a thread of their own: the process's CPU time counts both (and
      // the JIT's and GC's threads).
      long processCpuMs = (os.getProcessCpuTime() - processCpu1) / 1_000_000;
      System.out.printf(
          "SSD rebuild: %,d pages and records written in %,d ms; reopen after a crash (directory"
              + " rebuilt from RocksDB) with %,d pages: %,d ms (opening thread CPU %,d ms, process"
              + " CPU %,d ms; load average %.1f)%n",
          PAGES,
          fillMs,
          tier.pageCount(),
          reopenMs,
          cpuMs,
          processCpuMs,
          os.getSystemLoadAverage());
      assertEquals(PAGES, tier.pageCount());
      assertEquals(PAGES, tier.reconcileReport().orphansIndexed());
      assertEquals(0, tier.reconcileReport().invalidRemoved());
      assertEquals((long) PAGES * PAGE, tier.usedBytes());
      ByteBuffer dst = ByteBuffer.allocateDirect(PAGE);
      for (int i : new int[] {0, 12_345, PAGES - 1}) {
        dst.clear();
        assertEquals(PAGE, tier.get(keyHi(i), keyLo(i), dst));
        assertEquals((byte) i, dst.get(PageFormat.HEADER_LENGTH));
        assertEquals(NS, tier.namespaceOf(keyHi(i), keyLo(i)));
      }
      assertEquals(0, tier.reconcileReport().danglingRepaired());
    }
  }
}
