package io.kvstore.core.tier.ssd;

import io.kvstore.common.PageFormat;
import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.index.IndexEntry;
import io.kvstore.core.policy.EvictionPolicy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;
import java.util.stream.Stream;
import org.rocksdb.RocksDBException;

/**
 * Opens an {@link SsdTier} onto what its directory already holds, reading no page after a clean
 * close:
 *
 * <ol>
 *   <li>adopts the segment files;
 *   <li>scans the block index's SSD entries (the directory): an entry whose segment is gone or too
 *       short is dropped ("dangling"); after a crash (no clean-close marker, or the index needed
 *       Chronicle's recovery) each entry is also checked against the page header at its location;
 *   <li>after a crash with a write-ahead log ({@code wal}, {@code sync}), and after a clean close
 *       whose index is gone (deleted, or of an earlier format: {@link BlockIndex#created()}),
 *       rebuilds the directory from RocksDB's location records alone, each checked against the
 *       page header at its location ("orphans": every page is re-indexed; the index the killed
 *       process left is not trusted, see {@link BlockIndex#discardUnclean});
 *   <li>deletes segments without live pages, gives the policy the others in order of their pages'
 *       persisted last access (so the eviction order survives the restart), and evicts whole
 *       segments until the bytes on disk and the page count fit the configuration.
 * </ol>
 *
 * Memory stays bounded by the per-segment key lists: the index is scanned in place, and RocksDB's
 * records are streamed in rounds of a bounded number of records ({@link DirectoryRebuild}).
 */
final class SsdTierLoader {

  /** Test hook: called with the count of index entries checked so far, after each (a kill mid-open). */
  static volatile LongConsumer checkedForTest;

  private final SsdTier tier;

  SsdTierLoader(SsdTier tier) {
    this.tier = tier;
  }

  ReconcileReport load() {
    SsdTierConfig cfg = tier.config();
    BlockIndex index = tier.indexWhileOpening();
    Path segDir = tier.segmentDir();
    Path marker = segDir.resolve(SsdTier.CLEAN_MARKER);
    boolean closedCleanly = Files.exists(marker);
    // An index that opened new (first start, a deleted file, an earlier format) names no page: the
    // location records are the directory then. After a clean close they are complete whatever the
    // durability (closing flushes RocksDB).
    boolean clean = closedCleanly && !index.recovered() && !index.created();
    // After a process crash with a write-ahead log, the index the killed process left, reopened
    // with no lock held and vouched for by its crash journal (SsdTier#openIndex), is its state
    // when it was killed: kept, as after a clean close, once the records of the puts it was
    // between are repaired (below).
    CrashJournal.Previous journal = closedCleanly ? null : CrashJournal.read(tier.journalDir());
    boolean trusted =
        !closedCleanly
            && cfg.durability != SsdTierConfig.Durability.NONE
            && index.reopenedAfterCrash()
            && journal != null
            && journal.trustworthy();
    long deletesFinished = 0;
    // Whatever this open's durability: a store opened with none after a crash of a run with a log
    // keeps the index the killed process left, and its records stay for a later rebuild; a
    // tombstone not applied here would bring the deleted page back in either.
    if (journal != null && journal.sameBoot()) {
      applyTombstones(
          journal.tombstones(), index, trusted, cfg.durability == SsdTierConfig.Durability.NONE);
      deletesFinished = journal.tombstones().length / 2;
    }
    Map<Long, Integer> slotOf =
        clean ? readSlotTable(segDir) : trusted ? journal.slotOf() : Map.of();
    try {
      Files.deleteIfExists(marker);
      Files.deleteIfExists(segDir.resolve(SsdTier.SLOTS_FILE));
      BlockIndex.syncDirectory(segDir);
    } catch (IOException e) {
      throw new SsdStorageException("cannot remove the clean-close marker " + marker, e);
    }
    long[] invalid = new long[1];
    Map<Long, Segment> byId = adoptSegments(segDir, invalid, slotOf);
    long repaired = 0;
    if (trusted) {
      repaired = repairIntents(journal.intents(), byId, index);
      if (repaired < 0) {
        trusted = false; // rebuilt from the records instead, which is always right
        repaired = 0;
        try {
          Files.deleteIfExists(tier.journalDir().resolve(CrashJournal.FILE_NAME));
        } catch (IOException e) {
          throw new SsdStorageException("cannot remove the crash journal in " + tier.journalDir(), e);
        }
      }
    }
    boolean indexKept = trusted;

    ByteBuffer header = ByteBuffer.allocate(PageFormat.HEADER_LENGTH);
    Segment[] last = new Segment[1]; // pages of one segment come in runs: skip the map lookup
    // After a crash with a write-ahead log, RocksDB's location records are the acknowledged state
    // (a put logs its record before its directory entry, a delete removes the entry first): the
    // directory is rebuilt from them alone. An index entry written by the killed process may be
    // torn, or brought back by Chronicle's recovery after it was removed, and would serve an old
    // version or a deleted page; so every SSD entry is dropped here and the records re-index.
    boolean rebuild =
        (!clean && !indexKept && cfg.durability != SsdTierConfig.Durability.NONE)
            || (closedCleanly && index.created());
    // An empty index (it opened new, or was discarded after a crash) has nothing to scan: the
    // scan of an empty 1M-entry map still walks every segment's hash table (~0.1 s, async-profiler).
    LongConsumer checked = checkedForTest;
    long[] checkedCount = new long[1];
    // The damaged records were removed (SsdTier#open): each page kept from the index gets its
    // record again, so that a rebuild after a later crash knows it.
    LocationStore.Batch restore = tier.recordsLost() && !rebuild ? new LocationStore.Batch() : null;
    long[] restored = new long[1];
    long dangling;
    try {
      dangling =
          index.size() == 0
              ? 0
              : index.scanSsd(
                  e -> {
                    if (rebuild) {
                      return BlockIndex.SsdEntryCheck.DROP;
                    }
                    if (checked != null) {
                      checked.accept(++checkedCount[0]);
                    }
                    Segment seg = last[0];
                    if (seg == null || seg.id != e.segmentId()) {
                      seg = byId.get(e.segmentId());
                      last[0] = seg;
                    }
                    if (!plausible(seg, e.segmentOffset(), e.pageLength(), cfg)
                        || (!clean
                            && !indexKept
                            && !headerOk(seg, e.segmentOffset(), e.pageLength(), e.keyHi(), e.keyLo(), header))) {
                      return BlockIndex.SsdEntryCheck.DROP;
                    }
                    tier.addPageWhileOpening(
                        seg, e.keyHi(), e.keyLo(), e.segmentOffset(), e.pageLength(), e.lastAccessMs());
                    if (restore != null) {
                      restoreRecord(restore, e, seg.id, restored);
                    }
                    return seg.slot;
                  });
      if (restore != null && restore.count() > 0) {
        writeRestored(restore, restored);
      }
    } finally {
      if (restore != null) {
        restore.close();
      }
    }

    if (rebuild) {
      dangling = 0; // dropped to be rebuilt, not found dangling
    }
    long orphans = 0;
    if (rebuild) {
      // The scan above dropped every SSD entry: each record is re-indexed or deleted.
      DirectoryRebuild records = new DirectoryRebuild(tier, byId);
      records.run();
      orphans = records.indexed();
      invalid[0] += records.invalid();
    }

    EvictionPolicy policy = tier.policy();
    List<Segment> live = new ArrayList<>();
    for (int slot = 0; slot < tier.slotCount(); slot++) {
      Segment seg = tier.slotWhileOpening(slot);
      if (seg == null) {
        continue;
      }
      if (seg.livePages.get() == 0) {
        tier.drop(tier.takeSlotWhileOpening(slot), false, this);
      } else {
        live.add(seg);
      }
    }
    // Least recently used first: the policy then evicts in the order the pages were last read.
    live.sort(Comparator.comparingLong((Segment s) -> s.lastAccessMs).thenComparingLong(s -> s.id));
    for (Segment seg : live) {
      policy.onInsert(seg.slot, EvictionPolicy.NO_PARENT);
    }
    long evicted = 0;
    while (tier.diskBytesWhileOpening() > cfg.capacityBytes || tier.pageCount() > cfg.maxPages) {
      int v = policy.evict(id -> true);
      if (v < 0) {
        break;
      }
      long before = tier.pageCount();
      tier.drop(tier.takeSlotWhileOpening(v), false, this);
      evicted += before - tier.pageCount();
    }
    ReconcileReport.Source source =
        clean
            ? ReconcileReport.Source.INDEX
            : indexKept
                ? ReconcileReport.Source.INDEX_AFTER_CRASH
                : rebuild ? ReconcileReport.Source.RECORDS : ReconcileReport.Source.INDEX_CHECKED;
    return new ReconcileReport(
        tier.pageCount(), tier.usedBytes(), invalid[0], evicted, orphans, dangling, source,
        repaired, restored[0], deletesFinished);
  }

  /** Records written per RocksDB batch when records are written anew from the index. */
  private static final int RESTORE_BATCH = 4096;

  /** Adds the location record of a page kept from the index; writes a full batch. */
  private void restoreRecord(LocationStore.Batch batch, IndexEntry e, long segmentId, long[] restored) {
    try {
      batch.put(e.keyHi(), e.keyLo(), segmentId, e.segmentOffset(), e.pageLength(), e.namespaceId(),
          e.parentHi(), e.parentLo());
    } catch (RocksDBException ex) {
      throw new SsdStorageException("cannot write the SSD tier's location records anew", ex);
    }
    if (batch.count() >= RESTORE_BATCH) {
      writeRestored(batch, restored);
    }
  }

  private void writeRestored(LocationStore.Batch batch, long[] restored) {
    try {
      tier.locations().write(batch);
    } catch (RocksDBException ex) {
      throw new SsdStorageException("cannot write the SSD tier's location records anew", ex);
    }
    restored[0] += batch.count();
    batch.clear();
  }

  /**
   * Deletes the location records of the pages the killed process had deleted without their
   * record yet (the journal's tombstones, spec/6-ssd-segments.md 6.5 rule 8), before anything
   * reads the records: those deletes were answered. If the index is kept and has an SSD entry for
   * the key (no writer writes a record of a key whose tombstone is pending, so none is expected),
   * the record is rewritten to the entry's place instead, as {@link #repairIntents} does. An open
   * with {@code none} keeps the index without a journal vouching for it ({@code dropEntries}):
   * there an SSD entry of the key is the deleted page brought back by Chronicle's recovery (or a
   * newer page of it, whose record delete failed on the deleter's thread: a miss then, never the
   * old bytes), and is dropped with the record.
   *
   * @throws SsdStorageException if RocksDB refuses a delete (the open fails, and the journal, left
   *     in place, makes the next open try again)
   */
  private void applyTombstones(
      long[] tombstones, BlockIndex index, boolean kept, boolean dropEntries) {
    io.kvstore.core.index.IndexEntry entry = new io.kvstore.core.index.IndexEntry();
    LocationStore.WriteSlot slot = new LocationStore.WriteSlot();
    LocationStore store = tier.locations();
    try {
      for (int i = 0; i + 1 < tombstones.length; i += 2) {
        long hi = tombstones[i];
        long lo = tombstones[i + 1];
        if (kept && index.get(hi, lo, entry) && entry.isIn(io.kvstore.core.tier.TierKind.SSD)) {
          store.put(
              slot, hi, lo, entry.segmentId(), entry.segmentOffset(), entry.pageLength(),
              entry.namespaceId(), entry.parentHi(), entry.parentLo());
        } else {
          if (dropEntries) {
            index.removeSsd(hi, lo, BlockIndex.ANY_SEGMENT, 0, entry);
          }
          org.rocksdb.RocksDBException fault = SsdTier.deleteFaultOfEveryTierForTest;
          if (fault != null) {
            throw fault;
          }
          store.delete(slot, hi, lo);
        }
      }
    } catch (org.rocksdb.RocksDBException e) {
      throw new SsdStorageException(
          "cannot delete the location records of pages deleted before the crash (the crash"
              + " journal keeps them for the next start): " + e,
          e);
    }
  }

  /**
   * Repairs the location records of the runs of pages the killed process was writing ({@link
   * CrashJournal}): walks each run's page headers, and for a page whose index entry does not name
   * it, a record that does is rewritten to the entry's place (the key's earlier page, which the
   * index still serves) or deleted (the key has no SSD page). The put was not answered, so either
   * is what it may leave; what must not stay is a record the index does not know, which a later
   * delete would not remove and a rebuild after a later crash would bring back.
   *
   * @return the records repaired, or -1 if a run cannot be walked (a header that is not a page's:
   *     the directory is then rebuilt from the records)
   */
  private long repairIntents(
      List<CrashJournal.Intent> intents, Map<Long, Segment> byId, BlockIndex index) {
    long repaired = 0;
    ByteBuffer header = ByteBuffer.allocate(PageFormat.HEADER_LENGTH);
    io.kvstore.core.index.IndexEntry entry = new io.kvstore.core.index.IndexEntry();
    LocationStore.WriteSlot slot = new LocationStore.WriteSlot();
    long[] record = new long[2];
    LocationStore store = tier.locations();
    try {
      for (CrashJournal.Intent run : intents) {
        Segment seg = byId.get(run.segmentId());
        if (seg == null) {
          continue; // its file is gone: a rebuild drops whatever record names it
        }
        long end = run.offset() + run.length();
        if (run.offset() < 0 || run.length() <= 0 || end > seg.size) {
          return -1;
        }
        for (long at = run.offset(); at < end; ) {
          header.clear();
          if (!seg.read(header, at, PageFormat.HEADER_LENGTH)
              || PageFormat.verifyHeader(header, 0, (int) Math.min(Integer.MAX_VALUE, end - at))
                  != PageFormat.OK) {
            return -1;
          }
          int len = PageFormat.HEADER_LENGTH + PageFormat.payloadLength(header, 0);
          long hi = PageFormat.keyHi(header, 0);
          long lo = PageFormat.keyLo(header, 0);
          boolean inSsd = index.get(hi, lo, entry) && entry.isIn(io.kvstore.core.tier.TierKind.SSD);
          boolean named = inSsd && entry.segmentId() == seg.id && entry.segmentOffset() == at;
          if (!named
              && store.get(hi, lo, record)
              && record[0] == seg.id
              && record[1] == at) {
            if (inSsd) {
              store.put(
                  slot, hi, lo, entry.segmentId(), entry.segmentOffset(), entry.pageLength(),
                  entry.namespaceId(), entry.parentHi(), entry.parentLo());
            } else {
              store.delete(slot, hi, lo);
            }
            repaired++;
          }
          at += len;
        }
      }
    } catch (IOException | org.rocksdb.RocksDBException e) {
      return -1;
    }
    return repaired;
  }

  /**
   * The slot of each segment at the last clean close ({@link SsdTier#SLOTS_FILE}), or an empty map
   * if the file is missing or unreadable (then entries get their new slots written, slower but
   * the same result).
   */
  private static Map<Long, Integer> readSlotTable(Path segDir) {
    Map<Long, Integer> slotOf = new HashMap<>();
    try {
      for (String line : Files.readAllLines(segDir.resolve(SsdTier.SLOTS_FILE))) {
        int sp = line.indexOf(' ');
        if (sp > 0) {
          slotOf.put(
              Long.parseUnsignedLong(line.substring(0, sp), 16),
              Integer.parseInt(line.substring(sp + 1)));
        }
      }
      return slotOf;
    } catch (IOException | RuntimeException e) {
      return Map.of();
    }
  }

  /**
   * Adopts every segment file, each in its slot of the last clean close where known, then the
   * others newest first; deletes those beyond the slot table.
   */
  private Map<Long, Segment> adoptSegments(Path segDir, long[] invalid, Map<Long, Integer> slotOf) {
    List<Long> ids = new ArrayList<>();
    try (Stream<Path> files = Files.list(segDir)) {
      files.forEach(
          p -> {
            String name = p.getFileName().toString();
            if (name.startsWith(Segment.FREE_PREFIX)) {
              try {
                Files.delete(p); // a dropped segment's file kept for reuse: nothing in it is live
              } catch (IOException e) {
                throw new SsdStorageException("cannot delete " + p + ": " + e, e);
              }
              return;
            }
            long id = Segment.idOf(name);
            if (id >= 0) {
              ids.add(id);
            }
          });
    } catch (IOException e) {
      throw new SsdStorageException("cannot list the SSD tier's segments in " + segDir, e);
    }
    ids.sort(Comparator.reverseOrder()); // newest first, so that a full table drops the oldest
    // Segments with a recorded slot first, so that another cannot take it.
    ids.sort(Comparator.comparing((Long id) -> !slotOf.containsKey(id)));
    Map<Long, Segment> byId = new HashMap<>();
    for (long id : ids) {
      try {
        Segment seg = tier.adoptWhileOpening(id, slotOf.getOrDefault(id, -1));
        if (seg == null) {
          Files.deleteIfExists(Segment.pathOf(segDir, id));
          invalid[0]++;
        } else {
          byId.put(id, seg);
        }
      } catch (IOException e) {
        throw new SsdStorageException("cannot open segment " + Segment.pathOf(segDir, id), e);
      }
    }
    tier.rebuildFreeSlotsWhileOpening();
    return byId;
  }

  private static boolean plausible(Segment seg, long off, int len, SsdTierConfig cfg) {
    return seg != null
        && len >= PageFormat.HEADER_LENGTH
        && len <= cfg.maxPageBytes
        && off >= 0
        && off + len <= seg.size;
  }

  /** Whether the header at the location is a valid header of that key and length. */
  private static boolean headerOk(
      Segment seg, long off, int len, long hi, long lo, ByteBuffer header) {
    header.clear();
    try {
      if (!seg.read(header, off, PageFormat.HEADER_LENGTH)) {
        return false;
      }
    } catch (IOException e) {
      return false;
    }
    return PageFormat.verifyHeader(header, 0, len) == PageFormat.OK
        && PageFormat.payloadLength(header, 0) + PageFormat.HEADER_LENGTH == len
        && PageFormat.keyHi(header, 0) == hi
        && PageFormat.keyLo(header, 0) == lo;
  }
}
