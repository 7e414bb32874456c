package io.kvstore.core.index;

import io.kvstore.core.tier.TierKind;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.ExternalMapQueryContext;
import net.openhft.chronicle.map.MapEntry;
import net.openhft.chronicle.map.MapSegmentContext;
import net.openhft.chronicle.values.Values;

/**
 * The block index: for every block the store knows, which tiers hold it, its page length, access
 * statistics and its parent key, and for pages on SSD their namespace and place (segment, offset):
 * it is the SSD tier's directory ({@code spec/6-ssd-segments.md}). Kept off-heap in a Chronicle Map
 * persisted in the data directory, so it costs no Java heap at 100M blocks and a restarted daemon
 * knows its SSD contents at once. Chronicle allocates the whole file when it creates it ({@link
 * #bytesFor}); a file system without room for it is an error when opening, never in a put.
 *
 * <p>Keys and values are Chronicle value interfaces ({@link IndexKey}, {@link IndexRecord}) of fixed
 * size; every operation reuses one key and one record instance per thread, and read-modify-write
 * operations run inside a Chronicle query context under the entry's segment update lock, so
 * concurrent updates of one key are not lost.
 *
 * <p>Crash safety: a clean {@link #close()} leaves a marker file; opening a map file without it (the
 * process died with the map open, possibly holding segment locks) runs Chronicle's recovery first.
 * Entries written by a process killed mid-update can be stale: the store reconciles the SSD bits
 * against RocksDB on open ({@code SsdTier}), and the volatile tiers' bits are cleared with {@link
 * #clearVolatileTiers()} since those tiers start empty.
 *
 * <p>Thread-safe.
 */
public final class BlockIndex implements AutoCloseable {

  /**
   * Name of the map file inside the data directory. v3: the record's byte layout is fixed ({@link
   * IndexRecord}); v2 files were written in whatever field order the writing JVM chose.
   */
  public static final String FILE_NAME = "block-index-v3.cm3";
  /**
   * Map files of earlier formats, deleted when the index opens: their layout cannot be read
   * reliably, and an index that opens new makes the SSD tier rebuild its directory from its
   * location records ({@link #created()}).
   */
  static final List<String> OLD_FILE_NAMES = List.of("block-index.cm3", "block-index-v2.cm3");
  /** Present while the map file is closed cleanly; removed while it is open. */
  public static final String CLEAN_MARKER_NAME = "block-index.clean";

  private static final System.Logger LOG = System.getLogger(BlockIndex.class.getName());

  /** Lower bound on the map's lock segments (see {@link #open}). */
  static final int MIN_SEGMENTS = 256;

  private static final int VOLATILE_TIERS = TierKind.HOT.bit() | TierKind.DRAM.bit();
  /**
   * Flag kept in the record's tier word: the memory copy is dirty (put, not yet handed to
   * write-back or written to SSD). Above every tier bit, so the SSD tier's {@code tiers & bit}
   * tests are unaffected, and the record layout (and map file) stays as it was.
   */
  static final int DIRTY_FLAG = 1 << 16;
  /** The tier bits of the tier word. */
  static final int TIER_MASK = DIRTY_FLAG - 1;
  /** Bits that make an entry "held for memory": a memory tier's bit or the dirty flag. */
  private static final int MEMORY_BITS = VOLATILE_TIERS | DIRTY_FLAG;

  private final ChronicleMap<IndexKey, IndexRecord> map;
  private final Path file;
  private final Path cleanMarker;
  private final long maxEntries;
  private final LongSupplier clockMs;
  private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);
  private final boolean recovered;
  private final boolean created;
  private final boolean reopenedAfterCrash;
  /** Entries held for memory ({@link #MEMORY_BITS}); bounded by {@link #memoryLimit}. */
  private final AtomicLong memoryEntries = new AtomicLong();
  /** Entries with the dirty flag. */
  private final AtomicLong dirtyEntries = new AtomicLong();
  private volatile long memoryLimit;
  private volatile boolean closed;

  /** One reusable key and record per thread, so no operation allocates. */
  private static final class Scratch {
    final IndexKey key = Values.newHeapInstance(IndexKey.class);
    final IndexRecord record = Values.newHeapInstance(IndexRecord.class);

    IndexKey key(long hi, long lo) {
      key.setHi(hi);
      key.setLo(lo);
      return key;
    }
  }

  private BlockIndex(
      ChronicleMap<IndexKey, IndexRecord> map,
      Path file,
      Path cleanMarker,
      long maxEntries,
      LongSupplier clockMs,
      boolean recovered,
      boolean created,
      boolean reopenedAfterCrash) {
    this.map = map;
    this.file = file;
    this.cleanMarker = cleanMarker;
    this.maxEntries = maxEntries;
    this.clockMs = clockMs;
    this.recovered = recovered;
    this.created = created;
    this.reopenedAfterCrash = reopenedAfterCrash;
    this.memoryLimit = maxEntries;
  }

  /** Opens (or creates) the index in {@code dataDir}, sized for {@code maxEntries}, wall clock. */
  public static BlockIndex open(Path dataDir, long maxEntries) {
    return open(dataDir, maxEntries, System::currentTimeMillis);
  }

  /**
   * Opens (or creates) the index in {@code dataDir}, sized for {@code maxEntries} entries.
   *
   * @param clockMs the time source for access and insert times (epoch ms)
   * @throws IllegalArgumentException if {@code maxEntries} is not positive
   * @throws UncheckedIOException if the directory cannot be created or the map file opened
   */
  public static BlockIndex open(Path dataDir, long maxEntries, LongSupplier clockMs) {
    if (maxEntries <= 0) {
      throw new IllegalArgumentException("maxEntries must be positive: " + maxEntries);
    }
    Path file = dataDir.resolve(FILE_NAME);
    Path marker = dataDir.resolve(CLEAN_MARKER_NAME);
    try {
      Files.createDirectories(dataDir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the index directory " + dataDir, e);
    }
    if (!Files.isWritable(dataDir)) {
      throw new UncheckedIOException(
          new IOException("the index directory is not writable: " + dataDir));
    }
    deleteOldFormats(dataDir);
    boolean exists = Files.exists(file);
    boolean recover = exists && !Files.exists(marker);
    File f = file.toFile();
    if (!exists) {
      checkRoom(dataDir, maxEntries);
      logLargeIndex(file, maxEntries);
    }
    ChronicleMap<IndexKey, IndexRecord> map;
    try {
      if (recover) {
        markHeaderReady(file);
      }
      var builder = builder(maxEntries);
      // Without the marker the last process died with the map open: its segment locks may still
      // be held and an entry may be half written. Recovery clears both.
      map = recover ? builder.recoverPersistedTo(f, true) : builder.createPersistedTo(f);
    } catch (IOException | RuntimeException e) {
      if (!exists) {
        io.kvstore.common.SyncedFiles.deleteAfter(e, file);
      }
      throw new UncheckedIOException(
          "cannot open the block index " + file + ": " + e,
          e instanceof IOException io ? io : new IOException(e));
    }
    try {
      if (exists && !recover) {
        // A map closed cleanly may still carry an entry count one off (an earlier build closed
        // the map it had kept after a crash without recounting it: recountAll).
        recountAll(map);
      }
      Files.deleteIfExists(marker);
      syncDirectory(dataDir);
    } catch (IOException e) {
      map.close();
      throw new UncheckedIOException("cannot remove the index's clean-close marker " + marker, e);
    } catch (RuntimeException e) {
      map.close();
      throw e;
    }
    return new BlockIndex(map, file, marker, maxEntries, clockMs, recover, !exists, false);
  }

  /**
   * Clears the "not complete" flag of the map file's header size word if a process left it set: a
   * recovery or a creation of the file that was killed (Chronicle Map sets it for the time of
   * either). Chronicle's {@code recoverPersistedTo} takes the flag for another process still
   * creating the file and waits a minute for it ({@code ChronicleMapBuilder.waitUntilReady}: 600
   * sleeps of 100 ms) before it recovers the file all the same: seen as a 62 s restart in a crash
   * run that killed a daemon ({@code none}) during the recovery of its index. No other process
   * has the file open (the data directory's lock), so the recovery goes on at once, as it would
   * after the minute: it sets the flag itself, checks the header (rewriting it from this
   * builder's configuration if its checksum fails) and recovers the entries.
   */
  private static void markHeaderReady(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      if (ch.size() < net.openhft.chronicle.hash.impl.SizePrefixedBlob.SELF_BOOTSTRAPPING_HEADER_OFFSET) {
        return; // no header to mark: Chronicle's own error, after its wait
      }
      java.nio.ByteBuffer word =
          java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      long at = net.openhft.chronicle.hash.impl.SizePrefixedBlob.SIZE_WORD_OFFSET;
      while (word.hasRemaining() && ch.read(word, at + word.position()) >= 0) {
        // until the four bytes are read
      }
      int sizeWord = word.getInt(0);
      if (net.openhft.chronicle.hash.impl.SizePrefixedBlob.isReady(sizeWord)
          || net.openhft.chronicle.hash.impl.SizePrefixedBlob.extractSize(sizeWord) == 0) {
        return; // ready; or no header size to keep (Chronicle's own error, after its wait)
      }
      LOG.log(
          System.Logger.Level.INFO,
          "the block index {0} was left in the middle of its recovery or creation by a killed"
              + " process: recovering it now",
          file);
      word.putInt(0, sizeWord & ~net.openhft.chronicle.hash.impl.SizePrefixedBlob.NOT_COMPLETE);
      word.clear();
      while (word.hasRemaining()) {
        ch.write(word, at + word.position());
      }
      ch.force(false);
    }
  }

  /**
   * Initializes the Chronicle class that registers a JVM shutdown hook the first time an index is
   * opened (Chronicle Core's {@code BackgroundResourceReleaser}). Registering a hook fails once
   * the JVM is shutting down, so without this a SIGTERM that arrives while a daemon opens its store
   * makes that open fail with {@code ExceptionInInitializerError: Shutdown in progress} (seen: a
   * daemon signalled 0.9 s after its start printed two stack traces and never closed its store)
   * instead of letting it finish and be closed by the daemon's own hook. A process that stops its
   * store from a shutdown hook calls this before installing that hook.
   *
   * @throws IllegalStateException if the class cannot be loaded (a broken class path)
   */
  public static void initializeShutdownHooks() {
    try {
      Class.forName(
          "net.openhft.chronicle.core.io.BackgroundResourceReleaser",
          true,
          BlockIndex.class.getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException("Chronicle Core is missing from the class path", e);
    }
  }

  private static net.openhft.chronicle.map.ChronicleMapBuilder<IndexKey, IndexRecord> builder(
      long maxEntries) {
    return ChronicleMap.of(IndexKey.class, IndexRecord.class)
        .name("kvstore-block-index")
        .entries(maxEntries)
        // Chronicle sizes a 131k-entry map with 16 segments, each guarded by a spin lock: the
        // put path, the write-back writers and the event loops met on them (a JFR profile of
        // the write-back steady state had ~20% of samples spinning in
        // BigSegmentHeader.tryUpdateLockMillis). Segments cost a few KiB each.
        .minSegments(MIN_SEGMENTS)
        // The owner closes the index (after the tiers that use it): Chronicle's own JVM
        // shutdown hook would close it under a daemon still draining requests on SIGTERM.
        .skipCloseOnExitHook(true);
  }

  /**
   * Reopens, as it is and without Chronicle's recovery, the map file a killed process left (no
   * clean-close marker), if no change of it was left half done ({@link #allLocksFree}). Every
   * change of the map runs under its segment's lock (update or write level) and a killed process's
   * stores into the shared mapping are in the page cache, so such a map holds every change the
   * process finished and nothing visible of one it did not: the state it had when it was killed.
   * A segment locked for write (the process was killed inside a removal or an update) may hold a
   * half-written entry: then the file is left as it is and this returns null. Only for a
   * process crash: after a machine crash the mapping's stores may not have reached the disk (the
   * SSD tier tells by the boot id, {@code CrashJournal}).
   *
   * @return the index, with {@link #reopenedAfterCrash()} true; or null if there is no such file
   *     (none, or it was closed cleanly: {@link #open} it) or a segment lock is held
   * @throws UncheckedIOException if the file cannot be opened
   */
  public static BlockIndex reopenUnlocked(Path dataDir, long maxEntries) {
    Path file = dataDir.resolve(FILE_NAME);
    Path marker = dataDir.resolve(CLEAN_MARKER_NAME);
    if (maxEntries <= 0) {
      throw new IllegalArgumentException("maxEntries must be positive: " + maxEntries);
    }
    if (!Files.exists(file) || Files.exists(marker) || !Files.isWritable(dataDir)) {
      return null;
    }
    ChronicleMap<IndexKey, IndexRecord> map;
    try {
      map = builder(maxEntries).createPersistedTo(file.toFile());
    } catch (IOException | RuntimeException e) {
      throw new UncheckedIOException(
          "cannot open the block index " + file + ": " + e,
          e instanceof IOException io ? io : new IOException(e));
    }
    boolean free;
    try {
      free = allLocksFree(map);
    } catch (RuntimeException e) {
      map.close(); // e.g. a Chronicle Map whose implementation classes are not the ones read here
      throw e;
    }
    if (!free) {
      map.close();
      LOG.log(
          System.Logger.Level.INFO,
          "the block index {0} was left in the middle of a change (a segment lock held for"
              + " write): the SSD tier rebuilds its directory from its location records",
          file);
      return null;
    }
    return new BlockIndex(map, file, marker, maxEntries, System::currentTimeMillis, false, false, true);
  }

  /** The lock word's write flag (Chronicle Map spec 3.2: bit 31). */
  private static final long WRITE_FLAG = 0x8000_0000L;
  /** The lock word's update flag (bit 30). */
  private static final long UPDATE_FLAG = 0x4000_0000L;

  /**
   * Whether no change of the map was left half done by its last process, and if so, clears what
   * that process left in the segments' lock words. By Chronicle Map's protocol (its spec, 3.2 and
   * 6):
   *
   * <ul>
   *   <li>a segment locked for <em>write</em> may be in the middle of any change (a removal, an
   *       in-place value update): refused;
   *   <li>a segment locked for <em>update</em> only may be in the middle of an insertion, which runs
   *       at that level: chunks are allocated in the free list, the entry written, and last the
   *       hash lookup slot that makes it visible (with a write barrier). Cut short, it leaves the
   *       entry invisible and its chunks taken for nothing; completed, a whole entry. Neither harms
   *       what lookups see, so it is kept, unless the map uses extra tiers (an insertion may then
   *       have been linking a new tier into the segment's chain): refused. But the segment's entry
   *       count may then be one off what its hash lookup holds, and Chronicle's iteration trusts
   *       that count: one too high, every iteration of the segment throws ("Size diverged?", seen
   *       when a daemon restarted by {@code kvbench crashtest} could not open its store); one too
   *       low, it stops before the last entry. So every segment's entries are counted through its
   *       hash lookup and the count set to that ({@link #recountEntries}): every segment, since a
   *       process that reopened the map and died before its own recount had cleared the flags
   *       that named them (one pass over the entries, like the SSD tier's scan that follows). (A
   *       value update that must move its entry also runs at this level, but this map's values
   *       have one fixed size and are updated in place, under the write lock.)
   *   <li>a read count (a get that was running) or a wait count (a writer that was waiting) harms no
   *       data but would block every later writer (or reader) of the segment until Chronicle's
   *       one-minute lock timeout.
   * </ul>
   *
   * Every lock word is then cleared. Reads them through Chronicle's implementation classes ({@code
   * VanillaChronicleHash}, {@code BigSegmentHeader}): its public API can only try to take a lock,
   * which does not see a wait count. Only for a map no other process has open (the data directory
   * lock guarantees it).
   */
  static boolean allLocksFree(ChronicleMap<IndexKey, IndexRecord> map) {
    var hash = (net.openhft.chronicle.hash.impl.VanillaChronicleHash<?, ?, ?, ?>) map;
    var header = net.openhft.chronicle.hash.impl.BigSegmentHeader.INSTANCE;
    boolean extraTiers = hash.globalMutableState().getExtraTiersInUse() != 0;
    int segments = map.segments();
    for (int i = 0; i < segments; i++) {
      long state = header.getLockState(hash.segmentHeaderAddress(i));
      if ((state & WRITE_FLAG) != 0 || ((state & UPDATE_FLAG) != 0 && extraTiers)) {
        return false;
      }
    }
    for (int i = 0; i < segments; i++) {
      long address = hash.segmentHeaderAddress(i);
      if (header.getLockState(address) != 0) {
        header.resetLock(address);
      }
    }
    // Every segment, not only those locked for update now: a process that reopened this map and
    // died (or failed) before its recount cleared the flags that named them.
    recountAll(map);
    return true;
  }

  /**
   * {@link #recountEntries} for every segment, when the map uses one tier per segment (the count
   * set is the first tier's; with extra tiers in use a segment locked for update is refused by
   * {@link #allLocksFree}, and nothing here is changed). One pass over the entries.
   */
  static void recountAll(ChronicleMap<IndexKey, IndexRecord> map) {
    var hash = (net.openhft.chronicle.hash.impl.VanillaChronicleHash<?, ?, ?, ?>) map;
    if (hash.globalMutableState().getExtraTiersInUse() != 0) {
      return;
    }
    for (int i = 0; i < map.segments(); i++) {
      recountEntries(map, i);
    }
  }

  /**
   * Sets segment {@code segment}'s entry count (one tier: the map uses no extra tiers) to the
   * entries its hash lookup holds. Chronicle's iteration stops once it has met as many entries as
   * the count says, and throws if it meets fewer; so the count is first set past any the segment
   * can hold, the iteration meets every entry and then throws for the ones it did not find, and
   * the entries met become the count.
   */
  static void recountEntries(ChronicleMap<IndexKey, IndexRecord> map, int segment) {
    var hash = (net.openhft.chronicle.hash.impl.VanillaChronicleHash<?, ?, ?, ?>) map;
    var header = net.openhft.chronicle.hash.impl.BigSegmentHeader.INSTANCE;
    long address = hash.segmentHeaderAddress(segment);
    header.entries(address, Integer.MAX_VALUE);
    long[] met = new long[1];
    try (var c = map.segmentContext(segment)) {
      c.forEachSegmentEntryWhile(e -> {
        met[0]++;
        return true;
      });
    } catch (IllegalStateException e) {
      // Expected: the count set above is more than the segment holds, and Chronicle says so
      // after meeting every entry. Anything else is not a count to fix.
      if (e.getMessage() == null || !e.getMessage().contains("Size diverged")) {
        throw e;
      }
    }
    header.entries(address, met[0]);
  }

  /** Deletes map files of earlier formats ({@link #OLD_FILE_NAMES}) in {@code dataDir}. */
  private static void deleteOldFormats(Path dataDir) {
    for (String name : OLD_FILE_NAMES) {
      Path old = dataDir.resolve(name);
      try {
        if (Files.deleteIfExists(old)) {
          LOG.log(
              System.Logger.Level.WARNING,
              "deleted the block index {0}, of an earlier format: the SSD tier rebuilds its"
                  + " directory from its location records",
              old);
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot delete the old block index " + old, e);
      }
    }
  }

  /**
   * Deletes the map file if the last process did not close it (no clean-close marker), so that the
   * next {@link #open} starts an empty map instead of running Chronicle's recovery on it. For a
   * store whose SSD tier logs its location records (durability {@code wal} or {@code sync}), which
   * rebuilds its directory from them after a crash: Chronicle's recovery of a map whose process was
   * killed mid-update can bring back removed entries and leave overlapping ones (seen in {@code
   * kvbench crashtest}: entries with fields of other entries, stale SSD locations served again).
   *
   * @return whether a file was deleted
   * @throws UncheckedIOException if the file cannot be deleted
   */
  public static boolean discardUnclean(Path dataDir) {
    Path file = dataDir.resolve(FILE_NAME);
    if (!Files.exists(file) || Files.exists(dataDir.resolve(CLEAN_MARKER_NAME))) {
      return false;
    }
    try {
      Files.delete(file);
      syncDirectory(dataDir);
      return true;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete the unclean block index " + file, e);
    }
  }

  /**
   * Bytes a map file of {@code entries} entries takes: Chronicle Map allocates the whole file when
   * it creates it (fallocate), about 108 bytes per entry for this key and value (measured: 2M
   * entries, 205 MiB), so writes through the mapping never meet a full disk.
   */
  public static long bytesFor(long entries) {
    return entries * 108 + (4L << 20);
  }

  /** Fails with a message that says what is missing when a new map file cannot fit. */
  private static void checkRoom(Path dir, long entries) {
    long need = bytesFor(entries);
    long free;
    long total;
    try {
      java.nio.file.FileStore fs = Files.getFileStore(dir);
      free = fs.getUsableSpace();
      total = fs.getTotalSpace();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the free space of " + dir, e);
    }
    if (need > free) {
      throw new NoRoomException(
          "cannot open the block index: needs "
              + String.format("%,d", need)
              + " bytes ("
              + String.format("%,d", entries)
              + " entries), "
              + String.format("%,d", free)
              + " free in "
              + dir
              + (need > total
                  ? " (lower the SSD capacity or raise the smallest page size,"
                      + " ssd.min.page.bytes)"
                  : " (other files fill its file system: free room there, or lower the SSD"
                      + " capacity or raise the smallest page size, ssd.min.page.bytes)"));
    }
  }

  /**
   * A new index file cannot fit its file system: refused at open, before anything is made. The
   * message names the directory, the bytes needed and free, and what to change, so an operator
   * needs no stack trace.
   */
  public static final class NoRoomException extends UncheckedIOException {

    private static final long serialVersionUID = 1L;

    NoRoomException(String message) {
      super(message, new IOException(message));
    }
  }

  /** Index files from this size on get a line in the log when they are made. */
  static final long LARGE_INDEX_BYTES = 4L << 30;

  /**
   * One INFO line before a large new index file is made ({@link #largeIndexLine}).
   */
  private static void logLargeIndex(Path file, long entries) {
    String line = largeIndexLine(file, entries, LARGE_INDEX_BYTES);
    if (line != null) {
      LOG.log(System.Logger.Level.INFO, line);
    }
  }

  /**
   * The line said before a new index file of {@code threshold} bytes or more is made, or null:
   * Chronicle Map reads the whole of its hash lookup area when it lays out a new file, which on a
   * 2-vCPU host took about a minute for the 24 GB index of an 1800 GB tier with 16 KiB pages
   * (bench/README.md), at the first start and after every crash with {@code wal} or {@code sync}
   * (the index is made anew then). The remedy is the operator's: a smallest page size
   * (ssd.min.page.bytes) closer to the pages stored.
   */
  static String largeIndexLine(Path file, long entries, long threshold) {
    long bytes = bytesFor(entries);
    if (bytes < threshold) {
      return null;
    }
    return String.format(
        java.util.Locale.ROOT,
        "making a new block index of about %,d bytes for %,d entries in %s (sized from ssd.bytes"
            + " and ssd.min.page.bytes): laying out a large index takes time (about a minute for"
            + " 24 GB on a 2-vCPU host), here and after every crash with ssd.durability wal or sync;"
            + " a smallest page size closer to the pages stored makes it smaller",
        bytes,
        entries,
        file);
  }

  /**
   * Makes a file creation or removal in {@code dir} durable (best effort where unsupported). Shared
   * by the store's other files that follow the same rule (the SSD tier's clean marker, the index's
   * copy in the data directory).
   */
  public static void syncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException | RuntimeException e) {
      // Some platforms cannot open a directory; the marker is then only as durable as the OS makes it.
    }
  }

  /**
   * Whether opening created the map file: a first start, or the file was missing (deleted by
   * {@link #discardUnclean}, of an earlier format, or removed by hand). The index then knows no SSD
   * page, and the SSD tier rebuilds its directory from its location records.
   */
  public boolean created() {
    return created;
  }

  /**
   * Whether this index is the map a killed process left, reopened as it was ({@link
   * #reopenUnlocked}).
   */
  public boolean reopenedAfterCrash() {
    return reopenedAfterCrash;
  }

  /** Whether opening ran Chronicle's recovery (the previous process did not close the index). */
  public boolean recovered() {
    return recovered;
  }

  /** The entry bound this index was sized for. */
  public long maxEntries() {
    return maxEntries;
  }

  /** The map file. */
  public Path file() {
    return file;
  }

  /**
   * Bounds the entries held for memory (an entry with a memory tier's bit or the dirty flag) to
   * {@code limit}, so that pages of the memory tiers never take the room the SSD tier's pages were
   * sized for: {@link #markPresent(long, long, TierKind, int, long, long, long, boolean)} refuses
   * a block that would exceed it. Default: {@link #maxEntries()}.
   */
  public void limitMemoryEntries(long limit) {
    if (limit <= 0) {
      throw new IllegalArgumentException("memory entry limit must be positive: " + limit);
    }
    memoryLimit = limit;
  }

  /** The bound set by {@link #limitMemoryEntries}. */
  public long memoryEntryLimit() {
    return memoryLimit;
  }

  /** Entries held for memory now (a memory tier's bit or the dirty flag). */
  public long memoryEntries() {
    return memoryEntries.get();
  }

  /** Entries whose memory copy is dirty now. */
  public long dirtyEntries() {
    return dirtyEntries.get();
  }

  /**
   * {@link #markPresent(long, long, TierKind, int, long, long, long, boolean)} for a clean page of
   * namespace 0, failing loudly when the index is full (tests and tools).
   *
   * @throws IllegalStateException if the index is full
   */
  public void markPresent(
      long hi, long lo, TierKind tier, int pageLength, long parentHi, long parentLo) {
    if (!markPresent(hi, lo, tier, pageLength, parentHi, parentLo, 0L, false)) {
      throw new IllegalStateException("the block index is full (sized for " + maxEntries + " entries)");
    }
  }

  /**
   * Records that {@code tier} holds (or is about to hold) the block, with its page length, parent
   * and namespace, and marks it dirty if {@code dirty} (a clean call leaves an existing dirty flag
   * as it is: erring towards dirty is safe). Creates the entry (insert time = access time = now,
   * access count 0) if the block is new. Never throws for a full index: the memory tiers call it
   * before they store the page, and a page that cannot be recorded is not stored.
   *
   * @return false, changing nothing, if the block would be a new entry held for memory beyond
   *     {@link #limitMemoryEntries the memory bound} or the map has no room for a new entry
   */
  public boolean markPresent(
      long hi,
      long lo,
      TierKind tier,
      int pageLength,
      long parentHi,
      long parentLo,
      long namespaceId,
      boolean dirty) {
    return present(
        hi,
        lo,
        tier.bit() | (dirty ? DIRTY_FLAG : 0),
        true,
        pageLength,
        parentHi,
        parentLo,
        namespaceId);
  }

  /**
   * Marks the block dirty before its new page enters memory, creating its entry if needed, so that
   * a put learns that the index has no room for it before it touches the stored page (the entry
   * then exists, held for memory, and the tier's {@link #markPresent} cannot fail on room). An
   * existing entry only gets the flag: its fields still describe the stored page (its SSD copy is
   * read by them until the put removed it); the length, parent and namespace given are for a new
   * entry.
   *
   * @return false, changing nothing, as {@link #markPresent} refuses
   */
  public boolean reserveDirty(
      long hi, long lo, int pageLength, long parentHi, long parentLo, long namespaceId) {
    return present(hi, lo, DIRTY_FLAG, false, pageLength, parentHi, parentLo, namespaceId);
  }

  /** Answer of {@link #memoryOwnership}: the block has no entry (no tier holds it). */
  public static final int NOT_INDEXED = -2;
  /** Answer of {@link #memoryOwnership}: no memory tier holds the block, another tier may. */
  public static final int NOT_IN_MEMORY = -1;
  /** Answer of {@link #memoryOwnership}: a memory tier holds the block, of another namespace. */
  public static final int MEMORY_FOREIGN = 0;
  /** Answer of {@link #memoryOwnership}: a memory tier holds the block, of this namespace. */
  public static final int MEMORY_OWN = 1;

  /**
   * Whether a memory tier holds the block and, if so, whether it is of {@code namespaceId}: from the
   * entry alone, no page read. A memory tier's bit is set before its page enters the tier and
   * cleared after it left, with the page's namespace, so the answer names the page memory serves.
   */
  public int memoryOwnership(long hi, long lo, long namespaceId) {
    Scratch s = scratch.get();
    IndexRecord r = map.getUsing(s.key(hi, lo), s.record);
    if (r == null) {
      return NOT_INDEXED;
    }
    if ((r.getTiers() & VOLATILE_TIERS) == 0) {
      return NOT_IN_MEMORY;
    }
    return r.getNamespaceId() == namespaceId ? MEMORY_OWN : MEMORY_FOREIGN;
  }

  /**
   * Sets the bits {@code add}; sets the page's fields on a new entry, and on an existing one if
   * {@code overwrite}. Refuses (false, nothing changed) a new entry held for memory beyond the bound
   * or one the map has no room for.
   */
  private boolean present(
      long hi,
      long lo,
      int add,
      boolean overwrite,
      int pageLength,
      long parentHi,
      long parentLo,
      long namespaceId) {
    if (pageLength < 0) {
      throw new IllegalArgumentException("negative page length: " + pageLength);
    }
    Scratch s = scratch.get();
    IndexRecord r = s.record;
    try (ExternalMapQueryContext<IndexKey, IndexRecord, ?> c = map.queryContext(s.key(hi, lo))) {
      c.updateLock().lock();
      MapEntry<IndexKey, IndexRecord> e = c.entry();
      int before = 0;
      if (e != null) {
        e.value().getUsing(r);
        before = r.getTiers();
      }
      int after = before | add;
      if (e != null && after == before && !overwrite) {
        return true; // a reservation of an entry already dirty: nothing to write
      }
      boolean newMemory = (before & MEMORY_BITS) == 0 && (after & MEMORY_BITS) != 0;
      if (newMemory && memoryEntries.incrementAndGet() > memoryLimit) {
        memoryEntries.decrementAndGet();
        return false;
      }
      try {
        r.setTiers(after);
        if (e == null || overwrite) {
          setPage(r, pageLength, parentHi, parentLo, namespaceId);
        }
        if (e != null) {
          c.replaceValue(e, c.wrapValueAsData(r));
        } else {
          long now = clockMs.getAsLong();
          r.setAccessCount(0);
          r.setLastAccessMs(now);
          r.setInsertTimeMs(now);
          r.setSegmentId(0);
          r.setSegmentOffset(0);
          r.setSegmentSlot(0);
          c.insert(c.absentEntry(), c.wrapValueAsData(r));
        }
      } catch (IllegalStateException full) {
        // Chronicle has no room left in the key's segment: refuse, the entry is as it was.
        if (newMemory) {
          memoryEntries.decrementAndGet();
        }
        return false;
      }
      countTransition(before, after);
      return true;
    }
  }

  /** The fields every tier records of the page itself (from its header). */
  private static void setPage(
      IndexRecord r, int pageLength, long parentHi, long parentLo, long namespaceId) {
    r.setPageLength(pageLength);
    r.setParentHi(parentHi);
    r.setParentLo(parentLo);
    r.setNamespaceId(namespaceId);
  }

  /** Keeps the dirty count after an entry's tier word went from {@code before} to {@code after}. */
  private void countDirty(int before, int after) {
    int d = (after & DIRTY_FLAG) - (before & DIRTY_FLAG);
    if (d > 0) {
      dirtyEntries.incrementAndGet();
    } else if (d < 0) {
      dirtyEntries.decrementAndGet();
    }
  }

  /** Keeps both counts after a change that did not go through the memory bound's check. */
  private void countTransition(int before, int after) {
    countDirty(before, after);
    boolean was = (before & MEMORY_BITS) != 0;
    boolean is = (after & MEMORY_BITS) != 0;
    if (was && !is) {
      memoryEntries.decrementAndGet();
    }
    // was -> is is counted by markPresent's bound check, the only way into memory.
  }

  /**
   * Clears the bits in {@code clear} from the key's tier word; removes the entry when nothing is
   * left. Returns the tier word as it was (0 if absent).
   */
  private int clearBits(long hi, long lo, int clear) {
    Scratch s = scratch.get();
    IndexRecord r = s.record;
    try (ExternalMapQueryContext<IndexKey, IndexRecord, ?> c = map.queryContext(s.key(hi, lo))) {
      c.updateLock().lock();
      MapEntry<IndexKey, IndexRecord> e = c.entry();
      if (e == null) {
        return 0;
      }
      e.value().getUsing(r);
      int before = r.getTiers();
      int after = before & ~clear;
      if (after == before) {
        return before;
      }
      if (after == 0) {
        c.remove(e);
      } else {
        r.setTiers(after);
        c.replaceValue(e, c.wrapValueAsData(r));
      }
      countTransition(before, after);
      return before;
    }
  }

  /**
   * A page leaves memory tier {@code tier} and memory altogether (evicted with no lower memory
   * tier taking it, or removed): clears the tier's bit and the dirty flag in one step; removes the
   * entry when no tier is left.
   *
   * @return whether the page was dirty (the caller then owes it a write-back)
   */
  public boolean leaveMemory(long hi, long lo, TierKind tier) {
    return (clearBits(hi, lo, tier.bit() | DIRTY_FLAG) & DIRTY_FLAG) != 0;
  }

  /**
   * Clears the dirty flag (the page was written to SSD or handed to write-back, or it is being
   * removed); removes the entry when no tier is left.
   *
   * @return whether it was dirty
   */
  public boolean clearDirty(long hi, long lo) {
    return (clearBits(hi, lo, DIRTY_FLAG) & DIRTY_FLAG) != 0;
  }

  /** Whether the key's memory copy is dirty. */
  public boolean isDirty(long hi, long lo) {
    Scratch s = scratch.get();
    IndexRecord r = map.getUsing(s.key(hi, lo), s.record);
    return r != null && (r.getTiers() & DIRTY_FLAG) != 0;
  }

  /**
   * The keys with the dirty flag now, as {@code hi, lo} pairs, segment by segment. Allocates; for
   * the close flush, which then handles each key under its key lock.
   */
  public long[] dirtyKeys() {
    IndexKey key = Values.newHeapInstance(IndexKey.class);
    IndexRecord record = Values.newHeapInstance(IndexRecord.class);
    long[][] out = {new long[64]};
    int[] n = {0};
    for (int i = 0; i < map.segments(); i++) {
      try (MapSegmentContext<IndexKey, IndexRecord, ?> c = map.segmentContext(i)) {
        c.forEachSegmentEntry(
            e -> {
              e.value().getUsing(record);
              if ((record.getTiers() & DIRTY_FLAG) == 0) {
                return;
              }
              e.key().getUsing(key);
              if (2 * n[0] + 2 > out[0].length) {
                out[0] = java.util.Arrays.copyOf(out[0], out[0].length * 2);
              }
              out[0][2 * n[0]] = key.getHi();
              out[0][2 * n[0] + 1] = key.getLo();
              n[0]++;
            });
      }
    }
    return java.util.Arrays.copyOf(out[0], 2 * n[0]);
  }

  /** Passed to {@link #removeSsd} to remove the SSD location whatever it is. */
  public static final long ANY_SEGMENT = -1;

  /**
   * Records that the SSD tier holds the page at {@code (segmentId, offset)} of slot {@code slot},
   * atomically with respect to other updates of the key. Creates the entry if needed (insert time
   * = now); sets the last access to now.
   *
   * @param previous filled with the entry as it was, if it had the SSD bit
   * @return whether the entry had the SSD bit (the page replaced a stored one)
   * @throws IllegalStateException if the index is full (the SSD tier sizes it so it never is)
   */
  public boolean putSsd(
      long hi,
      long lo,
      int pageLength,
      long namespaceId,
      long parentHi,
      long parentLo,
      long segmentId,
      long offset,
      int slot,
      IndexEntry previous) {
    Scratch s = scratch.get();
    IndexRecord r = s.record;
    long now = clockMs.getAsLong();
    try (ExternalMapQueryContext<IndexKey, IndexRecord, ?> c = map.queryContext(s.key(hi, lo))) {
      c.updateLock().lock();
      MapEntry<IndexKey, IndexRecord> e = c.entry();
      boolean had = false;
      if (e != null) {
        e.value().getUsing(r);
        had = (r.getTiers() & TierKind.SSD.bit()) != 0;
        if (had) {
          previous.copyFrom(hi, lo, r);
        }
        r.setTiers(r.getTiers() | TierKind.SSD.bit());
      } else {
        r.setTiers(TierKind.SSD.bit());
        r.setAccessCount(0);
        r.setInsertTimeMs(now);
      }
      setPage(r, pageLength, parentHi, parentLo, namespaceId);
      r.setLastAccessMs(now);
      r.setSegmentId(segmentId);
      r.setSegmentOffset(offset);
      r.setSegmentSlot(slot);
      if (e != null) {
        c.replaceValue(e, c.wrapValueAsData(r));
      } else {
        c.insert(c.absentEntry(), c.wrapValueAsData(r));
      }
      return had;
    } catch (IllegalStateException e) {
      throw new IllegalStateException(
          "the block index is full (sized for " + maxEntries + " entries): " + e.getMessage(), e);
    }
  }

  /**
   * Clears the SSD bit of the key if its SSD location is {@code (segmentId, offset)} (or whatever it
   * is, with {@link #ANY_SEGMENT}), atomically; removes the entry when no tier is left.
   *
   * @param removed filled with the entry as it was, when this call cleared the bit
   * @return whether this call cleared the bit
   */
  public boolean removeSsd(long hi, long lo, long segmentId, long offset, IndexEntry removed) {
    Scratch s = scratch.get();
    IndexRecord r = s.record;
    try (ExternalMapQueryContext<IndexKey, IndexRecord, ?> c = map.queryContext(s.key(hi, lo))) {
      c.updateLock().lock();
      MapEntry<IndexKey, IndexRecord> e = c.entry();
      if (e == null) {
        return false;
      }
      e.value().getUsing(r);
      int tiers = r.getTiers();
      if ((tiers & TierKind.SSD.bit()) == 0
          || (segmentId != ANY_SEGMENT
              && (r.getSegmentId() != segmentId || r.getSegmentOffset() != offset))) {
        return false;
      }
      removed.copyFrom(hi, lo, r);
      tiers &= ~TierKind.SSD.bit();
      if (tiers == 0) {
        c.remove(e);
      } else {
        r.setTiers(tiers);
        c.replaceValue(e, c.wrapValueAsData(r));
      }
      return true;
    }
  }

  /** Decides, for each SSD entry met by {@link #scanSsd}, whether it stays. */
  @FunctionalInterface
  public interface SsdEntryCheck {
    /** Returned to clear the entry's SSD bit. */
    int DROP = -1;

    /**
     * @param entry a holder reused for every call
     * @return the segment slot to record for the entry, or {@link #DROP}
     */
    int check(IndexEntry entry);
  }

  /**
   * Calls {@code check} for every entry with the SSD bit, segment by segment, in place (no memory
   * per entry): an entry it drops loses the SSD bit (and is removed when no tier is left), an entry
   * it keeps gets the slot it returns. {@code check} must not call back into this index. Used by
   * the SSD tier when it opens: this is how a restart learns its pages without reading them.
   *
   * @return the number of entries dropped
   */
  public long scanSsd(SsdEntryCheck check) {
    IndexKey key = Values.newHeapInstance(IndexKey.class);
    IndexRecord record = Values.newHeapInstance(IndexRecord.class);
    IndexEntry holder = new IndexEntry();
    int bit = TierKind.SSD.bit();
    long[] dropped = new long[1];
    for (int i = 0; i < map.segments(); i++) {
      try (MapSegmentContext<IndexKey, IndexRecord, ?> c = map.segmentContext(i)) {
        c.forEachSegmentEntry(
            e -> {
              e.value().getUsing(record);
              int tiers = record.getTiers();
              if ((tiers & bit) == 0) {
                return;
              }
              e.key().getUsing(key);
              holder.copyFrom(key.getHi(), key.getLo(), record);
              int slot = check.check(holder);
              if (slot == SsdEntryCheck.DROP) {
                dropped[0]++;
                if ((tiers & ~bit) == 0) {
                  e.doRemove();
                } else {
                  record.setTiers(tiers & ~bit);
                  e.doReplaceValue(e.context().wrapValueAsData(record));
                }
              } else if (slot != record.getSegmentSlot()) {
                record.setSegmentSlot(slot);
                e.doReplaceValue(e.context().wrapValueAsData(record));
              }
            });
      }
    }
    return dropped[0];
  }


  /**
   * Records that {@code tier} no longer holds the block (the dirty flag stays); removes the entry
   * when no tier is left and it is not dirty.
   *
   * @return whether the entry had the tier's bit set
   */
  public boolean markAbsent(long hi, long lo, TierKind tier) {
    return (clearBits(hi, lo, tier.bit()) & tier.bit()) != 0;
  }

  /**
   * Counts an access and sets the last access time to now.
   *
   * @return whether the block is in the index
   */
  public boolean recordAccess(long hi, long lo) {
    return access(hi, lo, 0, null);
  }

  /**
   * {@link #get} and, when the entry names {@code tier}, {@link #recordAccess} in one lookup of
   * the map instead of two: {@code out} is the entry as it was before this access was counted.
   *
   * @return whether the block is in the index ({@code out} is untouched otherwise)
   */
  public boolean getRecordingAccess(long hi, long lo, TierKind tier, IndexEntry out) {
    return access(hi, lo, tier.bit(), out);
  }

  /**
   * Counts an access of the block if its entry names a tier of {@code tierBits} (any entry if 0),
   * first copying the entry into {@code out} unless it is null.
   */
  private boolean access(long hi, long lo, int tierBits, IndexEntry out) {
    Scratch s = scratch.get();
    IndexRecord r = s.record;
    try (ExternalMapQueryContext<IndexKey, IndexRecord, ?> c = map.queryContext(s.key(hi, lo))) {
      c.updateLock().lock();
      MapEntry<IndexKey, IndexRecord> e = c.entry();
      if (e == null) {
        return false;
      }
      e.value().getUsing(r);
      if (out != null) {
        out.copyFrom(hi, lo, r);
      }
      if (tierBits == 0 || (r.getTiers() & tierBits) != 0) {
        r.setAccessCount(r.getAccessCount() + 1);
        r.setLastAccessMs(clockMs.getAsLong());
        c.replaceValue(e, c.wrapValueAsData(r));
      }
      return true;
    }
  }

  /**
   * Copies the entry of the block into {@code out}.
   *
   * @return whether the block is in the index ({@code out} is untouched otherwise)
   */
  public boolean get(long hi, long lo, IndexEntry out) {
    Scratch s = scratch.get();
    IndexRecord r = map.getUsing(s.key(hi, lo), s.record);
    if (r == null) {
      return false;
    }
    out.copyFrom(hi, lo, r);
    return true;
  }

  /** Tiers holding the block as a mask of {@link TierKind#bit()}; 0 if it is not indexed. */
  public int tiers(long hi, long lo) {
    Scratch s = scratch.get();
    IndexRecord r = map.getUsing(s.key(hi, lo), s.record);
    return r == null ? 0 : r.getTiers() & TIER_MASK;
  }

  /**
   * Removes the block's entry whatever tiers it names.
   *
   * @return whether it was present
   */
  public boolean remove(long hi, long lo) {
    Scratch s = scratch.get();
    try (ExternalMapQueryContext<IndexKey, IndexRecord, ?> c = map.queryContext(s.key(hi, lo))) {
      c.updateLock().lock();
      MapEntry<IndexKey, IndexRecord> e = c.entry();
      if (e == null) {
        return false;
      }
      e.value().getUsing(s.record);
      int before = s.record.getTiers();
      c.remove(e);
      countTransition(before, 0);
      return true;
    }
  }

  /** Number of entries. */
  public long size() {
    return map.longSize();
  }

  /**
   * Calls {@code visitor} for every entry, one segment at a time (entries added or removed
   * concurrently may or may not be seen). The visitor must not call back into this index.
   */
  public void forEach(IndexVisitor visitor) {
    IndexEntry holder = new IndexEntry();
    IndexKey key = Values.newHeapInstance(IndexKey.class);
    IndexRecord record = Values.newHeapInstance(IndexRecord.class);
    map.forEachEntry(
        e -> {
          e.key().getUsing(key);
          e.value().getUsing(record);
          holder.copyFrom(key.getHi(), key.getLo(), record);
          visitor.visit(holder);
        });
  }

  /**
   * Clears the bits of the volatile tiers (hot, DRAM), removing entries left with no tier. Run on
   * open: those tiers are empty after a restart.
   *
   * @return the number of entries changed or removed
   */
  public long clearVolatileTiers() {
    return retainTiers(~MEMORY_BITS);
  }

  /**
   * Clears from every entry the tier bits (and the dirty flag) not in {@code keepMask}, removing
   * entries left with nothing, and recounts the entries held for memory and the dirty ones.
   *
   * @return the number of entries changed or removed
   */
  public long retainTiers(int keepMask) {
    IndexRecord record = Values.newHeapInstance(IndexRecord.class);
    long[] changed = new long[1];
    long[] held = new long[2];
    for (int i = 0; i < map.segments(); i++) {
      try (MapSegmentContext<IndexKey, IndexRecord, ?> c = map.segmentContext(i)) {
        c.forEachSegmentEntry(
            e -> {
              e.value().getUsing(record);
              int tiers = record.getTiers();
              int kept = tiers & keepMask;
              held[0] += (kept & MEMORY_BITS) != 0 ? 1 : 0;
              held[1] += (kept & DIRTY_FLAG) != 0 ? 1 : 0;
              if (kept == tiers) {
                return;
              }
              changed[0]++;
              if (kept == 0) {
                e.doRemove();
              } else {
                record.setTiers(kept);
                e.doReplaceValue(e.context().wrapValueAsData(record));
              }
            });
      }
    }
    memoryEntries.set(held[0]);
    dirtyEntries.set(held[1]);
    return changed[0];
  }

  /** Closes the map file and leaves the clean-close marker. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    map.close();
    try {
      Files.createFile(cleanMarker);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the index's clean-close marker " + cleanMarker, e);
    }
  }
}
