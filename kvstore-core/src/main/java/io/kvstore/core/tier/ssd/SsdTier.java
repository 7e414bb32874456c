package io.kvstore.core.tier.ssd;

import io.kvstore.common.PageFormat;
import io.kvstore.common.SyncedFiles;
import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.index.IndexEntry;
import io.kvstore.core.policy.EvictionPolicy;
import io.kvstore.core.tier.EvictionListener;
import io.kvstore.core.tier.PinnedPage;
import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.TierKind;
import io.kvstore.core.tier.TierWriteException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.zip.CRC32C;
import org.rocksdb.RocksDBException;

/**
 * The SSD tier: pages appended to segment files, their locations in the block index (the one page
 * directory, a persisted Chronicle Map) and in RocksDB, every page verified on read. The on-disk
 * layout is {@code spec/6-ssd-segments.md}.
 *
 * <p><b>Writes</b> (WiscKey/Titan's split of values and locations): a put reserves {@code [offset,
 * offset + length)} in the active segment under the short allocation lock, then, with no tier lock
 * held, writes the page with one positional {@code FileChannel.write} of the caller's buffer; then,
 * under the key's stripe lock, writes the location record to RocksDB and the entry to the block
 * index. Several writers append to one segment in parallel. {@link #putAll} writes consecutive
 * pages bound for one segment together: one reservation, one gathering write, one RocksDB write
 * batch of their records (one log append), then their index entries. A put that fails changes nothing: its
 * reservation is given back (or left as garbage if another page follows it) and no record names it.
 *
 * <p><b>Reads</b> look the key up in the block index (no I/O), read the page with one positional
 * read into the caller's buffer, and verify it ({@link PageFormat#verify}, CRC32C with the JDK's
 * intrinsic, and the key). A page that fails is a miss, is removed, and counts in {@link
 * #corruptions()}. RocksDB is not on the read path.
 *
 * <p><b>Space and eviction.</b> The segment is the unit of eviction, as regions are in CacheLib's
 * navy block cache: the {@link EvictionPolicy} ranks segments (an access to a page is an access to
 * its segment), and making room drops the victim segment whole: its live pages are removed from the
 * index and RocksDB (handed to the eviction listener first) and its file is deleted. There is no
 * garbage collection that rewrites pages: replaced and deleted pages stay as garbage in their
 * segment until it is dropped, and a segment left with no live page is deleted at once. Bytes on
 * disk (all segment files, garbage included, plus RocksDB's SST and log files, from its own
 * properties) never exceed {@link #capacityBytes()}; {@link #usedBytes()} counts live pages only. With
 * pages larger than the segment size (small tiers, or {@code segmentBytes} set small) each segment
 * holds one page and the policy ranks pages exactly.
 *
 * <p><b>Directory and restart.</b> The block index holds, per SSD page, its namespace, length,
 * segment, offset and last access, written when the page lands. Opening reads the index (not the
 * pages, not RocksDB) and rebuilds the segments' live counts and the policy's order from the
 * persisted last access, so the eviction order survives a restart. After a crash (no clean-close
 * marker) every index entry is checked against the page header at its location, and with a
 * write-ahead log ({@code wal}, {@code sync}) RocksDB's records re-index pages the index lost; see
 * {@link #reconcileReport()}.
 *
 * <p><b>Failures.</b> A put that would leave less than {@link SsdTierConfig#freeSpaceReserveBytes()}
 * free on the file system, or whose write fails, throws {@link SsdStorageException} (NO_SPACE or
 * IO_ERROR) and changes nothing; the reserve keeps RocksDB able to flush. {@link #delete} always
 * works: it removes the index entry and frees the space (a segment with no live page is deleted);
 * if RocksDB cannot log the delete, the delete is retried by {@link #resumeWrites()} and on close.
 *
 * <p><b>Concurrency.</b> The allocation lock guards segment choice, disk bytes and the policy; no
 * I/O runs under it except creating a segment file. Writes of one key are ordered by one of {@value
 * #STRIPES} stripe locks, held across the RocksDB and index writes but not the page write (a
 * write of several pages, and the drop of a segment, take the stripes they need in ascending
 * order; no other path holds two). Dropping
 * a segment waits for the I/O in flight on it. {@link #close()} waits for operations in flight. The
 * eviction listener is called under the victim's stripe lock and must not call back into this tier.
 */
public final class SsdTier implements Tier {

  private static final System.Logger LOG = System.getLogger(SsdTier.class.getName());

  static final int STRIPES = 64;
  /** Returned by {@link #namespaceOf} when the tier does not hold the page. */
  public static final long NO_NAMESPACE = Long.MIN_VALUE;
  /** Sub-directory of the segment files. */
  static final String SEGMENTS_DIR = "segments";
  /** Sub-directory of the block index when the tier opens its own. */
  static final String INDEX_DIR = "directory";
  /** A file of zeros kept beside the segments, given back to the file system on open. */
  static final String BALLAST = "ballast";
  /** A file written, forced and removed to prove the disk takes writes ({@link #probeWrite}). */
  static final String PROBE = "write-probe";
  /** Size of the ballast (at most the free-space reserve). */
  static final long BALLAST_BYTES = 4L << 20;
  /** Bytes a tier fitted to its file system leaves beyond its reserve: see {@link #fitToTheDisk}. */
  static final long FIT_MARGIN_BYTES = 4L << 20;
  /** And per file it may hold (segments and RocksDB's): a file system block of rounding each. */
  static final long FIT_MARGIN_PER_FILE_BYTES = 4L << 10;
  /** Present in the segments directory while the tier is closed cleanly. */
  static final String CLEAN_MARKER = "clean";
  /** The crash journal's file name (spec/6.7), for tools that look at a store's files. */
  public static final String CRASH_JOURNAL_FILE = CrashJournal.FILE_NAME;
  /**
   * Written beside the clean marker on a clean close: each segment's slot ({@code <id hex> <slot>}
   * per line), so that the next open puts every segment back in its slot and the directory's
   * entries, which name their segment's slot, need no rewrite (a million of them cost seconds).
   */
  static final String SLOTS_FILE = "slots";

  private final SsdTierConfig config;
  private final Path segmentDir;
  /** Directory of the crash journal: the segment directory, or the one the index runs from. */
  private final Path journalDir;
  private final Path ballast;
  private final Path probeFile;
  /** The segments' file system, looked up once (each lookup parses the mount table). */
  private final FileStore fileStore;
  private final BlockIndex index;
  private final boolean ownsIndex;
  private final EvictionPolicy policy;
  private final ReentrantLock alloc = new ReentrantLock();
  private final AtomicReferenceArray<Segment> slots;
  private final int[] freeSlots;
  private int freeTop;
  /** While opening: no slot below it is free (see {@link #adoptWhileOpening}). */
  private int openCursor;
  private Segment active;
  /**
   * The next segment, its file already created (or a kept file renamed to it) and its slot taken,
   * not yet in the table: a roll installs it under {@link #alloc} without touching the file system.
   * The file operation runs outside the lock ({@link #prepareNext}), so that on a stalled disk a
   * delete, a finished write or a drop that needs the lock does not wait for it. Under {@link
   * #alloc}.
   */
  private Segment next;
  /** Whether a thread is preparing {@link #next} (outside the lock); under {@link #alloc}. */
  private boolean preparing;
  /** Signalled under {@link #alloc} when a preparation ends (with {@link #next} or a failure). */
  private final Condition nextReady = alloc.newCondition();
  /**
   * Segment files' bytes on disk. Changed only under {@link #alloc}; volatile so that {@link
   * #diskBytes()} (metrics, STATS) reads it without waiting for that lock.
   */
  private volatile long diskBytes;
  /**
   * The bound on {@link #diskBytes()}: {@code capacityBytes} as configured, or less when the tier
   * fitted itself to a smaller file system at open ({@link SsdTierConfig.Builder#fitToDisk}).
   * Written once, at the end of the open.
   */
  private volatile long capacity;
  /**
   * Bytes after which a segment is sealed: as configured, or, when derived from the capacity, from
   * the fitted capacity (a 64th of it), so a fitted tier evicts in as small a share as any other.
   */
  private volatile long segmentBytes;
  /** Bytes and pages of segments taken for dropping whose files are not deleted yet. */
  private long bytesGoing;
  private long pagesGoing;
  private final Condition dropsDone = alloc.newCondition();
  /** Files of evicted segments kept for reuse (counted in {@link #diskBytes}); under {@link #alloc}. */
  private final ArrayDeque<Segment> spareFiles = new ArrayDeque<>();
  private static final int FREE_FILES = 2;
  /**
   * Segments started in a kept file (overwritten) and in a new one: written under {@link #alloc},
   * read without it (stats scrapes).
   */
  private volatile long segmentFilesReused;
  private volatile long segmentFilesCreated;
  private long nextSegmentId;
  private volatile long rocksBytes;
  /**
   * The file system's usable bytes as last read (at open, and by each put's free-space check), or
   * -1 if never read: {@link #diskRoomBytes()} reads no file system.
   */
  private volatile long lastUsableSpace = -1;
  /** RocksDB's memory as last sampled with {@link #rocksBytes} ({@link #rocksMemoryBytes()}). */
  private volatile long rocksMemory;
  /** When {@link #rocksBytes} was last sampled ({@link System#nanoTime}); one thread samples. */
  private final AtomicLong rocksBytesAtNs = new AtomicLong(System.nanoTime());
  private static final long ROCKS_BYTES_REFRESH_NS = 100_000_000L;
  /** Test hook: the sampling interval of RocksDB's bytes in ns if non-negative (0: every put). */
  static volatile long rocksBytesRefreshNsForTest = -1;
  private final ReentrantLock[] stripes = new ReentrantLock[STRIPES];
  private final LocationStore.WriteSlot[] writeSlots = new LocationStore.WriteSlot[STRIPES];
  private volatile LocationStore locations;
  private final ReentrantReadWriteLock locationsSwap = new ReentrantReadWriteLock();
  private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
  private final ThreadLocal<IndexEntry[]> entries =
      ThreadLocal.withInitial(() -> new IndexEntry[] {new IndexEntry(), new IndexEntry()});
  private final AtomicLong usedBytes = new AtomicLong();
  private final AtomicLong pageCount = new AtomicLong();
  private final LongAdder hits = new LongAdder();
  private final LongAdder misses = new LongAdder();
  private final LongAdder evictions = new LongAdder();
  private final LongAdder corruptions = new LongAdder();
  private final LongAdder writeFailures = new LongAdder();
  private final LongAdder locationStoreReopens = new LongAdder();
  /** Test hook: when set, every page write fails with it (after the reservation, as a disk would). */
  volatile IOException writeFaultForTest;
  /** Test hook: runs after a run's reservation, before its write (to hold a run in flight). */
  volatile Runnable beforeWriteHookForTest;
  /** Test hook: run before a segment's file is made (outside the allocation lock: a stalled disk). */
  volatile Runnable beforeSegmentFileForTest;
  /**
   * Test hook: when 0 or more, every write (of one page, or of several together) writes at most
   * this many bytes and then fails with an I/O error, as a write cut short by the disk would.
   */
  volatile long partialWriteFaultForTest = -1;
  /** Test hook: when set, every write of location records fails with it (after the page bytes). */
  volatile RocksDBException recordFaultForTest;
  /** Test hook: this many probes of RocksDB report it stopped, as after a background error. */
  volatile int probeFailuresForTest;
  /** Test hook: run by {@link #resumeWrites} between closing a stopped RocksDB and reopening it. */
  volatile Runnable beforeReopenForTest;
  /** Whether the last reopen of RocksDB failed (under the swap lock's write side). */
  private boolean reopenFailing;
  /** Test hook: when set, RocksDB "refuses" every location-record delete with it. */
  volatile RocksDBException deleteFaultForTest;
  /** Test hook: as {@link #deleteFaultForTest}, for every tier, from its open on. */
  static volatile RocksDBException deleteFaultOfEveryTierForTest;
  /** Test hook: called by a segment drop holding stripe {@code s}, after its index removals. */
  volatile java.util.function.IntConsumer dropStripeHookForTest;
  private final PendingDeletes pendingDeletes = new PendingDeletes();
  /** The buffers of {@link #deleteLocationOrKeep} (its drain runs one at a time). */
  private final LocationStore.WriteSlot retrySlot = new LocationStore.WriteSlot();
  /** The buffers of the {@link #deleter}'s thread. */
  private final LocationStore.WriteSlot deleterSlot = new LocationStore.WriteSlot();
  /**
   * A delete waits for its location record's delete unless the deleter has been busy with one
   * delete for longer than this (a frozen or stalled disk); then it answers anyway, its tombstone
   * making the record's delete certain (spec/6-ssd-segments.md 6.5 rule 8).
   */
  static final long DELETE_STUCK_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
  /**
   * Deletes location records off the caller's thread (with {@code wal}, once the crash journal is
   * made; null otherwise: a delete then deletes its record itself).
   */
  private volatile RecordDeleter deleter;
  /** Test hook: run on the deleter's thread before each location-record delete it makes. */
  volatile Runnable beforeDeferredDeleteForTest;
  /** One reusable checksum per reading thread. */
  private final ThreadLocal<CRC32C> crcs = ThreadLocal.withInitial(CRC32C::new);
  /**
   * Pages larger than this are read and verified chunk by chunk (L2-cache sized: a chunk is still
   * in cache when its CRC is computed). 1 MiB since 2026-12-05: on an AMD EPYC host (1 MiB of L2
   * per core) 256 KiB chunks cost a 2 MiB get 8% against 1 MiB ones (6,122 against 6,806 gets a
   * second; 512 KiB: 6,565), the extra system calls outweighing the cache; bench/README.md.
   */
  static final int VERIFY_CHUNK = 1 << 20;
  private final ThreadLocal<PutScratch> putScratch = ThreadLocal.withInitial(PutScratch::new);
  private final EvictionHandOver handOver;
  private final ReconcileReport reconcileReport;
  /**
   * Whether this open follows the removal of damaged location records ({@link #open}): the
   * loader then writes a record for each page it keeps from the index.
   */
  private final boolean recordsLost;

  /** This run's crash journal (null while opening, or if it could not be made). */
  private volatile CrashJournal journal;
  /** Test hook: run after a write's location records, before its index entries. */
  volatile Runnable recordsWrittenHookForTest;
  private volatile EvictionListener listener = EvictionListener.DROP;
  private boolean closed;

  /** Opens the tier with its own block index in {@code dataDir/directory}. */
  public SsdTier(SsdTierConfig config) {
    this(config, null);
  }

  /**
   * Opens (creating if needed) the tier in {@code config.dataDir()}. Its page directory is {@code
   * index} (owned by the caller, not closed by this tier), or, if null, a block index the tier opens
   * in {@code dataDir/directory} and closes itself.
   *
   * @throws SsdStorageException if the data directory is unusable (not writable, locked by another
   *     process) or RocksDB fails
   * @throws IllegalArgumentException if {@code index} is sized for fewer entries than {@code
   *     config.maxPages()}
   * @throws UncheckedIOException if the tier's own index cannot be opened (e.g. not enough free
   *     space for it: the message says how much it needs)
   */
  public SsdTier(SsdTierConfig config, BlockIndex index) {
    this(config, index, false);
  }

  /**
   * Opens the tier as {@link #SsdTier(SsdTierConfig, BlockIndex)} does, and when RocksDB finds the
   * location records damaged on disk (a manifest or block whose checksum does not match) and
   * {@link SsdTierConfig#discardCorruptRecords()} is set, deletes them (one WARN line) and opens
   * again: the pages a trustworthy block index knows (after a clean close, or a process crash
   * whose index was kept) get new records written from their index entries; otherwise the
   * directory is rebuilt from no records, so the tier starts empty and drops its segment files.
   *
   * @throws SsdStorageException as the constructor, or if the damaged records cannot be removed
   */
  public static SsdTier open(SsdTierConfig config, BlockIndex index) {
    try {
      return new SsdTier(config, index, false);
    } catch (SsdStorageException e) {
      if (!e.corruptRecords() || !config.discardCorruptRecords) {
        throw e;
      }
      Path rocks = config.dataDir.toAbsolutePath().resolve(LocationStore.DIR_NAME);
      LOG.log(
          System.Logger.Level.WARNING,
          "the SSD tier''s location records in {0} are corrupt ({1}): discarding them"
              + " (ssd.corrupt.records = discard); the pages a trustworthy block index knows get"
              + " new records, the others are lost",
          rocks,
          e.getCause() != null ? e.getCause().getMessage() : e.getMessage());
      try {
        RocksLibrary.deleteTree(rocks);
      } catch (IOException io) {
        SsdStorageException failure =
            new SsdStorageException(
                "cannot remove the corrupt location records in " + rocks + ": " + io, io);
        failure.addSuppressed(e);
        throw failure;
      }
      return new SsdTier(config, index, true);
    }
  }

  private SsdTier(SsdTierConfig config, BlockIndex index, boolean recordsLost) {
    this.config = config;
    this.capacity = config.capacityBytes;
    this.segmentBytes = config.segmentBytes;
    this.recordsLost = recordsLost;
    Path dir = config.dataDir.toAbsolutePath();
    this.segmentDir = dir.resolve(SEGMENTS_DIR);
    this.journalDir =
        config.journalDir == null ? segmentDir : config.journalDir.toAbsolutePath().normalize();
    this.ballast = dir.resolve(BALLAST);
    this.probeFile = dir.resolve(PROBE);
    if (index == null) {
      // A tier opened alone, first of all (a store claims it before it places its index).
      claimDurability(dir, config.durability);
    }
    // RocksDB writes a new manifest when it opens: on a file system that others filled up, the
    // ballast left by the last run is the room it needs.
    try {
      Files.deleteIfExists(probeFile); // a crash during a probe leaves it
      Files.deleteIfExists(ballast);
    } catch (IOException e) {
      throw new SsdStorageException("cannot remove " + ballast + ": " + e, e);
    }
    LocationStore store = LocationStore.open(dir.resolve(LocationStore.DIR_NAME), config);
    this.locations = store;
    BlockIndex idx = index;
    boolean owns = false;
    try {
      Files.createDirectories(segmentDir);
      if (idx == null) {
        idx =
            openIndex(
                dir, dir.resolve(INDEX_DIR), journalDir, indexEntriesFor(config), config.durability);
        owns = true;
      } else if (idx.maxEntries() < config.maxPages) {
        throw new IllegalArgumentException(
            "the block index is sized for "
                + idx.maxEntries()
                + " entries, the SSD tier may hold "
                + config.maxPages
                + " pages (capacity / minPageBytes): open it with at least that many");
      }
    } catch (IOException | RuntimeException e) {
      store.close();
      if (e instanceof IOException io) {
        throw new SsdStorageException(
            "cannot create the SSD tier's segment directory " + segmentDir + ": " + io, io);
      }
      throw (RuntimeException) e;
    }
    this.index = idx;
    this.ownsIndex = owns;
    try {
      this.fileStore = Files.getFileStore(segmentDir);
    } catch (IOException e) {
      store.close();
      if (owns) {
        idx.close();
      }
      throw new SsdStorageException("cannot find the file system of " + segmentDir + ": " + e, e);
    }
    int slotCount = slotCount(config, segmentDir);
    this.slots = new AtomicReferenceArray<>(slotCount);
    this.freeSlots = new int[slotCount];
    for (int i = 0; i < slotCount; i++) {
      freeSlots[i] = slotCount - 1 - i;
    }
    this.freeTop = slotCount;
    this.policy = config.policyFactory.apply(slotCount);
    this.handOver = new EvictionHandOver(config.maxPageBytes);
    for (int i = 0; i < STRIPES; i++) {
      stripes[i] = new ReentrantLock();
      writeSlots[i] = new LocationStore.WriteSlot();
    }
    try {
      this.reconcileReport = new SsdTierLoader(this).load();
      logOpen(reconcileReport);
      this.journal = makeJournal();
      if (journal != null && !pendingDeletes.isEmpty()) {
        journal.untrusted(); // the open's own drops left records RocksDB refused to delete
      }
      placeBallast();
      if (journal != null && config.durability == SsdTierConfig.Durability.WAL) {
        CrashJournal j = journal;
        deleter = new RecordDeleter(this::finishDelete, j::release, "kvstore-ssd-record-deleter");
      }
    } catch (RuntimeException e) {
      closeResources(e);
      throw e;
    }
    sampleRocksNow();
    fitToTheDisk();
  }

  /** Whether the SSD tier in {@code ssdDir} was closed cleanly (its clean marker is there). */
  public static boolean closedCleanly(Path ssdDir) {
    return Files.exists(ssdDir.toAbsolutePath().resolve(SEGMENTS_DIR).resolve(CLEAN_MARKER));
  }

  /**
   * The durability ({@code none}, {@code wal}, {@code sync}) of the last run that opened the tier,
   * in its segments directory: recovering after a crash follows the rules of the mode the tier
   * crashed under (spec/6-ssd-segments.md 6.6), not those of the next run.
   */
  static final String DURABILITY_FILE = "durability";

  /**
   * Checks that a tier in {@code ssdDir} may open with {@code durability}, and records it as the
   * tier's mode: called before anything of the tier is opened, moved or deleted. A tier that did
   * not close cleanly under {@code none} cannot recover under {@code wal} or {@code sync}, nor the
   * other way round: {@code none} keeps its directory in the data directory and writes its location
   * records without a log (they may name replaced or deleted pages), {@code wal} and {@code sync}
   * keep the directory and the crash journal where {@code index.dir} puts them ({@code /dev/shm} by
   * default) and rebuild from their logged records. Either, opened under the other's rules, would
   * lose the tier's pages (a {@code none} open found none of the 120 pages a killed {@code wal}
   * run held) or bring replaced and deleted pages back. A tier with no record of its mode (a data
   * directory of an earlier version, or a new one) is not checked.
   *
   * @throws SsdStorageException if the tier did not close cleanly under a mode of the other kind
   *     (nothing is changed then), or its mode cannot be read or recorded
   */
  public static void claimDurability(Path ssdDir, SsdTierConfig.Durability durability) {
    Path segDir = ssdDir.toAbsolutePath().resolve(SEGMENTS_DIR);
    Path file = segDir.resolve(DURABILITY_FILE);
    SsdTierConfig.Durability last = null;
    try {
      if (Files.exists(file)) {
        String text = Files.readString(file, java.nio.charset.StandardCharsets.US_ASCII).trim();
        try {
          last = SsdTierConfig.Durability.valueOf(text.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
          throw new SsdStorageException(
              "cannot read the durability the SSD tier in " + ssdDir + " last ran with: " + file
                  + " holds '" + text + "', not none, wal or sync",
              e);
        }
      }
      if (last != null
          && !closedCleanly(ssdDir)
          && (last == SsdTierConfig.Durability.NONE) != (durability == SsdTierConfig.Durability.NONE)) {
        String was = last.name().toLowerCase(java.util.Locale.ROOT);
        throw SsdStorageException.wrongDurability(
            "the SSD tier in " + ssdDir + " did not close cleanly under ssd.durability = " + was
                + " (the daemon was killed or crashed), and recovering it under "
                + durability.name().toLowerCase(java.util.Locale.ROOT)
                + " would lose its pages or bring back replaced and deleted ones: start it once"
                + " with ssd.durability = " + was
                + " (and the index.dir it ran with), stop it cleanly (SIGTERM), then start it with"
                + " the new durability. Nothing was changed.");
      }
      if (last == durability) {
        return;
      }
      Files.createDirectories(segDir);
    } catch (IOException e) {
      throw new SsdStorageException(
          "cannot check the durability the SSD tier in " + ssdDir + " last ran with: " + e, e);
    }
    try {
      // On a disk others filled while the tier was down, the ballast the last run left is the room
      // this takes (the open frees it anyway, for RocksDB's new manifest, and places it again).
      Files.deleteIfExists(ssdDir.toAbsolutePath().resolve(BALLAST));
      SyncedFiles.replace(
          file, durability.name().toLowerCase(java.util.Locale.ROOT) + "\n");
    } catch (IOException | RuntimeException e) {
      // A disk full even without the ballast, or a file system refusing the write: the tier opens
      // all the same, unrecorded, as a data directory of an earlier version; a record of the last
      // mode left in place would refuse the right mode after a crash of this run, so it goes (a
      // delete needs no room).
      if (!SyncedFiles.deleteAfter(e, file)) {
        throw new SsdStorageException(
            "cannot record the durability of the SSD tier in " + file + ", nor remove the old"
                + " record: " + e,
            e);
      }
      LOG.log(
          System.Logger.Level.WARNING,
          "cannot record the durability of the SSD tier in {0} ({1}): until a start records it, a"
              + " start after a crash is not checked against the mode the tier crashed under",
          file,
          e.toString());
    }
  }

  /**
   * Opens the block index in {@code indexDir} that is the directory of the SSD tier in {@code
   * ssdDir}. After a crash with a write-ahead log ({@code wal}, {@code sync}) the index the killed
   * process left is reopened as it was if the tier's crash journal trusts it (written on this boot,
   * nothing done that the index does not account for) and no change of it was left half done
   * ({@link BlockIndex#reopenUnlocked}); otherwise it is deleted, with the journal, and the tier rebuilds
   * its directory from its location records (spec/6-ssd-segments.md, 6.5 rule 6). With {@code
   * none} an unclean index goes through Chronicle's recovery and the tier checks every entry. The
   * crash journal is read in {@code journalDir} (null: the segment directory; see {@link
   * SsdTierConfig#journalDir()}); a journal left in the segment directory by a run that kept it
   * there is deleted when it lives elsewhere: it vouches for an index that is not this one.
   *
   * @throws UncheckedIOException if the index cannot be opened (e.g. no room for a new one)
   * @throws SsdStorageException if the journal of the last run cannot be removed
   */
  public static BlockIndex openIndex(
      Path ssdDir, Path indexDir, Path journalDir, long entries, SsdTierConfig.Durability durability) {
    Path segDir = ssdDir.toAbsolutePath().resolve(SEGMENTS_DIR);
    Path jDir = journalDir == null ? segDir : journalDir.toAbsolutePath().normalize();
    if (!jDir.equals(segDir)) {
      try {
        Files.deleteIfExists(segDir.resolve(CrashJournal.FILE_NAME));
      } catch (IOException e) {
        throw new SsdStorageException("cannot remove the crash journal in " + segDir + ": " + e, e);
      }
    }
    if (durability == SsdTierConfig.Durability.NONE) {
      return BlockIndex.open(indexDir, entries);
    }
    CrashJournal.Previous last = CrashJournal.read(jDir);
    if (last != null && last.trustworthy() && !Files.exists(segDir.resolve(CLEAN_MARKER))) {
      try {
        BlockIndex idx = BlockIndex.reopenUnlocked(indexDir, entries);
        if (idx != null) {
          return idx;
        }
      } catch (RuntimeException e) {
        // A file Chronicle cannot open (damaged, cut short): the records still know every page.
        LOG.log(
            System.Logger.Level.WARNING,
            "cannot reopen the block index in {0} as the killed process left it ({1}): the SSD"
                + " tier rebuilds its directory from its location records",
            indexDir,
            e.toString());
      }
    }
    // Not trusted: the journal goes first (or vouches for nothing, if it holds tombstones for the
    // rebuild), so that a kill during the rebuild cannot leave a half-built index that a journal
    // of the last run would vouch for.
    try {
      CrashJournal.markUntrusted(jDir);
    } catch (IOException e) {
      throw new SsdStorageException(
          "cannot set aside the crash journal in " + jDir + " for the rebuild: " + e.getMessage(),
          e);
    }
    BlockIndex.discardUnclean(indexDir); // rebuilt from RocksDB (the loader)
    return BlockIndex.open(indexDir, entries);
  }

  /**
   * At the end of the open, when the file system cannot hold the configured capacity (with what the
   * tier already holds on it, less the free-space reserve): with {@link SsdTierConfig#fitToDisk}
   * the tier's capacity becomes that room less a margin, never below what it holds now (so no page
   * is evicted for it at open), and one WARN line says so; the tier then evicts its oldest pages at
   * that bound, as at its configured one, instead of filling the disk. Without it, or when that
   * capacity would be less than 64 pages of the smallest size (the disk is as good as full), one
   * WARN line says that the disk will fill first and the tier then stops taking pages (NO_SPACE)
   * until space is freed.
   */
  private void fitToTheDisk() {
    try {
      lastUsableSpace = usableSpace();
    } catch (IOException e) {
      // Nothing to fit to: the first put's free-space check fails the same way, and says so.
      LOG.log(
          System.Logger.Level.WARNING,
          String.format(
              java.util.Locale.ROOT,
              "cannot read the free space of %s (%s): the SSD tier keeps its configured capacity"
                  + " of %,d bytes, not fitted to its disk (ssd.fit.disk), and takes no page while"
                  + " the free space cannot be read",
              segmentDir,
              e,
              config.capacityBytes));
      return;
    }
    long room = diskRoomBytes();
    // What the tier's files take on the file system beyond what it counts (their sizes): the
    // space RocksDB preallocates for its write-ahead log (1.1 write buffers per log file, two
    // while a memtable is flushed; `du --apparent-size` does not show it), its info log (at most
    // three files of 1 MiB), manifest and options files, and the rounding of each file to the
    // file system's blocks. A tier fitted to the room itself would reach the reserve by these.
    long walPreallocation = config.writeBufferBytes + config.writeBufferBytes / 10;
    // And what the store writes beside it (the block index's copy at a clean close).
    long margin =
        FIT_MARGIN_BYTES
            + 2 * walPreallocation
            + FIT_MARGIN_PER_FILE_BYTES * (slots.length() + 16L)
            + config.diskBytesAside;
    if (room - (config.fitToDisk ? margin : 0) >= config.capacityBytes) {
      return;
    }
    long held = diskBytes();
    long fitted = Math.max(Math.max(0, room - margin), held);
    // Too little room for 64 pages of the smallest declared size (or one of the largest): the disk
    // is as good as full, and a tier of (almost) no capacity would refuse pages without a word;
    // unfitted, it says NO_SPACE (degraded). (One page of the largest size, 16 MiB by default, was
    // too high a bar: a 96 MiB disk with 16 KiB pages stayed unfitted.)
    long bar = Math.min(config.maxPageBytes, 64L * config.minPageBytes);
    boolean fit = config.fitToDisk && fitted >= Math.min(bar, config.capacityBytes);
    String sizes =
        String.format(
            java.util.Locale.ROOT,
            "the SSD tier in %s is sized for %,d bytes but its file system has room for about %,d"
                + " (%,d free plus the %,d the tier holds, less %,d kept free): ",
            segmentDir,
            config.capacityBytes,
            room,
            lastUsableSpace,
            held,
            config.freeSpaceReserveBytes);
    String consequence;
    if (fit) {
      capacity = fitted;
      if (!config.segmentBytesGiven) {
        segmentBytes = SsdTierConfig.defaultSegmentBytes(fitted);
      }
      consequence =
          String.format(
              java.util.Locale.ROOT,
              "the tier holds at most %,d (%,d less for RocksDB's log space, the file system's"
                  + " rounding and the block index's copy at a clean stop) and evicts its oldest pages to stay within it (set ssd.fit.disk ="
                  + " false to keep %,d and stop taking pages when the disk is full)",
              capacity,
              margin,
              config.capacityBytes);
    } else {
      consequence =
          "the disk will fill before the tier does, and the tier then stops taking pages (degraded,"
              + " NO_SPACE) until space is freed; "
              + (config.fitToDisk
                  ? String.format(
                      java.util.Locale.ROOT,
                      "too little room to fit the tier to it (%,d less %,d for RocksDB's log space,"
                          + " the file system's rounding and the block index's copy is less than"
                          + " %,d, 64 pages of the smallest size)",
                      room,
                      margin,
                      bar)
                  : String.format(
                      java.util.Locale.ROOT,
                      "a capacity (ssd.bytes) of at most %,d, or ssd.fit.disk = true, lets it"
                          + " evict its oldest pages instead",
                      room));
    }
    LOG.log(System.Logger.Level.WARNING, sizes + consequence);
  }

  /** Entries the tier's own block index is sized for: every page it may hold, plus slack. */
  static long indexEntriesFor(SsdTierConfig config) {
    return config.maxPages + Math.max(1024, config.maxPages / 8);
  }

  /**
   * Slots for segments: each sealed segment holds at least {@code segmentBytes} (or one page), so
   * {@code capacity / segmentBytes} (at most one per page) plus the active one, plus room for the
   * short segments that restarts leave, and for what is on disk now.
   */
  private static int slotCount(SsdTierConfig config, Path segmentDir) {
    long bySize = Math.min(config.capacityBytes / config.segmentBytes, config.maxPages);
    long found = 0;
    try (var s = Files.list(segmentDir)) {
      found = s.filter(p -> Segment.idOf(p.getFileName().toString()) >= 0).count();
    } catch (IOException e) {
      throw new SsdStorageException("cannot list the SSD tier's segments in " + segmentDir, e);
    }
    return (int) Math.min(1 << 24, bySize + 66 + found);
  }

  @Override
  public TierKind kind() {
    return TierKind.SSD;
  }

  @Override
  public long capacityBytes() {
    return capacity;
  }

  @Override
  public long usedBytes() {
    return usedBytes.get();
  }

  /**
   * Bytes on disk counted against the capacity: segment files (garbage included) and RocksDB's.
   * Does not take the allocation lock (a put holds it while rolling to a new segment, a file
   * operation a stalled disk can make slow), so a metrics scrape never waits for the disk; the two
   * parts are each as last written.
   */
  public long diskBytes() {
    return diskBytes + rocksBytes;
  }

  /**
   * Bytes the tier could hold on its file system as of the last free-space reading (at open, then
   * at each put): what it holds on disk now ({@link #diskBytes()}) plus the free space, less the
   * free-space reserve it never writes into. Below the configured capacity at open, the tier fits
   * its capacity to it ({@link SsdTierConfig.Builder#fitToDisk}); below the capacity later (others
   * took space), the disk fills before the tier does, and the tier then stops taking pages
   * (NO_SPACE) until space is freed. Reads no file
   * system (a metrics scrape never waits for the disk); -1 if the free space could not be read.
   */
  public long diskRoomBytes() {
    long usable = lastUsableSpace;
    return usable < 0 ? -1 : Math.max(0, diskBytes() + usable - config.freeSpaceReserveBytes);
  }

  /** RocksDB's bytes on disk as last sampled (counted in {@link #diskBytes()}). */
  long sampledRocksBytes() {
    return rocksBytes;
  }

  @Override
  public long pageCount() {
    return pageCount.get();
  }

  /**
   * Memory RocksDB holds for the location records (memtables, block cache, index and filter
   * readers), as sampled with RocksDB's bytes on disk: by a put at most every 100 ms, and at open.
   * Not part of {@link #memoryBytes()}, which counts pages held in memory (none here).
   */
  public long rocksMemoryBytes() {
    return rocksMemory;
  }

  /** 0: the pages are on disk (RocksDB's own memory is {@link #rocksMemoryBytes()}). */
  @Override
  public long memoryBytes() {
    return 0;
  }

  @Override
  public int maxPageBytes() {
    return config.maxPageBytes;
  }

  @Override
  public void setEvictionListener(EvictionListener listener) {
    this.listener = listener == null ? EvictionListener.DROP : listener;
  }

  /** Pages that failed verification on read (each was removed). */
  public long corruptions() {
    return corruptions.sum();
  }

  /** Reads that returned a page. */
  public long hits() {
    return hits.sum();
  }

  /** Reads that returned {@link #MISS}. */
  public long misses() {
    return misses.sum();
  }

  /** Pages evicted to make room. */
  public long evictions() {
    return evictions.sum();
  }

  /**
   * Segments started by overwriting the file of an evicted one. At capacity every new segment
   * should be one: overwriting blocks the file system has allocated costs about half of appending
   * to a new file, and the evicted file is not deleted (page cache freed, blocks released) either.
   */
  public long segmentFilesReused() {
    return segmentFilesReused;
  }

  /** Segments started in a new file. */
  public long segmentFilesCreated() {
    return segmentFilesCreated;
  }

  /** Puts that failed with an {@link SsdStorageException}. */
  public long writeFailures() {
    return writeFailures.sum();
  }

  /** Times {@link #resumeWrites()} reopened RocksDB because it had stopped taking writes. */
  public long locationStoreReopens() {
    return locationStoreReopens.sum();
  }

  /** Location-record deletes RocksDB refused, waiting for {@link #resumeWrites()}. */
  public long pendingLocationDeletes() {
    return pendingDeletes.size();
  }

  /**
   * Deleted pages whose location record is not deleted yet (tombstones in the crash journal; the
   * disk has not taken the record's delete, e.g. while it is frozen).
   */
  public int tombstones() {
    RecordDeleter d = deleter;
    return d == null ? 0 : d.pending();
  }

  /** What opening found and repaired. */
  public ReconcileReport reconcileReport() {
    return reconcileReport;
  }

  /** The tier's settings. */
  public SsdTierConfig config() {
    return config;
  }

  /** The block index that is this tier's directory. */
  public BlockIndex index() {
    return index;
  }

  /**
   * The namespace id of the stored page, read from the directory (no I/O, the page is not read), or
   * {@link #NO_NAMESPACE} if the tier does not hold the key. Lets the store check ownership.
   */
  public long namespaceOf(long keyHi, long keyLo) {
    // No liveness check: a page of a segment being dropped is still in the directory, RocksDB and
    // its file until the drop reaches it, and a crash before then brings it back. It belongs to
    // its namespace until it is gone, so a delete of that namespace must still remove it.
    IndexEntry e = entries.get()[0];
    if (!index.get(keyHi, keyLo, e) || !e.isIn(TierKind.SSD)) {
      return NO_NAMESPACE;
    }
    return e.namespaceId();
  }

  /**
   * Whether the directory names the key: what {@link #delete} would remove. Unlike {@link
   * #contains} (what a get can serve) this includes a page of a segment chosen for eviction whose
   * drop has not reached it yet: the get no longer serves it, but its directory entry and location
   * record persist until the drop removes them, so a crash before that brings the page back unless
   * a delete removed them.
   */
  public boolean holds(long keyHi, long keyLo) {
    return (index.tiers(keyHi, keyLo) & TierKind.SSD.bit()) != 0;
  }

  @Override
  public boolean put(ByteBuffer src) {
    PutScratch s = putScratch.get();
    s.single[0] = src;
    try {
      putAll(s.single, 1, s.singleStored);
      return s.singleStored[0];
    } finally {
      s.single[0] = null;
    }
  }

  /**
   * Stores the pages as {@link #put} does, writing consecutive pages that go to the same segment
   * together: one reservation, one gathering write of the pages back to back, one RocksDB write
   * batch of their location records (one log append), then their index entries (as CacheLib's
   * navy block cache writes whole regions instead of items). The order of {@link #put} holds per
   * page: bytes, then location record, then index entry; a run whose write or record fails is
   * given back whole and none of its pages is indexed.
   *
   * @throws IllegalArgumentException if a page's header is not valid (nothing is stored then)
   * @throws SsdStorageException if a write fails (NO_SPACE, IO_ERROR): the pages marked in {@code
   *     stored} were stored before it, the others are not stored and nothing of theirs changed
   */
  @Override
  public void putAll(ByteBuffer[] pages, int count, boolean[] stored) {
    PutScratch s = putScratch.get();
    s.ensure(count);
    long bytes = 0;
    int fitting = 0;
    for (int i = 0; i < count; i++) {
      ByteBuffer src = pages[i];
      int pos = src.position();
      int len = src.remaining();
      if (len < PageFormat.HEADER_LENGTH || PageFormat.verifyHeader(src, pos, len) != PageFormat.OK) {
        throw new IllegalArgumentException(
            "not a page: " + PageFormat.describe(PageFormat.verifyHeader(src, pos, len)));
      }
      stored[i] = false;
      s.hi[i] = PageFormat.keyHi(src, pos);
      s.lo[i] = PageFormat.keyLo(src, pos);
      s.len[i] = len;
      if (fits(len)) {
        bytes += len;
        fitting++;
      }
    }
    if (bytes == 0) {
      return; // no page can be stored (too large): nothing to write, as put returns false
    }
    Lock life = lifecycle.readLock();
    life.lock();
    try {
      ensureOpen();
      checkFreeSpace(bytes, fitting);
      IndexEntry probe = entries.get()[0];
      for (int i = 0; i < count; i++) {
        s.fresh[i] = !index.get(s.hi[i], s.lo[i], probe) || !probe.isIn(TierKind.SSD);
      }
      try {
        for (int i = 0; i < count; ) {
          if (!fits(s.len[i])) {
            i++;
            continue;
          }
          int to = i + 1;
          while (to < count && fits(s.len[to])) {
            to++;
          }
          Segment seg = reserve(s, i, to);
          if (seg == null) {
            i++; // no room can be made for this page: not stored, as put returns false
            continue;
          }
          int placed = s.placed;
          try {
            Runnable hook = beforeWriteHookForTest;
            if (hook != null) {
              hook.run();
            }
            writeRun(seg, s, pages, i, placed, stored);
          } finally {
            seg.io.readLock().unlock();
            runDone(seg);
          }
          i += placed;
        }
      } finally {
        for (int r = 0; r < s.replaced.size(); r++) {
          dropIfEmpty(s.replaced.get(r));
        }
        s.replaced.clear();
      }
    } finally {
      life.unlock();
    }
  }

  private boolean fits(int len) {
    return len <= config.maxPageBytes && len <= capacity;
  }

  /**
   * A writing thread's scratch for {@link #putAll}: the pages' keys, lengths, whether each is new
   * to the tier, what {@link #reserve} placed, and the segments whose pages were replaced. Reused,
   * so a put allocates nothing per page.
   */
  private static final class PutScratch {
    final ByteBuffer[] single = new ByteBuffer[1];
    final boolean[] singleStored = new boolean[1];
    final IndexEntry previous = new IndexEntry();
    final ArrayList<Segment> replaced = new ArrayList<>();
    long[] hi = new long[1];
    long[] lo = new long[1];
    int[] len = new int[1];
    boolean[] fresh = new boolean[1];
    int[] stripes = new int[1];
    int[] positions = new int[1];
    /** Left by {@link #reserve}: where the run starts, the bytes it added on disk, its pages. */
    long offset;

    long growth;
    int placed;

    void ensure(int n) {
      if (hi.length < n) {
        hi = new long[n];
        lo = new long[n];
        len = new int[n];
        fresh = new boolean[n];
        stripes = new int[n];
        positions = new int[n];
      }
    }
  }

  /** Test hook: the failure of every tier's free-space reads, from its open on (null: none). */
  static volatile IOException freeSpaceFaultForTest;

  /** The file system's usable space ({@link FileStore#getUsableSpace}). */
  private long usableSpace() throws IOException {
    IOException fault = freeSpaceFaultForTest;
    if (fault != null) {
      throw fault;
    }
    return fileStore.getUsableSpace();
  }

  /** Fails fast, before writing, when the file system is about to run out. */
  private void checkFreeSpace(long len, int pages) {
    long free;
    try {
      free = usableSpace();
    } catch (IOException e) {
      writeFailures.increment();
      throw new SsdStorageException("cannot read the free space of " + segmentDir, e);
    }
    lastUsableSpace = free;
    // The bytes the put can add on disk: the tier evicts to stay within its capacity (dropping
    // segment files or reusing them) before it writes, so at capacity it needs no free space
    // beyond the reserve.
    long growth = Math.min(len, Math.max(0, capacity - diskBytes()));
    if (free < growth + config.freeSpaceReserveBytes) {
      writeFailures.increment();
      throw new SsdStorageException(
          TierWriteException.Reason.NO_SPACE,
          String.format(
              java.util.Locale.ROOT,
              "no space for %s (%,d bytes) in %s: %,d bytes free, %,d kept in reserve",
              pages == 1 ? "a page" : pages + " pages",
              len,
              segmentDir,
              free,
              config.freeSpaceReserveBytes),
          null);
    }
  }

  /**
   * Reserves room in the active segment for a run of the pages {@code [from, to)} of {@code s}:
   * the first page, and the pages after it while the segment is not full (the rule a single page
   * follows), evicting whole segments until the disk bytes and the page count fit. Returns the
   * segment with the read side of its I/O lock held ({@link PutScratch#offset}, {@link
   * PutScratch#growth} and {@link PutScratch#placed} say where, how many bytes the file grew, and
   * how many pages the run holds), or null if no room can be made even for the first page alone.
   */
  private Segment reserve(PutScratch s, int from, int to) {
    List<Segment> victims = null;
    NextClaim claim = null;
    int maxRun = to - from;
    sampleRocksBytes(); // before the room is decided, and outside the allocation lock
    while (true) {
      alloc.lock();
      try {
        long capacity = this.capacity;
        if (s.len[from] + rocksBytes > capacity) {
          return null;
        }
        long len;
        int run;
        while (true) {
          boolean roll = active == null || active.size >= segmentBytes;
          long base = roll ? 0 : active.size;
          len = 0;
          run = 0;
          int fresh = 0;
          do {
            len += s.len[from + run];
            fresh += s.fresh[from + run] ? 1 : 0;
            run++;
          } while (run < maxRun
              && base + len < segmentBytes
              && len + s.len[from + run] + rocksBytes <= capacity);
          // A prepared next segment has its slot, and its file is the kept one a roll would reuse.
          boolean needSlot = roll && next == null && freeTop == 0;
          long spare =
              next != null ? next.diskLength
                  : spareFiles.isEmpty() ? 0 : spareFiles.peekLast().diskLength;
          long growth =
              roll ? Math.max(0, len - spare) : Math.max(0, active.size + len - active.diskLength);
          // A new segment is charged a whole segment's bytes up front: at capacity, the oldest
          // segment is evicted now and its file kept and overwritten by the new one, rather than
          // the new file growing page by page and the evictions that make room for it, mid-segment,
          // deleting each kept file before a roll could reuse it (see segmentFilesReused).
          // (At most an eighth of the capacity: a segment size set near the capacity, as in
          // tests, must not evict everything at each roll.)
          long whole = Math.min(segmentBytes, capacity / 8);
          long ahead = roll ? Math.max(0, Math.max(len, whole) - spare) : growth;
          long bytesNow = diskBytes + rocksBytes + growth - capacity;
          long bytesOver = diskBytes + rocksBytes + ahead - capacity;
          long pagesOver = fresh > 0 ? pageCount.get() + fresh - config.maxPages : 0;
          if (!needSlot && bytesOver <= 0 && pagesOver <= 0) {
            break;
          }
          if (!needSlot && bytesOver <= bytesGoing && pagesOver <= pagesGoing) {
            if (victims != null && !victims.isEmpty()) {
              break; // this thread's victims make the room: drop them, then look again
            }
            // Segments others are dropping will make the room: wait for them rather than evict
            // more. Their bytes stay counted until their files are gone, so the bytes on disk (and
            // the used bytes) never exceed the capacity.
            dropsDone.awaitUninterruptibly();
            continue;
          }
          if (victims == null) {
            victims = new ArrayList<>(2);
          }
          if (bytesOver > bytesGoing && !spareFiles.isEmpty()) {
            // Files kept for reuse are the first bytes to give back.
            Segment f = spareFiles.pollFirst();
            f.goingBytes = f.diskLength;
            bytesGoing += f.goingBytes;
            victims.add(f);
            continue;
          }
          int v = policy.evict(id -> true);
          if (v < 0) {
            if (!victims.isEmpty()) {
              break;
            }
            if (!needSlot && bytesNow <= 0) {
              // Only the page count is over (by pages of segments others are dropping), or only
              // the up-front charge of a new segment: nothing to evict, its pages still fit.
              break;
            }
            if (run > 1) {
              maxRun = 1; // the first page alone may fit where the whole run does not
              continue;
            }
            return null;
          }
          victims.add(takeSlot(v));
        }
        boolean rolls = active == null || active.size >= segmentBytes;
        if ((victims == null || victims.isEmpty()) && rolls && next == null) {
          // The next segment's file is not made yet: this put makes it, outside the lock (after
          // the finally below), or waits for the put that is making it; then it decides again.
          if (preparing) {
            nextReady.awaitUninterruptibly();
          } else {
            claim = claimNext();
          }
        } else if (victims == null || victims.isEmpty()) {
          Segment seg = rolls ? installNext() : active;
          long off = seg.size;
          seg.size += len;
          long growth = Math.max(0, seg.size - seg.diskLength);
          seg.diskLength += growth;
          diskBytes += growth;
          long at = off;
          for (int j = from; j < from + run; j++) {
            seg.addKey(s.hi[j], s.lo[j], at);
            at += s.len[j];
          }
          s.offset = off;
          s.growth = growth;
          s.placed = run;
          seg.runsInFlight++;
          seg.io.readLock().lock();
          return seg;
        }
      } finally {
        alloc.unlock();
      }
      if (claim != null) {
        NextClaim claimed = claim;
        claim = null;
        prepareNext(claimed);
        continue; // decide the room again: other puts went on meanwhile
      }
      if (victims == null) {
        continue; // woken by another put's preparation
      }
      for (Segment victim : victims) {
        if (victim.slot < 0) {
          deleteFree(victim);
        } else {
          drop(victim, true);
        }
      }
      victims.clear();
    }
  }

  /**
   * Removes the segment in slot {@code v} from the table (the policy already forgot it); its bytes
   * and pages count as going until {@link #drop} has deleted it. Under {@link #alloc}.
   */
  private Segment takeSlot(int v) {
    Segment victim = slots.get(v);
    slots.set(v, null);
    CrashJournal j = journal;
    if (j != null) {
      j.slot(v, -1);
    }
    freeSlots[freeTop++] = v;
    if (victim == active) {
      active = null;
    }
    victim.sealed = true;
    victim.goingBytes = victim.diskLength;
    victim.goingPages = victim.livePages.get();
    bytesGoing += victim.goingBytes;
    pagesGoing += victim.goingPages;
    return victim;
  }

  /**
   * A taken segment is gone: its bytes leave the disk count, unless its file was kept for reuse
   * ({@code kept}: the bytes are still on disk, counted, and the next segment overwrites them) or
   * could not be deleted ({@code fileStays}: still on disk until the next open deletes it, so still
   * counted against the capacity).
   */
  private void dropped(Segment seg, Segment kept, boolean fileStays) {
    alloc.lock();
    try {
      if (kept == null) {
        if (!fileStays) {
          diskBytes -= seg.goingBytes;
        }
      } else {
        spareFiles.addLast(kept);
      }
      bytesGoing -= seg.goingBytes;
      pagesGoing -= seg.goingPages;
      dropsDone.signalAll();
    } finally {
      alloc.unlock();
    }
  }

  /** Deletes a file kept for reuse that the disk bound now needs back. */
  private void deleteFree(Segment f) {
    boolean stays = false;
    try {
      f.delete();
    } catch (IOException e) {
      stays = true; // on disk until the next open, which deletes every kept file
    }
    Segment none = null;
    dropped(f, none, stays);
  }

  /**
   * Takes what the next segment needs under {@link #alloc}: its id, a free slot and a kept file to
   * reuse, if any, for {@link #prepareNext}, which the same thread must call outside the lock.
   */
  private NextClaim claimNext() {
    preparing = true;
    Segment reuse = spareFiles.pollLast();
    int slot = freeSlots[--freeTop];
    return new NextClaim(nextSegmentId++, slot, reuse);
  }

  /** What {@link #claimNext} took for the next segment: its id, its slot, a kept file or null. */
  private record NextClaim(long id, int slot, Segment reuseOf) {}

  /**
   * Makes the claimed segment's file outside {@link #alloc} (a new file, or the kept one renamed):
   * on a stalled disk this waits, and nothing else waits for it but the puts that need this
   * segment. Then, under the lock, offers it as {@link #next}, or gives the slot and the kept file
   * back if the file could not be made.
   *
   * @throws SsdStorageException if the file cannot be made
   */
  private void prepareNext(NextClaim claim) {
    Segment made = null;
    Throwable failure = null;
    try {
      Runnable hook = beforeSegmentFileForTest;
      if (hook != null) {
        hook.run();
      }
      made =
          claim.reuseOf() != null
              ? Segment.reuse(segmentDir, claim.id(), claim.slot(), claim.reuseOf())
              : Segment.create(segmentDir, claim.id(), claim.slot());
    } catch (IOException | RuntimeException | Error e) {
      failure = e; // whatever it is, the claim is settled below, or every later roll would wait
    }
    alloc.lock();
    try {
      preparing = false;
      nextReady.signalAll();
      if (made != null) {
        next = made;
        if (claim.reuseOf() != null) {
          segmentFilesReused++;
        } else {
          segmentFilesCreated++;
        }
        return;
      }
      freeSlots[freeTop++] = claim.slot();
      if (claim.reuseOf() != null) {
        spareFiles.addLast(claim.reuseOf()); // still under its old name: a failed rename moved nothing
      }
      writeFailures.increment();
    } finally {
      alloc.unlock();
    }
    if (failure instanceof Error error) {
      throw error;
    }
    throw new SsdStorageException(
        "cannot create a segment file in " + segmentDir + ": " + failure, failure);
  }

  /** Makes the prepared {@link #next} the active segment. Under {@link #alloc}; no file I/O. */
  private Segment installNext() {
    if (active != null) {
      active.sealed = true;
    }
    Segment seg = next;
    next = null;
    seg.lastAccessMs = System.currentTimeMillis();
    CrashJournal j = journal;
    if (j != null) {
      j.slot(seg.slot, seg.id); // before any entry names the slot
    }
    slots.set(seg.slot, seg);
    policy.onInsert(seg.slot, EvictionPolicy.NO_PARENT);
    active = seg;
    return seg;
  }


  /**
   * Samples RocksDB's bytes on disk if the last sample is older than {@link
   * #ROCKS_BYTES_REFRESH_NS} (one thread does, the others go on with the last sample). Called by a
   * put before it decides its room, so that the decision counts what RocksDB grew by (sampled after
   * a new segment's room was decided, as until 2026-12-02, a sample that had grown pushed the
   * counted bytes past the capacity until the next segment: seen once in CI, 117,522 bytes over 24
   * MiB in {@code SsdTierSegmentReuseTest}). Not under {@link #alloc}: the JNI calls list RocksDB's
   * log files; under the swap lock's read side, so that {@link #resumeWrites} cannot close the
   * RocksDB being asked. RocksDB's files grow by a memtable at a time: a sample at most every 100 ms
   * keeps the JNI calls off the common path.
   */
  private void sampleRocksBytes() {
    long now = System.nanoTime();
    long every = rocksBytesRefreshNsForTest >= 0 ? rocksBytesRefreshNsForTest : ROCKS_BYTES_REFRESH_NS;
    long at = rocksBytesAtNs.get();
    if ((every > 0 && now - at <= every) || !rocksBytesAtNs.compareAndSet(at, now)) {
      return;
    }
    sampleRocksNow();
  }

  /** Reads RocksDB's bytes on disk and its memory now (at open, and for {@link #sampleRocksBytes}). */
  private void sampleRocksNow() {
    Lock swap = locationsSwap.readLock();
    swap.lock();
    try {
      rocksBytes = locations.bytesOnDisk();
      long memory = locations.memoryBytes();
      if (memory >= 0) {
        rocksMemory = memory;
      }
    } finally {
      swap.unlock();
    }
  }

  /**
   * Writes the reserved run of pages {@code [from, from + n)} (one positional write for one page,
   * one gathering write for several), then their location records (one RocksDB write: a put, or a
   * write batch), then their index entries, the last two under the stripe locks of their keys
   * (taken in ascending order). Marks each page indexed in {@code stored} and adds the segments
   * whose pages were replaced to {@link PutScratch#replaced} (to drop them if that left them empty).
   * If the write or the records fail, the run is given back and no page of it is indexed.
   */
  private void writeRun(Segment seg, PutScratch s, ByteBuffer[] pages, int from, int n, boolean[] stored) {
    long off = s.offset;
    long runLen = 0;
    for (int j = from; j < from + n; j++) {
      runLen += s.len[j];
    }
    int indexed = 0;
    int intent = -1;
    try {
      IOException fault = writeFaultForTest;
      if (fault != null) {
        throw fault;
      }
      long cut = partialWriteFaultForTest;
      if (cut >= 0) {
        writePrefixForTest(seg, pages, from, n, off, cut);
        throw new IOException("Input/output error (injected after " + cut + " bytes of the write)");
      }
      if (n == 1) {
        seg.write(pages[from], off);
      } else {
        seg.writeAll(pages, from, n, off, s.positions);
      }
      if (config.durability == SsdTierConfig.Durability.SYNC) {
        seg.force();
      }
      // From the records to the entries, a kill leaves records the index does not know: the
      // journal names the run, so that a reopen after the kill finds them (CrashJournal).
      CrashJournal journalNow = journal;
      if (journalNow != null) {
        intent = journalNow.claim(seg.id, off, runLen);
      }
      int locked = lockStripesAfterDeletes(s, from, n);
      try {
        writeRecords(seg, s, pages, from, n, off);
        Runnable hook = recordsWrittenHookForTest;
        if (hook != null) {
          hook.run();
        }
        long at = off;
        for (int j = from; j < from + n; j++) {
          indexPage(seg, pages[j], at, s.len[j], s.hi[j], s.lo[j], s);
          stored[j] = true;
          indexed++;
          at += s.len[j];
        }
      } finally {
        for (int k = locked - 1; k >= 0; k--) {
          stripes[s.stripes[k]].unlock();
        }
      }
      releaseIntent(intent);
    } catch (IOException | RocksDBException | RuntimeException e) {
      // The records may be written without some of their entries (nothing repairs that while the
      // tier runs), or the file system failed under the write (its dirty pages, the index's
      // among them, may never reach the disk): a reopen after a crash must not trust the index.
      untrustJournal();
      releaseIntent(intent);
      if (indexed == 0) {
        giveBack(seg, s, from, n, off, runLen);
      }
      writeFailures.increment();
      throw new SsdStorageException("SSD tier write failed in " + segmentDir + ": " + e, e);
    }
  }

  private void releaseIntent(int intent) {
    CrashJournal j = journal;
    if (j != null) {
      j.release(intent);
    }
  }

  /**
   * A reopen after a crash will rebuild the directory from the location records instead of
   * trusting the index: the tier did something the index does not account for.
   */
  private void untrustJournal() {
    CrashJournal j = journal;
    if (j != null) {
      j.untrusted();
    }
  }

  /**
   * {@link #lockStripes}, once no key of the run has a tombstone whose record delete is pending (a
   * late delete must not remove the records about to be written). Waits for such a delete without
   * the stripes: the deleter may need them (a drop of a segment left empty), and no new tombstone
   * of these keys can come while they are held.
   */
  private int lockStripesAfterDeletes(PutScratch s, int from, int n) {
    while (true) {
      int locked = lockStripes(s, from, n);
      RecordDeleter d = deleter;
      if (d == null || !d.isPending(s.hi, s.lo, from, n)) {
        return locked;
      }
      for (int k = locked - 1; k >= 0; k--) {
        stripes[s.stripes[k]].unlock();
      }
      d.awaitNotPending(s.hi, s.lo, from, n);
    }
  }

  /**
   * Locks the distinct stripes of the run's keys in ascending order (no other path holds two
   * stripes, so the order rules out deadlock); returns how many, left in {@link
   * PutScratch#stripes}.
   */
  private int lockStripes(PutScratch s, int from, int n) {
    int m = 0;
    for (int j = from; j < from + n; j++) {
      int st = stripe(s.hi[j], s.lo[j]);
      int k = m;
      while (k > 0 && s.stripes[k - 1] > st) {
        k--;
      }
      if (k > 0 && s.stripes[k - 1] == st) {
        continue;
      }
      System.arraycopy(s.stripes, k, s.stripes, k + 1, m - k);
      s.stripes[k] = st;
      m++;
    }
    for (int k = 0; k < m; k++) {
      stripes[s.stripes[k]].lock();
    }
    return m;
  }

  /** The run's location records: one put for one page, one write batch (one log append) for more. */
  private void writeRecords(Segment seg, PutScratch s, ByteBuffer[] pages, int from, int n, long off)
      throws RocksDBException {
    RocksDBException fault = recordFaultForTest;
    if (fault != null) {
      throw fault;
    }
    Lock swap = locationsSwap.readLock();
    swap.lock();
    try {
      if (n == 1) {
        ByteBuffer src = pages[from];
        int pos = src.position();
        locations.put(
            writeSlots[stripe(s.hi[from], s.lo[from])], s.hi[from], s.lo[from], seg.id, off,
            s.len[from], PageFormat.namespaceId(src, pos), PageFormat.parentHi(src, pos),
            PageFormat.parentLo(src, pos));
        return;
      }
      try (LocationStore.Batch batch = new LocationStore.Batch()) {
        long at = off;
        for (int j = from; j < from + n; j++) {
          ByteBuffer src = pages[j];
          int pos = src.position();
          batch.put(
              s.hi[j], s.lo[j], seg.id, at, s.len[j], PageFormat.namespaceId(src, pos),
              PageFormat.parentHi(src, pos), PageFormat.parentLo(src, pos));
          at += s.len[j];
        }
        locations.write(batch);
      }
    } finally {
      swap.unlock();
    }
  }

  /** The index entry of a page whose bytes and record are written; under its stripe lock. */
  private void indexPage(Segment seg, ByteBuffer src, long off, int len, long hi, long lo, PutScratch s) {
    int pos = src.position();
    IndexEntry prev = s.previous;
    boolean had =
        index.putSsd(
            hi, lo, len, PageFormat.namespaceId(src, pos), PageFormat.parentHi(src, pos),
            PageFormat.parentLo(src, pos), seg.id, off, seg.slot, prev);
    seg.liveBytes.addAndGet(len);
    seg.livePages.incrementAndGet();
    seg.lastAccessMs = System.currentTimeMillis();
    if (!had) {
      usedBytes.addAndGet(len);
      pageCount.incrementAndGet();
      return;
    }
    usedBytes.addAndGet(len - prev.pageLength());
    Segment old = liveSegment(prev);
    if (old != null) {
      old.liveBytes.addAndGet(-prev.pageLength());
      old.livePages.decrementAndGet();
      if (old != seg) {
        s.replaced.add(old);
      }
    }
  }

  /**
   * Undoes a reservation whose write failed: shrinks the segment if the run is the last thing in
   * it (and forgets its keys), else leaves its bytes as garbage that no record names.
   */
  private void giveBack(Segment seg, PutScratch s, int from, int n, long off, long len) {
    alloc.lock();
    try {
      if (seg.size == off + len && slots.get(seg.slot) == seg) {
        seg.size = off;
        seg.diskLength -= s.growth;
        diskBytes -= s.growth;
        long at = off + len;
        for (int j = from + n - 1; j >= from; j--) {
          at -= s.len[j];
          seg.removeLastKey(at);
        }
        if (s.growth > 0) {
          try {
            seg.truncate(seg.diskLength);
          } catch (IOException e) {
            // The file keeps a tail of garbage that no record names; it goes with the segment.
          }
        }
      }
    } finally {
      alloc.unlock();
    }
  }

  /** Test hook: writes the first {@code cut} bytes of the run, as a gathering write cut short. */
  private static void writePrefixForTest(
      Segment seg, ByteBuffer[] pages, int from, int n, long off, long cut) throws IOException {
    long at = off;
    long left = cut;
    for (int j = from; j < from + n && left > 0; j++) {
      ByteBuffer b = pages[j].duplicate();
      b.limit(b.position() + (int) Math.min(b.remaining(), left));
      left -= b.remaining();
      seg.write(b, at);
      at += pages[j].remaining();
    }
  }

  /** The live segment an index entry points to, or null if it was dropped. */
  private Segment liveSegment(IndexEntry e) {
    int slot = e.segmentSlot();
    if (slot < 0 || slot >= slots.length()) {
      return null;
    }
    Segment seg = slots.get(slot);
    return seg != null && seg.id == e.segmentId() ? seg : null;
  }

  /**
   * A run reserved in {@code seg} is written (or failed): the segment may be empty now (the run
   * failed, or its pages were deleted meanwhile) and was not dropped while the run was in flight.
   */
  private void runDone(Segment seg) {
    Segment victim;
    alloc.lock();
    try {
      seg.runsInFlight--;
      victim = takeIfEmpty(seg);
    } finally {
      alloc.unlock();
    }
    if (victim != null) {
      drop(victim, false);
    }
  }

  /** Drops {@code seg} if it is empty ({@link #takeIfEmpty}): frees its space now. */
  private void dropIfEmpty(Segment seg) {
    Segment victim;
    alloc.lock();
    try {
      victim = takeIfEmpty(seg);
    } finally {
      alloc.unlock();
    }
    if (victim != null) {
      drop(victim, false);
    }
  }

  /**
   * Takes {@code seg} out of the table if it is sealed, not active, holds no live page and no run
   * is being written into it; under {@link #alloc}. A run counts from its reservation: its pages
   * are live only once indexed, and a drop decided before that would remove them after their write.
   */
  private Segment takeIfEmpty(Segment seg) {
    if (seg.sealed
        && seg != active
        && seg.livePages.get() == 0
        && seg.runsInFlight == 0
        && slots.get(seg.slot) == seg) {
      policy.onRemove(seg.slot);
      return takeSlot(seg.slot);
    }
    return null;
  }

  /**
   * Drops a segment already taken out of the table: removes each page it still holds from the
   * index and RocksDB (handing it to the listener first), then deletes the file. Waits for I/O in
   * flight on it.
   */
  void drop(Segment seg, boolean eviction) {
    drop(seg, eviction, null);
  }

  /** As {@link #drop(Segment, boolean)}; while opening ({@code reader} set) no file is kept. */
  void drop(Segment seg, boolean eviction, SsdTierLoader reader) {
    Segment kept = null;
    boolean fileStays = true; // until deleted or kept: a drop that throws leaves the file
    seg.io.writeLock().lock();
    try {
      synchronized (seg) {
        seg.dropped = true;
      }
      IndexEntry removed = entries.get()[1];
      IndexEntry held = entries.get()[0];
      // One stripe at a time, the segment's keys grouped by stripe: under a key's stripe its
      // location record is deleted and then its index entry removed, so a put of that key (which
      // logs its new record under the same stripe) cannot come between the two; the stripe's
      // deletes go to RocksDB as one write batch (at most one log append per stripe, instead of
      // one per page). Records first: a kill between the two leaves an entry without a record (the
      // page is served until a rebuild, which loses it, as the drop meant), never a record
      // without an entry, which a rebuild after a later crash would bring back even if the key
      // were deleted meanwhile (a delete of a key the tier does not hold deletes no record). No
      // other stripe waits for the drop: puts and deletes of other keys go on.
      int n = seg.keyCount();
      int[] from = new int[STRIPES + 1];
      for (int i = 0; i < n; i++) {
        from[stripe(seg.keyHi(i), seg.keyLo(i)) + 1]++;
      }
      int most = 0;
      for (int st = 0; st < STRIPES; st++) {
        most = Math.max(most, from[st + 1]);
        from[st + 1] += from[st];
      }
      int[] order = new int[n];
      int[] next = Arrays.copyOf(from, STRIPES);
      for (int i = 0; i < n; i++) {
        order[next[stripe(seg.keyHi(i), seg.keyLo(i))]++] = i;
      }
      long[] gone = new long[2 * most];
      int[] goneAt = new int[most];
      for (int st = 0; st < STRIPES; st++) {
        if (from[st] == from[st + 1]) {
          continue;
        }
        stripes[st].lock();
        try {
          int goneCount = 0;
          for (int j = from[st]; j < from[st + 1]; j++) {
            int i = order[j];
            long hi = seg.keyHi(i);
            long lo = seg.keyLo(i);
            if (!index.get(hi, lo, held)
                || !held.isIn(TierKind.SSD)
                || held.segmentId() != seg.id
                || held.segmentOffset() != seg.offset(i)) {
              continue; // replaced, deleted, or a write that failed
            }
            gone[2 * goneCount] = hi;
            gone[2 * goneCount + 1] = lo;
            goneAt[goneCount] = i;
            goneCount++;
          }
          deleteLocations(st, gone, goneCount);
          java.util.function.IntConsumer hook = dropStripeHookForTest;
          if (hook != null) {
            hook.accept(st);
          }
          for (int g = 0; g < goneCount; g++) {
            int i = goneAt[g];
            long hi = gone[2 * g];
            long lo = gone[2 * g + 1];
            if (!index.removeSsd(hi, lo, seg.id, seg.offset(i), removed)) {
              continue; // under the stripe nothing changes the SSD location: not expected
            }
            int len = removed.pageLength();
            EvictionListener l = listener;
            if (eviction && l != EvictionListener.DROP) {
              if (!handOver.handOver(l, seg, removed.segmentOffset(), hi, lo, len)) {
                corruptions.increment();
              }
            }
            usedBytes.addAndGet(-len);
            pageCount.decrementAndGet();
            seg.liveBytes.addAndGet(-len);
            seg.livePages.decrementAndGet();
            if (eviction) {
              evictions.increment();
            }
          }
        } finally {
          stripes[st].unlock();
        }
      }
      if (reader == null && keepForReuse()) {
        try {
          kept = seg.toFree(segmentDir);
        } catch (IOException e) {
          kept = null;
        }
      }
      if (kept == null) {
        try {
          seg.delete();
          fileStays = false;
        } catch (IOException e) {
          // The file stays; the next open finds no index entry naming it and deletes it.
        }
      } else {
        fileStays = false;
      }
    } finally {
      seg.io.writeLock().unlock();
      dropped(seg, kept, fileStays);
    }
  }

  /**
   * Whether a dropped segment's file is kept for the next segment: overwriting blocks the file
   * system has allocated costs about half of appending to a new file (measured: bench/README.md). At most {@value #FREE_FILES} files, and none while the file
   * system is short of space (a kept file would hold space a delete is meant to free).
   */
  private boolean keepForReuse() {
    alloc.lock();
    try {
      if (closed || spareFiles.size() >= FREE_FILES) {
        return false;
      }
    } finally {
      alloc.unlock();
    }
    try {
      return usableSpace() >= 2 * config.freeSpaceReserveBytes;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Deletes the location records of {@code keys[0, 2n)} (hi, lo pairs, all of stripe {@code s})
   * with one write batch; if RocksDB cannot take it now, keeps every one of them for {@link
   * #resumeWrites}. Under stripe {@code s}.
   */
  private void deleteLocations(int s, long[] keys, int n) {
    if (n == 0) {
      return;
    }
    if (n == 1) {
      deleteLocation(s, keys[0], keys[1]);
      return;
    }
    Lock swap = locationsSwap.readLock();
    swap.lock();
    try (LocationStore.Batch batch = new LocationStore.Batch()) {
      RocksDBException fault =
          deleteFaultForTest != null ? deleteFaultForTest : deleteFaultOfEveryTierForTest;
      if (fault != null) {
        throw fault;
      }
      for (int i = 0; i < n; i++) {
        batch.delete(keys[2 * i], keys[2 * i + 1]);
      }
      locations.write(batch);
    } catch (RocksDBException | RuntimeException e) {
      untrustJournal(); // records of removed entries stay until the retry
      for (int i = 0; i < n; i++) {
        pendingDeletes.add(keys[2 * i], keys[2 * i + 1]);
      }
    } finally {
      swap.unlock();
    }
  }

  /**
   * Deletes a location record; if RocksDB cannot take it now, keeps it for {@link #resumeWrites}.
   *
   * @return whether the record is deleted (false: pending)
   */
  private boolean deleteLocation(int s, long hi, long lo) {
    return deleteLocation(writeSlots[s], hi, lo);
  }

  /** {@link #deleteLocation(int, long, long)} with the buffers of {@code slot}, owned by the caller. */
  private boolean deleteLocation(LocationStore.WriteSlot slot, long hi, long lo) {
    Lock swap = locationsSwap.readLock();
    swap.lock();
    try {
      RocksDBException fault =
          deleteFaultForTest != null ? deleteFaultForTest : deleteFaultOfEveryTierForTest;
      if (fault != null) {
        throw fault;
      }
      locations.delete(slot, hi, lo);
      return true;
    } catch (RocksDBException | RuntimeException e) {
      untrustJournal(); // the record stays until the retry, its entry goes
      pendingDeletes.add(hi, lo);
      return false;
    } finally {
      swap.unlock();
    }
  }

  /**
   * The deleter's part of a delete ({@link RecordDeleter.Work}): the location record's delete (kept
   * for {@link #resumeWrites} if RocksDB refuses it, as a delete without a deleter does), the
   * tombstone's release, then what the delete leaves outside the stripe: the page's header
   * invalidated if the record stays, and the segment dropped if it is left empty.
   */
  private void finishDelete(int entry, long hi, long lo, Segment seg, long off) {
    boolean refused = true;
    try {
      Runnable hook = beforeDeferredDeleteForTest;
      if (hook != null) {
        hook.run();
      }
      refused = !deleteLocation(deleterSlot, hi, lo);
    } catch (RuntimeException e) {
      untrustJournal();
      pendingDeletes.add(hi, lo);
    } finally {
      deleter.recordDeleted(entry);
    }
    if (seg == null) {
      return;
    }
    try {
      if (refused) {
        invalidateInPlace(seg, off);
      }
      dropIfEmpty(seg);
    } catch (RuntimeException e) {
      // A drop that fails leaves the segment to the next open (as a failed drop of a delete does).
      writeFailures.increment();
    }
  }

  /** What {@link #invalidateInPlace} writes over a page's magic number. */
  private static final byte[] NO_MAGIC = new byte[4];

  /**
   * A deleted page whose location record RocksDB refused to delete (pending until it takes writes
   * again): its header's magic number is overwritten in place, so that a crash before the record
   * goes cannot bring the page back (the rebuild after a crash checks every record against the
   * page header at its location, and drops it). Overwriting bytes the file already has needs no
   * new space, so it works on the full disk that made RocksDB refuse. Not done if the segment is
   * being dropped (its file goes, and the record then names nothing). If the write fails too, the
   * page can come back after a crash before the pending delete is retried (counted in {@link
   * #pendingLocationDeletes}; a clean close retries it or leaves no clean marker).
   */
  private void invalidateInPlace(Segment seg, long off) {
    seg.io.readLock().lock();
    try {
      if (!seg.dropped) {
        IOException fault = writeFaultForTest;
        if (fault != null) {
          throw fault;
        }
        seg.write(ByteBuffer.wrap(NO_MAGIC), off + PageFormat.MAGIC_OFFSET);
      }
    } catch (IOException e) {
      writeFailures.increment();
    } finally {
      seg.io.readLock().unlock();
    }
  }

  @Override
  public int get(long keyHi, long keyLo, ByteBuffer dst) {
    if (dst.isReadOnly()) {
      throw new IllegalArgumentException("dst is read-only");
    }
    Lock life = lifecycle.readLock();
    life.lock();
    try {
      ensureOpen();
      IndexEntry e = entries.get()[0];
      Segment seg;
      // Page accesses are counted in the directory by its owner: this tier, in the same lookup
      // (one map operation instead of two; a read that then fails goes to recheck, which finds the
      // entry replaced or removes it), or the store whose directory this is, which counts every
      // hit of every tier (TierChain.hit) and so must not see an SSD hit counted twice.
      boolean found = ownsIndex
          ? index.getRecordingAccess(keyHi, keyLo, TierKind.SSD, e)
          : index.get(keyHi, keyLo, e);
      if (!found || !e.isIn(TierKind.SSD) || (seg = liveSegment(e)) == null) {
        misses.increment();
        return MISS;
      }
      int len = e.pageLength();
      if (dst.remaining() < len) {
        throw new IllegalArgumentException(
            "dst has " + dst.remaining() + " bytes remaining, the page needs " + len);
      }
      int pos = dst.position();
      long off = e.segmentOffset();
      if (readVerified(seg, off, dst, pos, len, keyHi, keyLo)) {
        dst.position(pos + len);
        hits.increment();
        touchSegment(seg);
        return len;
      }
      return recheck(keyHi, keyLo, seg.id, off, dst, pos);
    } finally {
      life.unlock();
    }
  }

  /**
   * Reads the page into {@code dst} at {@code pos} and verifies it (chapter 2: header, length, key,
   * payload CRC32C); false if it fails, or the segment is gone, or the file is too short. A large
   * page is read and checksummed in chunks of {@value #VERIFY_CHUNK} bytes, each checksummed while
   * it is still in the CPU cache, so the CRC does not read the page from memory a second time.
   */
  private boolean readVerified(
      Segment seg, long off, ByteBuffer dst, int pos, int len, long hi, long lo) {
    if (len <= VERIFY_CHUNK) {
      return readPage(seg, off, dst, len) && pageOk(dst, pos, len, hi, lo);
    }
    Lock r = seg.io.readLock();
    r.lock();
    try {
      if (seg.dropped) {
        return false;
      }
      ByteBuffer view = dst.duplicate();
      view.position(pos);
      if (!seg.read(view, off, VERIFY_CHUNK)
          || PageFormat.verifyHeader(dst, pos, len) != PageFormat.OK
          || PageFormat.payloadLength(dst, pos) + PageFormat.HEADER_LENGTH != len
          || PageFormat.keyHi(dst, pos) != hi
          || PageFormat.keyLo(dst, pos) != lo) {
        return false;
      }
      CRC32C crc = crcs.get();
      crc.reset();
      view.limit(pos + VERIFY_CHUNK).position(pos + PageFormat.HEADER_LENGTH);
      crc.update(view);
      for (int done = VERIFY_CHUNK; done < len; ) {
        int n = Math.min(VERIFY_CHUNK, len - done);
        view.limit(dst.capacity()).position(pos + done);
        if (!seg.read(view, off + done, n)) {
          return false;
        }
        view.limit(pos + done + n).position(pos + done);
        crc.update(view);
        done += n;
      }
      return (int) crc.getValue() == PageFormat.payloadCrc(dst, pos);
    } catch (IOException e) {
      return false;
    } finally {
      r.unlock();
    }
  }

  /** Reads a page; false if the segment is gone or the file is too short or unreadable. */
  private static boolean readPage(Segment seg, long off, ByteBuffer dst, int len) {
    Lock r = seg.io.readLock();
    r.lock();
    try {
      return !seg.dropped && seg.read(dst, off, len);
    } catch (IOException e) {
      return false;
    } finally {
      r.unlock();
    }
  }

  /**
   * Records a read of a page of {@code seg} for the policy: the segment's last access and its place
   * in the eviction order (the page's own access is counted in the directory by its owner: see
   * {@link #get}).
   *
   * <p>A read never waits for the allocation lock: a put holds it while it rolls to a new segment,
   * which creates or renames a file, and a stalled disk can make that take seconds. When the lock
   * is busy the access is not told to the policy (the segment's last access is still set, and the
   * directory has counted the page's): the eviction order is a hint that may miss an access under
   * contention, as a lossy read buffer's is in Caffeine.
   */
  private void touchSegment(Segment seg) {
    seg.lastAccessMs = System.currentTimeMillis();
    if (!alloc.tryLock()) {
      return;
    }
    try {
      if (slots.get(seg.slot) == seg) {
        policy.onAccess(seg.slot);
      }
    } finally {
      alloc.unlock();
    }
  }

  /**
   * The read did not give a good page: a write or drop of the key raced with it, or the stored page
   * is bad. Under the key's stripe no write can race: if the entry still names the same place, read
   * again, and remove the page if it is still bad.
   */
  private int recheck(long hi, long lo, long segId, long off, ByteBuffer dst, int pos) {
    int s = stripe(hi, lo);
    stripes[s].lock();
    try {
      IndexEntry e = entries.get()[0];
      Segment seg;
      if (!index.get(hi, lo, e)
          || !e.isIn(TierKind.SSD)
          || (seg = liveSegment(e)) == null
          || e.segmentId() != segId
          || e.segmentOffset() != off
          || dst.remaining() < e.pageLength()) {
        misses.increment(); // replaced, deleted or evicted meanwhile: not corruption
        return MISS;
      }
      int len = e.pageLength();
      if (readVerified(seg, off, dst, pos, len, hi, lo)) {
        dst.position(pos + len);
        hits.increment();
        return len;
      }
      // The record first, then the entry (as a drop does): a kill between leaves no record
      // without an entry.
      deleteLocation(s, hi, lo);
      IndexEntry removed = entries.get()[1];
      if (index.removeSsd(hi, lo, segId, off, removed)) {
        usedBytes.addAndGet(-len);
        pageCount.decrementAndGet();
        seg.liveBytes.addAndGet(-len);
        seg.livePages.decrementAndGet();
      }
      corruptions.increment();
      misses.increment();
      return MISS;
    } finally {
      stripes[s].unlock();
    }
  }

  static boolean pageOk(ByteBuffer buf, int pos, int len, long hi, long lo) {
    return PageFormat.verify(buf, pos, len) == PageFormat.OK
        && PageFormat.keyHi(buf, pos) == hi
        && PageFormat.keyLo(buf, pos) == lo;
  }

  /** The SSD tier cannot pin: pages are not in memory. Always null. */
  @Override
  public PinnedPage pin(long keyHi, long keyLo) {
    return null;
  }

  @Override
  public int length(long keyHi, long keyLo) {
    IndexEntry e = entries.get()[0];
    if (!index.get(keyHi, keyLo, e) || !e.isIn(TierKind.SSD) || liveSegment(e) == null) {
      return MISS;
    }
    return e.pageLength();
  }

  /**
   * Removes the page. Always works, also on a full disk or while RocksDB refuses writes: the index
   * entry goes at once (the page is gone for every later get) and a segment left without live pages
   * is deleted, which frees its space; a location record RocksDB cannot delete now is deleted by
   * {@link #resumeWrites()} or on close, and meanwhile the page's header is invalidated in place
   * so that a crash cannot bring the page back ({@link #invalidateInPlace}). With {@code wal}, the
   * record's delete (and the rest) runs on the {@link RecordDeleter}'s thread after a tombstone in
   * the crash journal; this waits for it unless the disk holds it (a frozen file system): then it
   * returns at once (spec/6-ssd-segments.md 6.5 rule 8).
   */
  @Override
  public boolean delete(long keyHi, long keyLo) {
    return delete(keyHi, keyLo, false);
  }

  /**
   * {@link #delete}; with a deleter (spec/6.5 rule 8) it takes no stripe: no write of the key can
   * be in flight, so nothing the stripe orders can race it (a drop of the page's segment removes
   * the entry only where it still names the page, and deletes the same record), and a stripe held
   * by a writer stuck in RocksDB's log write on a frozen disk does not hold it.
   */
  @Override
  public boolean deleteExclusive(long keyHi, long keyLo) {
    return delete(keyHi, keyLo, true);
  }

  private boolean delete(long keyHi, long keyLo, boolean exclusive) {
    Lock life = lifecycle.readLock();
    life.lock();
    Segment seg;
    boolean refused;
    long off;
    RecordDeleter d;
    int tomb;
    long ticket = 0;
    try {
      ensureOpen();
      // The directory first, without the stripe (writes hold it across RocksDB calls): a delete of
      // a key the tier does not hold must not wait for them. A put of this very key racing with
      // the check is ordered after the delete either way.
      if (!holds(keyHi, keyLo)) {
        return false;
      }
      int s = stripe(keyHi, keyLo);
      d = deleter;
      CrashJournal j = journal;
      // An exclusive caller with a deleter needs no stripe, unless every journal entry is taken
      // (then the record is deleted here, with the stripe's buffers).
      tomb = exclusive && d != null && j != null ? j.tombstone(keyHi, keyLo) : -1;
      boolean striped = tomb < 0;
      if (striped) {
        stripes[s].lock();
      }
      try {
        IndexEntry held = entries.get()[0];
        if (!index.get(keyHi, keyLo, held) || !held.isIn(TierKind.SSD)) {
          if (tomb >= 0) {
            d.releaseUnsubmitted(tomb);
          }
          return false;
        }
        // With a deleter: a tombstone in the crash journal, then the entry; the record's delete
        // goes to the deleter (a kill before it finds the tombstone: the open deletes the record).
        // Without: the record first, then the entry (as a drop does): a kill between leaves the
        // page served (the delete was not answered) and never a record without an entry, which a
        // rebuild after a later crash would bring back.
        if (striped && d != null && j != null) {
          tomb = j.tombstone(keyHi, keyLo);
        }
        refused = tomb < 0 && !deleteLocation(s, keyHi, keyLo);
        IndexEntry removed = entries.get()[1];
        boolean gone = index.removeSsd(keyHi, keyLo, BlockIndex.ANY_SEGMENT, 0, removed);
        seg = gone ? liveSegment(removed) : null;
        off = gone ? removed.segmentOffset() : 0;
        if (gone) {
          int len = removed.pageLength();
          usedBytes.addAndGet(-len);
          pageCount.decrementAndGet();
          if (seg != null) {
            seg.liveBytes.addAndGet(-len);
            seg.livePages.decrementAndGet();
          }
        }
        if (tomb >= 0) {
          ticket = d.submit(tomb, keyHi, keyLo, seg, off); // pending before the stripe is free
        }
        if (!gone) {
          return false; // under the stripe: not expected; without it, a drop took it meanwhile
        }
      } finally {
        if (striped) {
          stripes[s].unlock();
        }
      }
      if (tomb >= 0) {
        // Mostly it is done in microseconds; on a frozen disk the answer does not wait for it.
        d.awaitFinished(tomb, ticket, DELETE_STUCK_NANOS);
        return true;
      }
      if (seg != null) {
        // Outside the stripe: a drop of the segment holds its I/O lock while it takes stripes.
        if (refused) {
          invalidateInPlace(seg, off);
        }
        dropIfEmpty(seg);
      }
      return true;
    } finally {
      life.unlock();
    }
  }

  /**
   * Makes the tier writable again after a failure: checks that the file system has room for a
   * write (the free-space reserve plus one segment, or one largest page), and that RocksDB takes
   * writes; if RocksDB stopped after a background error (a flush that met a full disk), reopens it
   * (this RocksDB JNI has no {@code DB::Resume}). Reads go on meanwhile: they do not use RocksDB.
   * Then deletes the location records left by deletes that RocksDB refused.
   *
   * @return whether writes are expected to succeed now
   */
  @Override
  public boolean resumeWrites() {
    Lock life = lifecycle.readLock();
    life.lock();
    try {
      if (closed) {
        return false;
      }
      long need = config.freeSpaceReserveBytes + Math.min(segmentBytes, config.maxPageBytes);
      try {
        if (usableSpace() < need) {
          return false;
        }
      } catch (IOException e) {
        return false;
      }
      if (!probe()) {
        locationsSwap.writeLock().lock();
        try {
          if (!probe()) {
            try {
              locations.close();
            } catch (RuntimeException e) {
              // A stopped RocksDB may fail its close flush; it is reopened from its log below.
            }
            // If the reopen fails (a file system gone read-only, say), `locations` stays the
            // closed store, which refuses every call as RocksDB refuses a write (never a call
            // through a freed handle), and the next resume tries again.
            Runnable hook = beforeReopenForTest;
            if (hook != null) {
              hook.run();
            }
            locations = LocationStore.open(locations.dir(), config);
            locationStoreReopens.increment();
            if (reopenFailing) {
              reopenFailing = false;
              LOG.log(
                  System.Logger.Level.INFO,
                  "reopened the SSD tier''s RocksDB in {0}",
                  locations.dir());
            }
          }
        } catch (RuntimeException e) {
          if (!reopenFailing) {
            reopenFailing = true; // one line per streak of failures, not one per retry
            LOG.log(
                System.Logger.Level.WARNING,
                "cannot reopen the SSD tier''s RocksDB in {0} (it stopped taking writes): {1};"
                    + " reads go on, writes stay paused, retrying with backoff",
                locations.dir(),
                e.toString());
          }
          return false;
        } finally {
          locationsSwap.writeLock().unlock();
        }
        if (!probe()) {
          return false;
        }
      }
      rocksBytes = locations.bytesOnDisk();
      placeBallast();
      return pendingDeletes.drain(this::deleteLocationOrKeep);
    } finally {
      life.unlock();
    }
  }

  /**
   * Writes 4 KiB to a file beside the segments, forces it to the device and removes it: after
   * {@link #resumeWrites} (free space, RocksDB taking a write), the proof that the file system takes
   * data writes, for a store with no page waiting to be written back.
   *
   * @throws SsdStorageException NO_SPACE or IO_ERROR if the write or the force fails, or the tier
   *     is closed
   */
  @Override
  public void probeWrite() {
    Lock life = lifecycle.readLock();
    life.lock();
    try {
      if (closed) {
        throw new SsdStorageException(
            TierWriteException.Reason.IO_ERROR, "the SSD tier is closed", null);
      }
      try {
        IOException fault = writeFaultForTest; // a disk failing its writes fails this one too
        if (fault != null) {
          throw fault;
        }
        if (partialWriteFaultForTest >= 0) {
          throw new IOException("Input/output error (injected into the probe write)");
        }
        Files.deleteIfExists(probeFile);
        writeZeros(probeFile, 4096);
      } catch (IOException e) {
        throw new SsdStorageException("cannot write a probe file " + probeFile + ": " + e, e);
      } finally {
        try {
          Files.deleteIfExists(probeFile);
        } catch (IOException e) {
          // Removed at the next probe or open.
        }
      }
    } finally {
      life.unlock();
    }
  }

  /**
   * Writes the ballast if it is missing and the file system has room for it beyond the reserve; a
   * best effort (on a full file system the tier runs without one until {@link #resumeWrites}).
   */
  private void placeBallast() {
    long size = Math.min(BALLAST_BYTES, config.freeSpaceReserveBytes);
    if (size <= 0 || Files.exists(ballast)) {
      return;
    }
    try {
      if (usableSpace() < config.freeSpaceReserveBytes + size) {
        return;
      }
      writeZeros(ballast, size);
    } catch (IOException e) {
      try {
        Files.deleteIfExists(ballast);
      } catch (IOException suppressed) {
        // Nothing more to do: the next open deletes it anyway.
      }
    }
  }

  /** Writes {@code size} zero bytes into a new file and forces them to the device. */
  private static void writeZeros(Path path, long size) throws IOException {
    ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(64 << 10, size));
    try (FileChannel ch =
        FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      for (long done = 0; done < size; ) {
        zeros.clear().limit((int) Math.min(zeros.capacity(), size - done));
        done += ch.write(zeros, done);
      }
      ch.force(true);
    }
  }

  private boolean deleteLocationOrKeep(long hi, long lo) {
    Lock swap = locationsSwap.readLock();
    swap.lock();
    try {
      // Not a stripe's buffers: the drain holds no stripe lock.
      locations.delete(retrySlot, hi, lo);
      return true;
    } catch (RocksDBException | RuntimeException e) {
      return false;
    } finally {
      swap.unlock();
    }
  }

  /** Whether RocksDB takes a write now (a delete of a key no page has: the all-zero key). */
  private boolean probe() {
    if (probeFailuresForTest > 0) {
      probeFailuresForTest--;
      return false;
    }
    Lock swap = locationsSwap.readLock();
    swap.lock();
    try {
      locations.delete(new LocationStore.WriteSlot(), 0, 0);
      return true;
    } catch (RocksDBException | RuntimeException e) {
      return false;
    } finally {
      swap.unlock();
    }
  }

  /**
   * Waits for operations in flight, forces the segments written since open to the device, deletes
   * location records left by refused deletes, closes RocksDB (flushing it when there is no
   * write-ahead log), leaves the clean-close marker and closes the block index if the tier opened
   * it. Pages stay on disk. Idempotent.
   *
   * @throws SsdStorageException if forcing, flushing or closing fails (everything is closed anyway;
   *     without the clean marker the next open verifies every page's header)
   */
  @Override
  public void close() {
    lifecycle.writeLock().lock();
    try {
      if (closed) {
        return;
      }
      RecordDeleter d = deleter;
      if (d != null) {
        d.close(); // its queued deletes first: they use RocksDB, the journal and the segments
        deleter = null;
      }
      closed = true;
      closeResources(null);
    } finally {
      lifecycle.writeLock().unlock();
    }
  }

  private void closeResources(RuntimeException opening) {
    RuntimeException failure = null;
    for (int i = 0; i < slots.length(); i++) {
      Segment seg = slots.get(i);
      if (seg == null) {
        continue;
      }
      try {
        if (seg.written && opening == null) {
          seg.force();
        }
      } catch (IOException e) {
        failure = add(failure, new SsdStorageException("cannot force segment " + seg.path, e));
      }
      seg.close();
    }
    if (next != null) {
      spareFiles.add(next); // prepared, never written: deleted as a kept file is
      next = null;
    }
    for (Segment f : spareFiles) {
      try {
        f.delete();
      } catch (IOException e) {
        // The next open deletes it.
      }
    }
    spareFiles.clear();
    if (opening == null) {
      pendingDeletes.drain(this::deleteLocationOrKeep);
    }
    try {
      locations.close();
    } catch (RuntimeException e) {
      failure = add(failure, e);
    }
    handOver.close();
    if (failure == null && opening == null && pendingDeletes.isEmpty()) {
      try {
        writeSlotTable();
        CrashJournal j = journal;
        if (j != null) {
          j.closed(); // the clean marker governs the next open
        }
        Files.createFile(segmentDir.resolve(CLEAN_MARKER));
      } catch (IOException e) {
        failure = add(failure, new SsdStorageException("cannot write the clean-close marker", e));
      }
    }
    CrashJournal j = journal;
    journal = null; // no operation is in flight (the lifecycle lock), none comes after
    if (j != null) {
      j.close();
    }
    if (ownsIndex) {
      try {
        index.close();
      } catch (RuntimeException e) {
        failure = add(failure, e);
      }
    }
    if (failure != null) {
      if (opening != null) {
        opening.addSuppressed(failure);
        return;
      }
      throw failure;
    }
  }

  /** One INFO line after a crash: where the directory came from (the open's time depends on it). */
  private void logOpen(ReconcileReport r) {
    String line = openLine(r);
    if (line != null) {
      LOG.log(System.Logger.Level.INFO, line);
    }
    if (recordsLost) {
      LOG.log(
          System.Logger.Level.WARNING,
          String.format(
              java.util.Locale.ROOT,
              "SSD tier open without its damaged location records: %,d pages kept from the block"
                  + " index, their records written anew",
              r.recordsRestored()));
    }
    String evicted = evictedToFitLine(r, config);
    if (evicted != null) {
      LOG.log(System.Logger.Level.WARNING, evicted);
    }
  }

  /**
   * The WARN line of an open that evicted pages to fit the capacity (a smaller {@code ssd.bytes},
   * or a larger {@code ssd.min.page.bytes}, than the last run's), or null if it evicted none: those
   * pages are gone, and an operator who lowered the setting by mistake should hear of it.
   */
  static String evictedToFitLine(ReconcileReport r, SsdTierConfig config) {
    if (r.evictedToFit() == 0) {
      return null;
    }
    return String.format(
        java.util.Locale.ROOT,
        "SSD tier open: the pages on disk did not fit its capacity (%,d bytes, at most %,d pages;"
            + " ssd.bytes or ssd.min.page.bytes changed since the last run?): %,d pages evicted,"
            + " least recently used first; %,d pages (%,d bytes) kept",
        config.capacityBytes,
        config.maxPages,
        r.evictedToFit(),
        r.pagesLoaded(),
        r.bytesLoaded());
  }

  /** The line {@link #logOpen} says, or null after a clean close or for an empty tier. */
  static String openLine(ReconcileReport r) {
    String line = openLineOfSource(r);
    if (r.deletesFinished() == 0) {
      return line;
    }
    String deletes = String.format(
        java.util.Locale.ROOT,
        "%,d deletes answered before the crash finished (their location records deleted)",
        r.deletesFinished());
    return line == null ? "SSD tier open after a crash: " + deletes : line + "; " + deletes;
  }

  private static String openLineOfSource(ReconcileReport r) {
    return switch (r.source()) {
      case INDEX_AFTER_CRASH -> String.format(
          java.util.Locale.ROOT,
          "SSD tier open after a crash: kept the index the killed process left (nothing in it half"
              + " done, same boot): %,d pages; %,d location records of unanswered puts repaired",
          r.pagesLoaded(),
          r.recordsRepaired());
      case RECORDS -> r.orphansIndexed() == 0
          ? null
          : String.format(
              java.util.Locale.ROOT,
              "SSD tier directory rebuilt from its location records: %,d pages",
              r.pagesLoaded());
      case INDEX_CHECKED -> String.format(
          java.util.Locale.ROOT,
          "SSD tier open after a crash: every entry of the recovered index checked against its"
              + " page: %,d pages",
          r.pagesLoaded());
      case INDEX -> null;
    };
  }

  /**
   * This run's crash journal, with the slots as opened; or null if it cannot be made (then the
   * last run's is deleted, and a reopen after a crash rebuilds the directory from the records).
   */
  private CrashJournal makeJournal() {
    long[] ids = new long[slots.length()];
    for (int i = 0; i < ids.length; i++) {
      Segment seg = slots.get(i);
      ids[i] = seg == null ? -1 : seg.id;
    }
    try {
      return CrashJournal.create(journalDir, ids);
    } catch (IOException | RuntimeException e) {
      LOG.log(
          System.Logger.Level.WARNING,
          "cannot write the crash journal of the SSD tier in {0} ({1}): a restart after a crash"
              + " will rebuild the directory from the location records",
          journalDir,
          e.toString());
      if (!SyncedFiles.deleteAfter(e, journalDir.resolve(CrashJournal.FILE_NAME))) {
        throw new SsdStorageException(
            "cannot write the crash journal in " + journalDir + ", nor remove the last run's"
                + " (the failure to remove it is suppressed in the cause): " + e,
            e);
      }
      return null;
    }
  }

  /** Writes {@link #SLOTS_FILE} (through a temporary file, so it is whole or absent). */
  private void writeSlotTable() throws IOException {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < slots.length(); i++) {
      Segment seg = slots.get(i);
      if (seg != null) {
        b.append(Long.toHexString(seg.id)).append(' ').append(i).append('\n');
      }
    }
    Path tmp = segmentDir.resolve(SLOTS_FILE + ".tmp");
    Files.writeString(tmp, b);
    Files.move(tmp, segmentDir.resolve(SLOTS_FILE), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  private static RuntimeException add(RuntimeException failure, RuntimeException e) {
    if (failure == null) {
      return e;
    }
    failure.addSuppressed(e);
    return failure;
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("the SSD tier in " + config.dataDir + " is closed");
    }
  }

  static int stripe(long hi, long lo) {
    long h = (hi ^ Long.rotateLeft(lo, 29)) * 0x9E3779B97F4A7C15L;
    return (int) (h >>> 58) & (STRIPES - 1);
  }

  // ---- for SsdTierLoader (same package): state it fills while the tier is being opened ----

  /** Directory of the crash journal. */
  Path journalDir() {
    return journalDir;
  }

  Path segmentDir() {
    return segmentDir;
  }

  LocationStore locations() {
    return locations;
  }

  EvictionPolicy policy() {
    return policy;
  }

  /**
   * Registers a segment found on disk (sealed) in slot {@code wanted} if that is a free slot, else
   * in the lowest free slot; returns null if none is free. Call {@link
   * #rebuildFreeSlotsWhileOpening} after the last adoption.
   */
  Segment adoptWhileOpening(long id, int wanted) throws IOException {
    int slot;
    if (wanted >= 0 && wanted < slots.length() && slots.get(wanted) == null) {
      slot = wanted;
    } else {
      // Segments with a recorded slot come first, so the lowest free slot only moves up.
      while (openCursor < slots.length() && slots.get(openCursor) != null) {
        openCursor++;
      }
      if (openCursor == slots.length()) {
        return null;
      }
      slot = openCursor;
    }
    Segment seg = Segment.open(segmentDir, id, slot);
    slots.set(slot, seg);
    diskBytes += seg.size;
    nextSegmentId = Math.max(nextSegmentId, id + 1);
    return seg;
  }

  /** Makes the free-slot stack hold exactly the slots no adopted segment took, lowest on top. */
  void rebuildFreeSlotsWhileOpening() {
    freeTop = 0;
    for (int i = slots.length() - 1; i >= 0; i--) {
      if (slots.get(i) == null) {
        freeSlots[freeTop++] = i;
      }
    }
  }

  Segment slotWhileOpening(int slot) {
    return slots.get(slot);
  }

  int slotCount() {
    return slots.length();
  }

  /** Takes a segment out of the table while opening (policy not yet told, or already evicted). */
  Segment takeSlotWhileOpening(int slot) {
    return takeSlot(slot);
  }

  /**
   * Counts a page found on disk into its segment and the tier ({@link SsdTierLoader}, {@link
   * DirectoryRebuild}; one thread).
   */
  void addPageWhileOpening(Segment seg, long hi, long lo, long off, int len, long lastAccessMs) {
    seg.addKey(hi, lo, off);
    seg.liveBytes.addAndGet(len);
    seg.livePages.incrementAndGet();
    seg.lastAccessMs = Math.max(seg.lastAccessMs, lastAccessMs);
    usedBytes.addAndGet(len);
    pageCount.incrementAndGet();
  }

  long diskBytesWhileOpening() {
    rocksBytes = locations.bytesOnDisk();
    return diskBytes + rocksBytes;
  }

  LocationStore.WriteSlot writeSlot(long hi, long lo) {
    return writeSlots[stripe(hi, lo)];
  }

  BlockIndex indexWhileOpening() {
    return index;
  }

  /** Whether the open follows the removal of damaged location records ({@link #open}). */
  boolean recordsLost() {
    return recordsLost;
  }

  // ---- test hooks ----

  /** The allocation lock, for a test that holds it as a segment roll on a stalled disk would. */
  ReentrantLock allocationLockForTest() {
    return alloc;
  }

  /**
   * Takes the segment holding the key out of the table as an eviction does, without dropping it:
   * the window between choosing a victim and removing its pages, held open for a test.
   */
  Segment takeSegmentOfForTest(long hi, long lo) {
    IndexEntry e = new IndexEntry();
    alloc.lock();
    try {
      Segment seg;
      if (!index.get(hi, lo, e) || (seg = liveSegment(e)) == null) {
        throw new IllegalStateException("no page for the key");
      }
      policy.onRemove(seg.slot);
      return takeSlot(seg.slot);
    } finally {
      alloc.unlock();
    }
  }

  /** Finishes the eviction {@link #takeSegmentOfForTest} began. */
  void dropForTest(Segment seg) {
    drop(seg, true);
  }

  /** Overwrites the stored bytes of a key at its location, leaving the directory as it is. */
  void writeRawPageForTest(long hi, long lo, byte[] value) throws IOException {
    IndexEntry e = new IndexEntry();
    if (!index.get(hi, lo, e) || liveSegment(e) == null) {
      throw new IllegalStateException("no page for the key");
    }
    liveSegment(e).write(ByteBuffer.wrap(value), e.segmentOffset());
  }

  /** Zeroes the stored bytes of a key (the page vanished), leaving the directory as it is. */
  void deleteRawPageForTest(long hi, long lo) throws IOException {
    IndexEntry e = new IndexEntry();
    if (!index.get(hi, lo, e) || liveSegment(e) == null) {
      throw new IllegalStateException("no page for the key");
    }
    liveSegment(e).write(ByteBuffer.allocate(e.pageLength()), e.segmentOffset());
  }
}
