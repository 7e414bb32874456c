package io.kvstore.core.tier.ssd;

import io.kvstore.common.PageFormat;
import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.index.IndexEntry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.agrona.BufferUtil;
import org.rocksdb.RocksDBException;

/*
 * Implementation notes.
 *
 * A JFR profile of the one-pass rebuild (SsdDirectoryRebuildScaleTest, 1M pages of 256 bytes in 64
 * segments, hashed keys) spent about half of the reopen in the header reads (one 64-byte pread per
 * record, in RocksDB's key order, i.e. at random over the segments, each through a temporary
 * direct buffer), a third in the Chronicle Map inserts and the rest iterating RocksDB. Hence two
 * passes:
 *
 *  1. the RocksDB scan only collects each record into its segment's primitive arrays (no I/O, no
 *     index update), up to RECORDS_PER_ROUND records in all (bounded memory: a larger store takes
 *     several rounds, each checking what the scan collected so far);
 *  2. per segment: the records are sorted by offset, their headers read in large sequential reads
 *     that cover many headers each (those of pages at most MAX_GAP apart; a sparse segment or large
 *     pages get one small read per header, still in file order), and each record that matches the
 *     page header at its location is indexed; the others are deleted.
 *
 * Measured after the change (same test, one thread, JFR): the header reads, their checks and the
 * sort take about a fifth of the reopen; the Chronicle inserts are now most of it (key hashing,
 * writing the entries), then RocksDB's iteration. Inserting the checked records grouped by the
 * map's segment (a counting sort by the key's xxHash, Chronicle's own split) cut the inserts' CPU
 * time by 12 to 15 % in isolation, but reading the records in that order missed the caches as
 * often as it saved, and the scale test could not tell the two apart: not kept. Checking the
 * segments on two threads (the map takes concurrent inserts) was tried and measured 5x slower on
 * the 2-core host shared with other builds (check pass 12.5 s against 2.1 s): when a thread holding
 * one of the map's segment spin locks is descheduled, the other spins on it for its time slice.
 *
 * Every record is still checked against the page header at its location before it is indexed
 * (spec/6-ssd-segments.md 6.5 rule 6); only the order and the batching of the reads changed.
 */

/**
 * Rebuilds the SSD tier's directory from RocksDB's location records while the tier opens (after a
 * crash with a write-ahead log, or when the index opened new): checks each record against the page
 * header at its location, indexes those that match and deletes the others.
 */
final class DirectoryRebuild {

  /**
   * Records collected before they are checked: 52 bytes of heap each (up to half as much again
   * while the arrays grow), about 60 MiB for a full round.
   */
  static final int RECORDS_PER_ROUND = 1 << 20;
  /** Bytes of one sequential header read. */
  static final int CHUNK_BYTES = 1 << 20;
  /**
   * Largest gap between one header's end and the next header that one read spans: up to a kernel
   * page, reading the gap costs less than another system call; beyond it (pages of 4 KiB and more),
   * reading the payloads between headers would read far more than the headers.
   */
  static final int MAX_GAP = 4096;

  /** Test hook: a read fault for a segment, or null. Keyed by segment directory (tests share the JVM). */
  interface ReadFault {
    /** The error reading segment {@code segmentId} in {@code segmentDir} raises, or null. */
    IOException fault(Path segmentDir, long segmentId);
  }

  static volatile ReadFault readFaultForTest;
  /** Test hook: records per round if positive (several rounds on a small store). */
  static volatile int recordsPerRoundForTest;

  private final SsdTier tier;
  private final BlockIndex index;
  private final LocationStore store;
  private final SsdTierConfig cfg;
  /** The adopted segments' ids, sorted; a record's segment is found without boxing its id. */
  private final long[] ids;
  private final Segment[] segments;
  /** Records per segment (same order as {@link #ids}) for the round being collected. */
  private final Records[] collected;
  private int collectedCount;
  /** One header read: many headers of a dense segment (freed when {@link #run} ends). */
  private final ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK_BYTES);
  private final LocationStore.WriteSlot slot = new LocationStore.WriteSlot();
  private final IndexEntry prev = new IndexEntry();
  private long indexed;
  private long invalid;

  DirectoryRebuild(SsdTier tier, Map<Long, Segment> byId) {
    this.tier = tier;
    this.index = tier.indexWhileOpening();
    this.store = tier.locations();
    this.cfg = tier.config();
    this.ids = new long[byId.size()];
    int n = 0;
    for (long id : byId.keySet()) {
      ids[n++] = id;
    }
    Arrays.sort(ids);
    this.segments = new Segment[ids.length];
    for (int i = 0; i < ids.length; i++) {
      segments[i] = byId.get(ids[i]);
    }
    this.collected = new Records[ids.length];
  }

  /** Pages indexed. */
  long indexed() {
    return indexed;
  }

  /** Records deleted: no segment, bytes beyond it, or a header that is not the record's page. */
  long invalid() {
    return invalid;
  }

  /**
   * Streams every location record into the directory.
   *
   * @throws SsdStorageException if RocksDB cannot be read or a stale record cannot be deleted
   */
  void run() {
    try {
      scanAndCheck();
    } finally {
      BufferUtil.free(chunk);
    }
  }

  private void scanAndCheck() {
    int perRound = recordsPerRoundForTest > 0 ? recordsPerRoundForTest : RECORDS_PER_ROUND;
    try {
      store.forEach(
          (hi, lo, segId, off, len, ns, parentHi, parentLo) -> {
            int k = Arrays.binarySearch(ids, segId);
            Segment seg = k >= 0 ? segments[k] : null;
            if (seg == null
                || len < PageFormat.HEADER_LENGTH
                || len > cfg.maxPageBytes
                || off < 0
                || off + len > seg.size) {
              deleteRecord(hi, lo);
              return;
            }
            Records r = collected[k];
            if (r == null) {
              r = collected[k] = new Records(seg);
            }
            r.add(hi, lo, off, len, ns, parentHi, parentLo);
            if (++collectedCount >= perRound) {
              checkCollected();
            }
          });
    } catch (RocksDBException ex) {
      throw new SsdStorageException("cannot read the SSD tier's location records", ex);
    }
    checkCollected();
  }

  /** Pass 2 for the records collected so far, segment by segment. */
  private void checkCollected() {
    List<Records> work = new ArrayList<>();
    for (int k = 0; k < collected.length; k++) {
      if (collected[k] != null) {
        work.add(collected[k]);
        collected[k] = null;
      }
    }
    collectedCount = 0;
    if (work.isEmpty()) {
      return;
    }
    for (int i = 0; i < work.size(); i++) {
      check(work.get(i));
      work.set(i, null); // its arrays go as soon as it is done
    }
  }

  /**
   * Checks one segment's records in offset order against the page headers: indexes those that
   * match, deletes the others.
   */
  private void check(Records r) {
    r.sortByOffset();
    Segment seg = r.seg;
    ReadFault hook = readFaultForTest;
    long chunkStart = 0;
    long chunkEnd = 0; // bytes [chunkStart, chunkEnd) of the segment are in chunk
    boolean chunkOk = false;
    for (int i = 0; i < r.count; i++) {
      long off = r.offs[i];
      int len = r.lens[i];
      long hi = r.keys[2 * i];
      long lo = r.keys[2 * i + 1];
      if (off < chunkStart || off + PageFormat.HEADER_LENGTH > chunkEnd) {
        // One read from this header to the last of those that follow it closely.
        long end = off + PageFormat.HEADER_LENGTH;
        for (int j = i + 1; j < r.count; j++) {
          long next = r.offs[j];
          if (next - end > MAX_GAP || next + PageFormat.HEADER_LENGTH - off > CHUNK_BYTES) {
            break;
          }
          end = Math.max(end, next + PageFormat.HEADER_LENGTH);
        }
        chunkStart = off;
        chunkEnd = end;
        chunk.clear();
        try {
          IOException fault = hook == null ? null : hook.fault(tier.segmentDir(), seg.id);
          if (fault != null) {
            throw fault;
          }
          chunkOk = seg.read(chunk, off, (int) (end - off));
        } catch (IOException e) {
          // A segment that cannot be read: the records of the pages in this range are dropped
          // (a get would fail on them too); the others, and other segments, are not affected.
          chunkOk = false;
        }
      }
      int pos = (int) (off - chunkStart);
      if (!(chunkOk
          && PageFormat.verifyHeader(chunk, pos, len) == PageFormat.OK
          && PageFormat.payloadLength(chunk, pos) + PageFormat.HEADER_LENGTH == len
          && PageFormat.keyHi(chunk, pos) == hi
          && PageFormat.keyLo(chunk, pos) == lo)) {
        deleteRecord(hi, lo);
      } else {
        index.putSsd(
            hi, lo, len, r.meta[3 * i], r.meta[3 * i + 1], r.meta[3 * i + 2], seg.id, off,
            seg.slot, prev);
        tier.addPageWhileOpening(seg, hi, lo, off, len, 0);
        indexed++;
      }
    }
  }

  private void deleteRecord(long hi, long lo) {
    try {
      store.delete(slot, hi, lo);
    } catch (RocksDBException ex) {
      throw new SsdStorageException("cannot remove a stale location record", ex);
    }
    invalid++;
  }

  /** One segment's records of a round, in parallel primitive arrays (no object per record). */
  static final class Records {
    final Segment seg;
    long[] keys = new long[128]; // hi, lo
    long[] offs = new long[64];
    int[] lens = new int[64];
    long[] meta = new long[192]; // namespace, parent hi, parent lo
    int count;

    Records(Segment seg) {
      this.seg = seg;
    }

    void add(long hi, long lo, long off, int len, long ns, long parentHi, long parentLo) {
      if (count == offs.length) {
        int n = count + (count >> 1);
        keys = Arrays.copyOf(keys, 2 * n);
        offs = Arrays.copyOf(offs, n);
        lens = Arrays.copyOf(lens, n);
        meta = Arrays.copyOf(meta, 3 * n);
      }
      keys[2 * count] = hi;
      keys[2 * count + 1] = lo;
      offs[count] = off;
      lens[count] = len;
      meta[3 * count] = ns;
      meta[3 * count + 1] = parentHi;
      meta[3 * count + 2] = parentLo;
      count++;
    }

    /** Sorts the records by offset, in place (quicksort, insertion sort for short runs). */
    void sortByOffset() {
      sort(0, count - 1);
    }

    private void sort(int from, int to) {
      while (to - from > 16) {
        // Median of three: a run already in order (sequential keys written in order) stays fast.
        int mid = (from + to) >>> 1;
        if (offs[mid] < offs[from]) {
          swap(mid, from);
        }
        if (offs[to] < offs[from]) {
          swap(to, from);
        }
        if (offs[to] < offs[mid]) {
          swap(to, mid);
        }
        long pivot = offs[mid];
        int i = from;
        int j = to;
        while (i <= j) {
          while (offs[i] < pivot) {
            i++;
          }
          while (offs[j] > pivot) {
            j--;
          }
          if (i <= j) {
            swap(i++, j--);
          }
        }
        // Recurse into the smaller side, loop on the larger: the stack stays O(log n).
        if (j - from < to - i) {
          sort(from, j);
          from = i;
        } else {
          sort(i, to);
          to = j;
        }
      }
      for (int i = from + 1; i <= to; i++) {
        for (int j = i; j > from && offs[j - 1] > offs[j]; j--) {
          swap(j, j - 1);
        }
      }
    }

    private void swap(int a, int b) {
      long t = offs[a];
      offs[a] = offs[b];
      offs[b] = t;
      int l = lens[a];
      lens[a] = lens[b];
      lens[b] = l;
      for (int k = 0; k < 2; k++) {
        t = keys[2 * a + k];
        keys[2 * a + k] = keys[2 * b + k];
        keys[2 * b + k] = t;
      }
      for (int k = 0; k < 3; k++) {
        t = meta[3 * a + k];
        meta[3 * a + k] = meta[3 * b + k];
        meta[3 * b + k] = t;
      }
    }
  }
}
