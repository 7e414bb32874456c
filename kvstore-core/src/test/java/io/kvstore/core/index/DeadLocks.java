package io.kvstore.core.index;

import java.nio.file.Path;
import net.openhft.chronicle.core.OS;
import net.openhft.chronicle.hash.impl.BigSegmentHeader;
import net.openhft.chronicle.hash.impl.VanillaChronicleHash;
import net.openhft.chronicle.map.ChronicleMap;

/**
 * Sets the lock words of a block index file's segments as a process killed while holding them
 * leaves them (Chronicle Map spec 3.2: read count in bits 0..29, update flag bit 30, write flag bit
 * 31, wait count in the high 32 bits), through a second mapping of the file.
 */
public final class DeadLocks {

  /** A segment locked for update: an insertion was running when the process died. */
  public static final long UPDATE = 0x4000_0000L;

  private DeadLocks() {}

  /** Sets segment {@code segment}'s lock word, or every segment's with -1. */
  public static void set(Path indexFile, int segment, long state) {
    try (ChronicleMap<IndexKey, IndexRecord> raw = map(indexFile)) {
      var hash = (VanillaChronicleHash<?, ?, ?, ?>) raw;
      for (int i = 0; i < raw.segments(); i++) {
        if (segment < 0 || segment == i) {
          OS.memory().writeLong(hash.segmentHeaderAddress(i), state);
        }
      }
    }
  }

  /** A segment locked for write: a removal or an in-place update was running. */
  public static final long WRITE = 0x8000_0000L;

  /**
   * Adds {@code delta} to segment {@code segment}'s entry count (an insertion cut short between
   * counting its entry and publishing it, or the other way round); returns the count it had.
   */
  public static long skewEntries(Path indexFile, int segment, long delta) {
    try (ChronicleMap<IndexKey, IndexRecord> raw = map(indexFile)) {
      long address = ((VanillaChronicleHash<?, ?, ?, ?>) raw).segmentHeaderAddress(segment);
      long entries = BigSegmentHeader.INSTANCE.entries(address);
      BigSegmentHeader.INSTANCE.entries(address, entries + delta);
      return entries;
    }
  }

  /** Sets the map's count of extra tiers in use (a map that outgrew a segment's first tier). */
  public static void setExtraTiersInUse(Path indexFile, long tiers) {
    try (ChronicleMap<IndexKey, IndexRecord> raw = map(indexFile)) {
      ((VanillaChronicleHash<?, ?, ?, ?>) raw).globalMutableState().setExtraTiersInUse(tiers);
    }
  }

  /** Whether every segment's lock word is 0 (nothing held, nobody waiting). */
  public static boolean allClear(Path indexFile) {
    try (ChronicleMap<IndexKey, IndexRecord> raw = map(indexFile)) {
      var hash = (VanillaChronicleHash<?, ?, ?, ?>) raw;
      for (int i = 0; i < raw.segments(); i++) {
        if (BigSegmentHeader.INSTANCE.getLockState(hash.segmentHeaderAddress(i)) != 0) {
          return false;
        }
      }
      return true;
    }
  }

  private static ChronicleMap<IndexKey, IndexRecord> map(Path indexFile) {
    try {
      return ChronicleMap.of(IndexKey.class, IndexRecord.class)
          .entries(1024) // the file's own header decides
          .createPersistedTo(indexFile.toFile());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
