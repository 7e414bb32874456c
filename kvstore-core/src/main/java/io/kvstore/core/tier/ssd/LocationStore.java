package io.kvstore.core.tier.ssd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.BloomFilter;
import org.rocksdb.CompressionType;
import org.rocksdb.FlushOptions;
import org.rocksdb.InfoLogLevel;
import org.rocksdb.LRUCache;
import org.rocksdb.LogFile;
import org.rocksdb.Options;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Status;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * The SSD tier's RocksDB: one record per stored page, key → where the page is (WiscKey's design:
 * values in a log, locations in the LSM tree), so that with a write-ahead log a crash keeps every
 * acknowledged location even if the memory-mapped block index lost an entry.
 *
 * <p>Keys are 16 bytes, key hi then key lo, big-endian. Values, big-endian:
 *
 * <pre>
 *  +----------------+----------------+----------+----------------+----------------+----------------+
 *  | segment id u64 | offset u64     | len u32  | namespace u64  | parent hi u64  | parent lo u64  |
 *  +----------------+----------------+----------+----------------+----------------+----------------+
 *  0                8                16         20               28               36               44
 * </pre>
 *
 * <p>Thread-safe for concurrent operations; {@link #close()} must not run concurrently with them
 * (the tier guarantees that).
 */
final class LocationStore implements AutoCloseable {

  static final int KEY_BYTES = 16;
  static final int VALUE_BYTES = 44;
  /** Name of the RocksDB directory inside the tier's data directory. */
  static final String DIR_NAME = "locations";
  /** Read-ahead of a full scan: large sequential reads of the SST files. */
  static final long SCAN_READAHEAD = 2 << 20;

  private final Path dir;
  private final RocksDB db;
  private final Options options;
  private final LRUCache blockCache;
  private final BloomFilter bloom;
  private final WriteOptions writeOptions;
  private final SsdTierConfig.Durability durability;
  /** Set by {@link #close} (which the SSD tier's swap lock keeps apart from every other call). */
  private volatile boolean closed;
  /** What {@link #bytesOnDisk} last read. */
  private volatile long lastBytesOnDisk;

  /** A writer's reusable buffers; one per lock stripe of the tier, used under that lock. */
  static final class WriteSlot {
    final byte[] key = new byte[KEY_BYTES];
    final byte[] value = new byte[VALUE_BYTES];
  }

  /**
   * Location records written together by {@link #write}: one RocksDB write batch, so one log
   * append (and with {@code sync} one log sync) for many pages. Owned and closed by its user.
   */
  static final class Batch implements AutoCloseable {
    private final WriteBatch batch = new WriteBatch();
    private final WriteSlot slot = new WriteSlot();

    /** Adds the location record of a page (the layout of {@link LocationStore#put}). */
    void put(
        long hi,
        long lo,
        long segmentId,
        long offset,
        int length,
        long namespaceId,
        long parentHi,
        long parentLo)
        throws RocksDBException {
      encode(slot.key, slot.value, hi, lo, segmentId, offset, length, namespaceId, parentHi,
          parentLo);
      batch.put(slot.key, slot.value);
    }

    /** Adds the delete of a page's location record. */
    void delete(long hi, long lo) throws RocksDBException {
      ByteBuffer.wrap(slot.key).putLong(0, hi).putLong(8, lo);
      batch.delete(slot.key);
    }

    /** Records (puts and deletes) in the batch. */
    int count() {
      return batch.count();
    }

    /** Empties the batch, to fill it again. */
    void clear() {
      batch.clear();
    }

    @Override
    public void close() {
      batch.close();
    }
  }

  /** Receives one location record. */
  @FunctionalInterface
  interface Visitor {
    void visit(
        long hi, long lo, long segmentId, long offset, int length, long namespaceId, long parentHi,
        long parentLo);
  }

  private LocationStore(
      Path dir,
      RocksDB db,
      Options options,
      LRUCache cache,
      BloomFilter bloom,
      SsdTierConfig.Durability durability) {
    this.dir = dir;
    this.db = db;
    this.options = options;
    this.blockCache = cache;
    this.bloom = bloom;
    this.durability = durability;
    this.writeOptions =
        new WriteOptions()
            .setSync(durability == SsdTierConfig.Durability.SYNC)
            .setDisableWAL(durability == SsdTierConfig.Durability.NONE);
  }

  /**
   * Opens (creating if needed) the RocksDB in {@code dir}.
   *
   * @throws SsdStorageException with a message naming the directory if it cannot be created or
   *     written, is locked by another process, or RocksDB cannot open it
   */
  static LocationStore open(Path dir, SsdTierConfig cfg) {
    try {
      Files.createDirectories(dir);
    } catch (IOException | SecurityException e) {
      throw new SsdStorageException("cannot create the SSD tier's data directory " + dir + ": " + e, e);
    }
    if (!Files.isDirectory(dir) || !Files.isWritable(dir)) {
      throw new SsdStorageException("the SSD tier's data directory is not a writable directory: " + dir);
    }
    // After the directory checks, so that an unusable directory fails with its own message.
    RocksLibrary.load(cfg.dataDir.resolve(RocksLibrary.DIR_NAME));
    LRUCache cache = new LRUCache(Math.max(1 << 20, cfg.blockCacheBytes));
    BloomFilter bloom = new BloomFilter(10);
    Options o =
        new Options()
            .setCreateIfMissing(true)
            .setMaxBackgroundJobs(2)
            .setMaxOpenFiles(256)
            .setInfoLogLevel(InfoLogLevel.WARN_LEVEL)
            .setKeepLogFileNum(2)
            .setMaxLogFileSize(1 << 20)
            .setWriteBufferSize(cfg.writeBufferBytes)
            .setMaxWriteBufferNumber(3)
            // The log is bounded so that its bytes, counted against the tier's capacity, stay small.
            .setMaxTotalWalSize(2 * cfg.writeBufferBytes)
            .setCompressionType(CompressionType.NO_COMPRESSION)
            .setTableFormatConfig(
                new BlockBasedTableConfig()
                    .setBlockCache(cache)
                    .setFilterPolicy(bloom)
                    .setCacheIndexAndFilterBlocks(true));
    try {
      RocksDB db = RocksDB.open(o, dir.toString());
      return new LocationStore(dir, db, o, cache, bloom, cfg.durability);
    } catch (RocksDBException e) {
      o.close();
      bloom.close();
      cache.close();
      throw openFailure(dir, e);
    }
  }

  private static SsdStorageException openFailure(Path dir, RocksDBException e) {
    String msg = String.valueOf(e.getMessage());
    Status st = e.getStatus();
    boolean io = st != null && st.getCode() == Status.Code.IOError;
    if (io && msg.contains("lock")) {
      return new SsdStorageException(
          "the SSD tier's data directory "
              + dir
              + " is in use by another RocksDB instance (another kvstore process, or this one"
              + " opened it twice): its LOCK file is held ("
              + msg
              + ")",
          e);
    }
    if (io && (msg.contains("Permission denied") || msg.contains("Read-only"))) {
      return new SsdStorageException(
          "the SSD tier's data directory " + dir + " is not writable (" + msg + ")", e);
    }
    SsdStorageException corrupt = corruption(dir, e);
    if (corrupt != null) {
      return corrupt;
    }
    return new SsdStorageException("cannot open the SSD tier's RocksDB in " + dir + ": " + msg, e);
  }

  /**
   * The failure to report when RocksDB found its own files corrupt (a block or a manifest whose
   * checksum does not match: a damaged disk, bit rot), or null for another failure. The daemon
   * cannot rebuild the SSD directory from such records, and RocksJava has no repairer: the message
   * says what the operator can do, which is what a lost disk costs (seen: after a crash, a flipped
   * byte in an SST file stopped every restart with a bare "block checksum mismatch").
   */
  static SsdStorageException corruption(Path dir, RocksDBException e) {
    Status st = e.getStatus();
    if (st == null || st.getCode() != Status.Code.Corruption) {
      return null;
    }
    return SsdStorageException.corruptRecords(
        "the SSD tier's location records in "
            + dir
            + " are corrupt (RocksDB: "
            + e.getMessage()
            + "): the SSD directory cannot be read from them. To start anyway, remove "
            + dir
            + " (keep a copy first to look into the damage), or set ssd.corrupt.records to"
            + " discard: the SSD tier then keeps the pages its block index knows (after a clean"
            + " stop), or starts empty and drops its segment files (after a crash: its pages are"
            + " lost, as with a lost disk)",
        e);
  }

  Path dir() {
    return dir;
  }

  /** Writes the location record of a page. */
  void put(
      WriteSlot slot,
      long hi,
      long lo,
      long segmentId,
      long offset,
      int length,
      long namespaceId,
      long parentHi,
      long parentLo)
      throws RocksDBException {
    checkOpen();
    encode(slot.key, slot.value, hi, lo, segmentId, offset, length, namespaceId, parentHi, parentLo);
    db.put(writeOptions, slot.key, slot.value);
  }

  /** Writes the batch's records atomically, with this store's durability (one log append). */
  void write(Batch batch) throws RocksDBException {
    checkOpen();
    db.write(writeOptions, batch.batch);
  }

  /**
   * Refuses a call on a closed store as RocksDB refuses a write: a call through the handle of a
   * closed database crashes the process in native code (a SIGSEGV in {@code
   * rocksdb_delete_helper}, seen when the SSD tier's reopen of a stopped RocksDB failed on a file
   * system that had gone read-only, and the tier's close then deleted records through the closed
   * store). The tier's swap lock keeps calls and {@link #close} apart, so a flag is enough.
   */
  private void checkOpen() throws RocksDBException {
    if (closed) {
      throw new RocksDBException(
          "the SSD tier's RocksDB in " + dir + " is closed (it stopped and could not be reopened)");
    }
  }

  private static void encode(
      byte[] key,
      byte[] value,
      long hi,
      long lo,
      long segmentId,
      long offset,
      int length,
      long namespaceId,
      long parentHi,
      long parentLo) {
    ByteBuffer.wrap(key).putLong(0, hi).putLong(8, lo);
    ByteBuffer.wrap(value)
        .putLong(0, segmentId)
        .putLong(8, offset)
        .putInt(16, length)
        .putLong(20, namespaceId)
        .putLong(28, parentHi)
        .putLong(36, parentLo);
  }

  /**
   * Reads the place the location record of a page names into {@code out} (segment id, offset).
   *
   * @return whether there is a record (one that cannot be parsed counts as none)
   */
  boolean get(long hi, long lo, long[] out) throws RocksDBException {
    checkOpen();
    byte[] k = new byte[KEY_BYTES];
    ByteBuffer.wrap(k).putLong(0, hi).putLong(8, lo);
    byte[] v = db.get(k);
    if (v == null || v.length != VALUE_BYTES) {
      return false;
    }
    ByteBuffer vb = ByteBuffer.wrap(v);
    out[0] = vb.getLong(0);
    out[1] = vb.getLong(8);
    return true;
  }

  /** Deletes the location record of a page. */
  void delete(WriteSlot slot, long hi, long lo) throws RocksDBException {
    checkOpen();
    ByteBuffer.wrap(slot.key).putLong(0, hi).putLong(8, lo);
    db.delete(writeOptions, slot.key);
  }

  /**
   * Calls {@code visitor} for every record, in key order; deletes records it cannot parse. A scan
   * of the whole store (the directory rebuild): its blocks are not put in the block cache, where
   * they would only push out the blocks that gets use, and the files are read ahead.
   */
  void forEach(Visitor visitor) throws RocksDBException {
    checkOpen();
    byte[] k = new byte[KEY_BYTES];
    byte[] v = new byte[VALUE_BYTES];
    ByteBuffer kb = ByteBuffer.wrap(k);
    ByteBuffer vb = ByteBuffer.wrap(v);
    try (ReadOptions scan = new ReadOptions().setFillCache(false).setReadaheadSize(SCAN_READAHEAD);
        RocksIterator it = db.newIterator(scan)) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        int kn = it.key(k);
        int vn = it.value(v);
        if (kn != KEY_BYTES || vn != VALUE_BYTES) {
          db.delete(writeOptions, it.key());
          continue;
        }
        visitor.visit(
            kb.getLong(0), kb.getLong(8), vb.getLong(0), vb.getLong(8), vb.getInt(16),
            vb.getLong(20), vb.getLong(28), vb.getLong(36));
      }
      it.status();
    }
  }

  /**
   * Memory RocksDB holds for the records: its memtables, its block cache and its table readers
   * (index and filter blocks), from its own properties; -1 if it cannot tell.
   */
  long memoryBytes() {
    if (closed) {
      return -1;
    }
    try {
      return db.getLongProperty("rocksdb.cur-size-all-mem-tables")
          + db.getLongProperty("rocksdb.estimate-table-readers-mem")
          + blockCache.getUsage();
    } catch (RocksDBException e) {
      return -1; // a RocksDB that cannot report is failing; its writes will say so
    }
  }

  /**
   * Bytes of RocksDB's files on disk that grow with the data: live SST files and the log. Once
   * closed, what it last reported (the files are still on disk).
   */
  long bytesOnDisk() {
    if (closed) {
      return lastBytesOnDisk;
    }
    long bytes = 0;
    try {
      bytes += db.getLongProperty("rocksdb.live-sst-files-size");
      for (LogFile f : db.getSortedWalFiles()) {
        bytes += f.sizeFileBytes();
      }
    } catch (RocksDBException e) {
      // A RocksDB that cannot report its sizes is failing; its writes will say so.
    }
    lastBytesOnDisk = bytes;
    return bytes;
  }

  /**
   * Without a write-ahead log, flushes the memtable so that a clean close loses no location
   * record; then closes the database and its options. Everything is closed even if the flush fails.
   * Idempotent; every later call but {@link #bytesOnDisk} and {@link #memoryBytes} is refused.
   *
   * @throws SsdStorageException if the flush or the close fails
   */
  @Override
  public void close() {
    if (closed) {
      return; // a second close (the tier's, after a failed reopen) must not free the handles again
    }
    closed = true;
    SsdStorageException failure = null;
    if (durability == SsdTierConfig.Durability.NONE) {
      try (FlushOptions flush = new FlushOptions().setWaitForFlush(true)) {
        db.flush(flush);
      } catch (RocksDBException e) {
        failure =
            new SsdStorageException(
                "cannot flush the SSD tier's location records in " + dir + " on close", e);
      }
    }
    try {
      db.closeE();
    } catch (RocksDBException e) {
      SsdStorageException closing =
          new SsdStorageException("error closing the SSD tier's RocksDB in " + dir, e);
      if (failure == null) {
        failure = closing;
      } else {
        failure.addSuppressed(closing);
      }
    } finally {
      writeOptions.close();
      options.close();
      bloom.close();
      blockCache.close();
    }
    if (failure != null) {
      throw failure;
    }
  }
}
