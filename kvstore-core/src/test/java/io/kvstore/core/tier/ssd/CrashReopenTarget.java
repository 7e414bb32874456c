package io.kvstore.core.tier.ssd;

import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.index.IndexKey;
import io.kvstore.core.index.IndexRecord;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import net.openhft.chronicle.hash.SegmentLock;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.MapSegmentContext;

/**
 * Run in a fresh JVM by {@link SsdCrashReopenTest}: opens the tier in {@code args[0]} ({@code
 * wal}), writes {@link SsdCrashReopenTest#KEYS} pages (every 5th put again as version 2, every 7th
 * deleted), then, by {@code args[1]}:
 *
 * <ul>
 *   <li>{@code idle}: prints {@code READY} and waits to be killed;
 *   <li>{@code in-flight}: puts key 5 again (version 3) and a new key together, and halts the JVM
 *       (as a SIGKILL does) after their location records are written, before their index entries;
 *   <li>{@code lock-held}: takes the write lock of one of the index's segments through a second
 *       mapping of its file, prints {@code READY} and waits to be killed holding it.
 * </ul>
 */
public final class CrashReopenTarget {

  private CrashReopenTarget() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    SsdTier tier = new SsdTier(SsdCrashReopenTest.config(dir));
    SsdCrashReopenTest.writePages(tier);
    switch (args[1]) {
      case "idle" -> ready();
      case "in-flight" -> {
        tier.recordsWrittenHookForTest = () -> Runtime.getRuntime().halt(9);
        ByteBuffer[] pages = {
          Pages.page(5, 5, 0, 0, SsdCrashReopenTest.PAYLOAD, 3),
          Pages.page(SsdCrashReopenTest.NEW_KEY, SsdCrashReopenTest.NEW_KEY, 0, 0,
              SsdCrashReopenTest.PAYLOAD, 1)
        };
        tier.putAll(pages, 2, new boolean[2]);
        System.out.println("NOT HALTED");
      }
      case "lock-held" -> {
        ChronicleMap<IndexKey, IndexRecord> second =
            ChronicleMap.of(IndexKey.class, IndexRecord.class)
                .entries(1024)
                .createPersistedTo(
                    dir.resolve(SsdTier.INDEX_DIR).resolve(BlockIndex.FILE_NAME).toFile());
        MapSegmentContext<IndexKey, IndexRecord, ?> c = second.segmentContext(3);
        ((SegmentLock) c).writeLock().lock();
        ready();
      }
      default -> throw new IllegalArgumentException(args[1]);
    }
  }

  private static void ready() throws InterruptedException {
    System.out.println("READY");
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
