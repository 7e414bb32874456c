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
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import org.agrona.BufferUtil;
import org.rocksdb.RocksDBException;

/*
 * Implementation notes.
 *
 * A JFR profile of the one-pass rebuild (SsdDirectoryRebuildScaleTest, 1M pages of 256 bytes in 64
 * segments, hashed keys) spent about half of the reopen in the header reads (one 64-byte pread per
 * record, in RocksDB's key order, i.e. at random over the segments, each through a temporary
 * direct buffer), a third in the Chronicle Map inserts and the rest iterating RocksDB. Hence the
 * header check per segment:
 *
 *  1. the RocksDB scan collects each record into its segment's primitive arrays (no I/O), up to
 *     RECORDS_PER_ROUND records in all (bounded memory: a larger store takes several rounds, each
 *     checking what the scan collected so far);
 *  2. per segment: the records are sorted by offset, their headers read in large sequential reads
 *     that cover many headers each (those of pages at most MAX_GAP apart; a sparse segment or large
 *     pages get one small read per header, still in file order), and each record that does not
 *     match the page header at its location is deleted.
 *
 * After that the Chronicle inserts were most of the rebuild (async-profiler, 1M pages: about 2/3
 * of the reopen's CPU time, much of it cache misses and first-touch page faults in the new map
 * file), then RocksDB's iteration. They now run on a thread of their own (IndexWriter), fed by the
 * scan in batches of primitive arrays through two bounded queues (a batch is handed over, never
 * shared): the scan, the header reads and the checks overlap the inserts, and only that thread
 * touches the map, so no thread spins on a segment lock another holds (checking the segments on
 * two threads that both inserted was tried: 5x slower on the shared 2-core host, a descheduled
 * lock holder making the other spin for its time slice).
 *
 * To overlap the scan with the inserts, a record is inserted as the scan meets it, before its
 * header is checked; a record whose header then does not match is removed from the index (in the
 * same queue, so after its insert) and deleted from RocksDB before the rebuild returns. Nothing
 * reads the index while the tier opens, so no unchecked entry is ever served; a process killed
 * mid-rebuild leaves the index without its clean-close marker, and the next start (wal, sync)
 * discards it, or (none) checks every entry against its page header (SsdTierLoader). An open that
 * fails mid-rebuild (index full, RocksDB error) has already removed the tier's clean-close marker,
 * so the next open does not trust the index either (wal, sync: every SSD entry dropped and
 * rebuilt; none: every entry checked). Inserting
 * the checked records grouped by the map's segment (a counting sort by the key's xxHash) cut the
 * inserts' CPU time by 12 to 15 % in isolation, but reading the records in that order missed the
 * caches as often as it saved: not kept.
 */

/**
 * Rebuilds the SSD tier's directory from RocksDB's location records while the tier opens (after a
 * crash with a write-ahead log, or when the index opened new): indexes each record, checks it
 * against the page header at its location, and removes (from the index and RocksDB) those that do
 * not match, all before it returns.
 */
final class DirectoryRebuild {

  /**
   * Records collected before they are checked: 28 bytes of heap each (up to half as much again
   * while the arrays grow), about 30 MiB for a full round, and 36 more per record of the segment
   * being sorted ({@link Records#sortByOffset}).
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
  /** Test hook: records per batch handed to the index writer if positive (many batches). */
  static volatile int batchRecordsForTest;
  /** Test hook: if positive, the scan fails (as a RocksDB read error would) after that many records. */
  static volatile int failScanAfterForTest;
  /** Test hook: called with the count of records scanned so far, after each (a kill mid-rebuild). */
  static volatile LongConsumer scannedForTest;

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
   * Streams every location record into the directory; returns once every record is indexed or
   * removed.
   *
   * @throws SsdStorageException if RocksDB cannot be read or a stale record cannot be deleted
   * @throws IllegalStateException if the index is full
   */
  void run() {
    IndexWriter writer = new IndexWriter(index);
    try {
      scanAndCheck(writer);
      writer.finish();
    } finally {
      writer.stop();
      BufferUtil.free(chunk);
    }
  }

  private void scanAndCheck(IndexWriter writer) {
    int perRound = recordsPerRoundForTest > 0 ? recordsPerRoundForTest : RECORDS_PER_ROUND;
    int failAfter = failScanAfterForTest;
    LongConsumer scanned = scannedForTest;
    long[] seen = new long[1];
    try {
      store.forEach(
          (hi, lo, segId, off, len, ns, parentHi, parentLo) -> {
            long n = ++seen[0];
            if (failAfter > 0 && n > failAfter) {
              throw new SsdStorageException("injected: cannot read the SSD tier's location records");
            }
            if (scanned != null) {
              scanned.accept(n);
            }
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
            writer.put(hi, lo, len, ns, parentHi, parentLo, seg.id, off, seg.slot);
            Records r = collected[k];
            if (r == null) {
              r = collected[k] = new Records(seg);
            }
            r.add(hi, lo, off, len);
            if (++collectedCount >= perRound) {
              checkCollected(writer);
            }
          });
    } catch (RocksDBException ex) {
      SsdStorageException corrupt = LocationStore.corruption(store.dir(), ex);
      throw corrupt != null
          ? corrupt
          : new SsdStorageException("cannot read the SSD tier's location records", ex);
    }
    checkCollected(writer);
  }

  /** The header checks for the records collected so far, segment by segment. */
  private void checkCollected(IndexWriter writer) {
    List<Records> work = new ArrayList<>();
    for (int k = 0; k < collected.length; k++) {
      if (collected[k] != null) {
        work.add(collected[k]);
        collected[k] = null;
      }
    }
    collectedCount = 0;
    for (int i = 0; i < work.size(); i++) {
      check(work.get(i), writer);
      work.set(i, null); // its arrays go as soon as it is done
    }
  }

  /**
   * Checks one segment's records in offset order against the page headers: counts those that
   * match as the segment's pages, removes the others from the index and RocksDB.
   */
  private void check(Records r, IndexWriter writer) {
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
        // Indexed when the scan met it: removed after that insert (same queue), before run ends.
        writer.remove(hi, lo, seg.id, off);
        deleteRecord(hi, lo);
      } else {
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

  /**
   * The thread that writes the rebuilt directory into the index, and the queues that feed it:
   * batches of records in primitive arrays go from the scan to the thread through {@code full} and
   * come back empty through {@code free}; a batch belongs to one side at a time. The thread is the
   * only one to touch the index during the rebuild, and does so in the order the scan gave.
   */
  static final class IndexWriter {
    /**
     * Records per batch: 2 MiB a batch. Each hand-over may wake the other thread, and on a loaded
     * 2-core host a wake-up costs the waker up to a time slice (async-profiler, wall clock: with
     * 4,096-record batches 0.3 s of a 1M-page rebuild went to the writer's unpark of the scan).
     */
    static final int BATCH = 32_768;
    /** Batches in all: the scan runs at most this far ahead of the inserts. */
    static final int BATCHES = 4;

    private final BlockIndex index;
    private final ArrayBlockingQueue<Batch> free = new ArrayBlockingQueue<>(BATCHES);
    /** Room for every batch and the end marker, so handing one over never blocks. */
    private final ArrayBlockingQueue<Batch> full = new ArrayBlockingQueue<>(BATCHES + 1);
    private final Batch end = new Batch(0);
    private final Thread thread;
    /** What stopped the thread, if it failed. */
    private volatile Throwable failure;
    /** Set to make the thread stop after its current batch (the rebuild failed). */
    private volatile boolean stopping;
    private Batch current;

    IndexWriter(BlockIndex index) {
      this.index = index;
      int records = batchRecordsForTest > 0 ? batchRecordsForTest : BATCH;
      for (int i = 0; i < BATCHES; i++) {
        free.add(new Batch(records));
      }
      thread = new Thread(this::drain, "kvstore-ssd-directory-rebuild");
      thread.setDaemon(true);
      thread.start();
    }

    /** Queues an insert (as {@link BlockIndex#putSsd}). */
    void put(
        long hi,
        long lo,
        int len,
        long ns,
        long parentHi,
        long parentLo,
        long segId,
        long off,
        int segSlot) {
      Batch b = batch();
      int n = b.count;
      b.keys[2 * n] = hi;
      b.keys[2 * n + 1] = lo;
      b.longs[Batch.LONGS * n] = segId;
      b.longs[Batch.LONGS * n + 1] = off;
      b.longs[Batch.LONGS * n + 2] = ns;
      b.longs[Batch.LONGS * n + 3] = parentHi;
      b.longs[Batch.LONGS * n + 4] = parentLo;
      b.lens[n] = len;
      b.slots[n] = segSlot;
      b.count = n + 1;
      if (b.count == b.capacity) {
        handOver();
      }
    }

    /** Queues the removal of the SSD location {@code (segId, off)} of the key (after its insert). */
    void remove(long hi, long lo, long segId, long off) {
      put(hi, lo, Batch.REMOVE, 0, 0, 0, segId, off, 0);
    }

    /** The batch being filled, taking a free one if needed. */
    private Batch batch() {
      Batch b = current;
      if (b != null) {
        return b;
      }
      try {
        while ((b = free.poll(50, TimeUnit.MILLISECONDS)) == null) {
          checkAlive();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new SsdStorageException("interrupted while rebuilding the SSD directory");
      }
      checkAlive();
      current = b;
      return b;
    }

    private void checkAlive() {
      Throwable t = failure;
      if (t != null) {
        throw rethrow(t);
      }
      if (!thread.isAlive()) {
        throw new IllegalStateException("the directory rebuild's index writer ended early");
      }
    }

    private void handOver() {
      full.add(current); // never full: there are only BATCHES batches and the end marker
      current = null;
    }

    /**
     * Hands over the last batch and waits until every queued record is in the index.
     *
     * @throws RuntimeException what the writer thread failed with (e.g. the index is full)
     */
    void finish() {
      if (current != null && current.count > 0) {
        handOver();
      }
      full.add(end);
      boolean interrupted = false;
      while (thread.isAlive()) {
        try {
          thread.join();
        } catch (InterruptedException e) {
          interrupted = true; // the rebuild must not return while the thread writes the index
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
      Throwable t = failure;
      if (t != null) {
        throw rethrow(t);
      }
    }

    /** Stops the thread after its current batch and waits for it (no-op once finished). */
    void stop() {
      if (!thread.isAlive()) {
        return;
      }
      stopping = true;
      full.offer(end);
      boolean interrupted = false;
      while (thread.isAlive()) {
        try {
          thread.join();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }

    private static RuntimeException rethrow(Throwable t) {
      if (t instanceof Error e) {
        throw e;
      }
      return t instanceof RuntimeException re
          ? re
          : new IllegalStateException("the directory rebuild's index writer failed: " + t, t);
    }

    private void drain() {
      IndexEntry scratch = new IndexEntry();
      try {
        for (Batch b = full.take(); b != end && !stopping; b = full.take()) {
          for (int i = 0; i < b.count; i++) {
            long hi = b.keys[2 * i];
            long lo = b.keys[2 * i + 1];
            int o = Batch.LONGS * i;
            if (b.lens[i] == Batch.REMOVE) {
              index.removeSsd(hi, lo, b.longs[o], b.longs[o + 1], scratch);
            } else {
              index.putSsd(
                  hi, lo, b.lens[i], b.longs[o + 2], b.longs[o + 3], b.longs[o + 4], b.longs[o],
                  b.longs[o + 1], b.slots[i], scratch);
            }
          }
          b.count = 0;
          free.add(b);
        }
      } catch (InterruptedException e) {
        failure = new IllegalStateException("the directory rebuild's index writer was interrupted");
      } catch (Throwable t) {
        failure = t;
      }
    }
  }

  /** Records handed to the index writer, in parallel primitive arrays (no object per record). */
  static final class Batch {
    /** Page length that marks a removal. */
    static final int REMOVE = -1;
    /** Longs per record besides its key: segment id, offset, namespace, parent hi, parent lo. */
    static final int LONGS = 5;

    final int capacity;
    final long[] keys;
    final long[] longs;
    final int[] lens;
    final int[] slots;
    int count;

    Batch(int capacity) {
      this.capacity = capacity;
      this.keys = new long[2 * capacity];
      this.longs = new long[LONGS * capacity];
      this.lens = new int[capacity];
      this.slots = new int[capacity];
    }
  }

  /** One segment's records of a round, in parallel primitive arrays (no object per record). */
  static final class Records {
    /** Bits of the offset per radix pass of {@link #sortByOffset}: 2,048 counters. */
    static final int RADIX_BITS = 11;

    final Segment seg;
    long[] keys = new long[128]; // hi, lo
    long[] offs = new long[64];
    int[] lens = new int[64];
    int count;

    Records(Segment seg) {
      this.seg = seg;
    }

    void add(long hi, long lo, long off, int len) {
      if (count == offs.length) {
        int n = count + (count >> 1);
        keys = Arrays.copyOf(keys, 2 * n);
        offs = Arrays.copyOf(offs, n);
        lens = Arrays.copyOf(lens, n);
      }
      keys[2 * count] = hi;
      keys[2 * count + 1] = lo;
      offs[count] = off;
      lens[count] = len;
      count++;
    }

    /**
     * Sorts the records by offset: a least-significant-digit radix sort of (offset, index) packed
     * into one long, {@link #RADIX_BITS} bits of the offset per pass (three passes for a 64 MiB
     * segment), then one pass moving the records into that order. A quicksort did the same in
     * place, but its three inner loops were compiled by C2 one by one as each got hot (five
     * compilations, about 0.5 s of compiler time in a daemon's crash restart with a million pages,
     * on two vCPUs the restart was already using); these loops are few and tiny. Costs 36 bytes of
     * heap per record while it runs.
     *
     * <p>An offset too large to pack beside the index (at or beyond 2^(63 - index bits), far past
     * any segment) leaves the records in scan order: {@link #check} is correct in any order, it
     * only reads each header on its own when the next is not just after it.
     */
    void sortByOffset() {
      int n = count;
      if (n < 2) {
        return;
      }
      int indexBits = 32 - Integer.numberOfLeadingZeros(n - 1);
      long maxOff = 0;
      for (int i = 0; i < n; i++) {
        maxOff = Math.max(maxOff, offs[i]); // never negative: the scan drops such records
      }
      int offBits = 64 - Long.numberOfLeadingZeros(maxOff);
      if (offBits + indexBits > 63) {
        return;
      }
      long[] a = new long[n];
      for (int i = 0; i < n; i++) {
        a[i] = offs[i] << indexBits | i;
      }
      long[] b = new long[n];
      int[] counts = new int[1 << RADIX_BITS];
      for (int shift = indexBits; shift < indexBits + offBits; shift += RADIX_BITS) {
        radixPass(a, b, n, shift, counts);
        long[] t = a;
        a = b;
        b = t;
      }
      long indexMask = (1L << indexBits) - 1;
      long[] sortedKeys = new long[2 * n];
      long[] sortedOffs = b; // the scratch array, free now
      int[] sortedLens = new int[n];
      for (int i = 0; i < n; i++) {
        int from = (int) (a[i] & indexMask);
        sortedOffs[i] = offs[from];
        sortedLens[i] = lens[from];
        sortedKeys[2 * i] = keys[2 * from];
        sortedKeys[2 * i + 1] = keys[2 * from + 1];
      }
      keys = sortedKeys;
      offs = sortedOffs;
      lens = sortedLens;
    }

    /** One stable counting pass: {@code src[0, n)} into {@code dst} by the digit at {@code shift}. */
    private static void radixPass(long[] src, long[] dst, int n, int shift, int[] counts) {
      Arrays.fill(counts, 0);
      int mask = counts.length - 1;
      for (int i = 0; i < n; i++) {
        counts[(int) (src[i] >>> shift) & mask]++;
      }
      for (int d = 0, sum = 0; d < counts.length; d++) {
        int c = counts[d];
        counts[d] = sum;
        sum += c;
      }
      for (int i = 0; i < n; i++) {
        long v = src[i];
        dst[counts[(int) (v >>> shift) & mask]++] = v;
      }
    }
  }
}
