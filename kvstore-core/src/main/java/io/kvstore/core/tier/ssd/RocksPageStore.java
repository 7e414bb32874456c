package io.kvstore.core.tier.ssd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.BloomFilter;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.FlushOptions;
import org.rocksdb.InfoLogLevel;
import org.rocksdb.LRUCache;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Status;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * The SSD tier's RocksDB: opening it with BlobDB options, and the few operations the tier needs.
 *
 * <p>Two column families, always written together in one {@link WriteBatch} (atomic; with a
 * write-ahead log, atomic in the log too; without one, the two are flushed together — RocksDB's
 * {@code atomic_flush} — so what reaches disk is always a consistent prefix of the puts):
 *
 * <ul>
 *   <li>{@code default} — key → the whole page. Values at least {@code minBlobSize} go to blob files
 *       (BlobDB), so compaction moves only small key/pointer records, not the pages; blob garbage is
 *       collected by compaction for the oldest {@code blobGcAgeCutoff} of blob files. No
 *       compression: KV tensors do not compress.
 *   <li>{@code meta} — key → a 20-byte record, so reopening learns every page's length and parent
 *       without reading a single page:
 *       <pre>
 *  +-------------------+---------------------+---------------------+
 *  | page length (u32) |   parent hi (u64)   |   parent lo (u64)   |   big-endian
 *  +-------------------+---------------------+---------------------+
 *  0                   4                     12                    20
 *       </pre>
 * </ul>
 *
 * <p>Keys are 16 bytes, key hi then key lo, big-endian, so RocksDB's byte order is the keys'
 * unsigned order and stays stable across platforms.
 *
 * <p>Thread-safe for concurrent operations; {@link #close()} must not run concurrently with them
 * (the tier guarantees that).
 */
final class RocksPageStore implements AutoCloseable {

  static final int KEY_BYTES = 16;
  static final int META_BYTES = 20;
  static final String META_CF = "meta";

  static {
    RocksDB.loadLibrary();
  }

  private final Path dir;
  private final RocksDB db;
  private final DBOptions dbOptions;
  private final ColumnFamilyOptions pageOptions;
  private final ColumnFamilyOptions metaOptions;
  private final LRUCache blockCache;
  private final BloomFilter bloom;
  private final ColumnFamilyHandle pages;
  private final ColumnFamilyHandle meta;
  private final WriteOptions writeOptions;
  private final ReadOptions readOptions;
  private final SsdTierConfig.Durability durability;

  /** A writer's reusable buffers; one per lock stripe of the tier, used under that lock. */
  static final class WriteSlot implements AutoCloseable {
    final WriteBatch batch = new WriteBatch();
    final ByteBuffer key = ByteBuffer.allocateDirect(KEY_BYTES).order(ByteOrder.BIG_ENDIAN);
    final ByteBuffer meta = ByteBuffer.allocateDirect(META_BYTES).order(ByteOrder.BIG_ENDIAN);
    final byte[] keyArray = new byte[KEY_BYTES];
    final byte[] metaArray = new byte[META_BYTES];

    @Override
    public void close() {
      batch.close();
    }
  }

  /** A reader's reusable key buffers; one per thread. */
  static final class ReadSlot {
    final ByteBuffer key = ByteBuffer.allocateDirect(KEY_BYTES).order(ByteOrder.BIG_ENDIAN);
    final ByteBuffer heapKey = ByteBuffer.allocate(KEY_BYTES).order(ByteOrder.BIG_ENDIAN);
  }

  /** Receives one {@code meta} record per stored page. */
  @FunctionalInterface
  interface MetaVisitor {
    void visit(long hi, long lo, int pageLength, long parentHi, long parentLo)
        throws RocksDBException;
  }

  private RocksPageStore(
      Path dir,
      RocksDB db,
      DBOptions dbOptions,
      ColumnFamilyOptions pageOptions,
      ColumnFamilyOptions metaOptions,
      LRUCache blockCache,
      BloomFilter bloom,
      ColumnFamilyHandle pages,
      ColumnFamilyHandle meta,
      SsdTierConfig.Durability durability) {
    this.dir = dir;
    this.db = db;
    this.dbOptions = dbOptions;
    this.pageOptions = pageOptions;
    this.metaOptions = metaOptions;
    this.blockCache = blockCache;
    this.bloom = bloom;
    this.pages = pages;
    this.meta = meta;
    this.durability = durability;
    this.writeOptions =
        new WriteOptions()
            .setSync(durability == SsdTierConfig.Durability.SYNC)
            .setDisableWAL(durability == SsdTierConfig.Durability.NONE);
    // Pages are read once per promotion; caching them in RocksDB would double-buffer the DRAM tier.
    // RocksDB's own checksum of a blob is redundant with the page CRC32C the tier verifies on every
    // read, and this JNI build computes it without SSE4.2 (~1 GB/s, more than the read itself).
    this.readOptions = new ReadOptions().setFillCache(false).setVerifyChecksums(false);
  }

  /**
   * Opens (creating if needed) the RocksDB in {@code cfg.dataDir}.
   *
   * @throws SsdStorageException with a message naming the directory if it cannot be created or
   *     written, is locked by another process, or RocksDB cannot open it
   */
  static RocksPageStore open(SsdTierConfig cfg) {
    Path dir = cfg.dataDir.toAbsolutePath();
    try {
      Files.createDirectories(dir);
    } catch (IOException | SecurityException e) {
      throw new SsdStorageException("cannot create the SSD tier's data directory " + dir + ": " + e, e);
    }
    if (!Files.isDirectory(dir) || !Files.isWritable(dir)) {
      throw new SsdStorageException(
          "the SSD tier's data directory is not a writable directory: " + dir);
    }
    LRUCache cache = new LRUCache(cfg.blockCacheBytes);
    BloomFilter bloom = new BloomFilter(10);
    DBOptions dbo =
        new DBOptions()
            .setCreateIfMissing(true)
            .setCreateMissingColumnFamilies(true)
            .setMaxBackgroundJobs(2)
            .setMaxOpenFiles(512)
            .setInfoLogLevel(InfoLogLevel.WARN_LEVEL)
            .setKeepLogFileNum(2)
            .setMaxLogFileSize(1 << 20)
            .setBytesPerSync(1 << 20)
            // A page read is then one copy out of the page cache (no pread into a scratch buffer).
            .setAllowMmapReads(true)
            // Without a write-ahead log the two column families must reach disk together, or a
            // crash could keep a page without its meta record (space never reclaimed) or the reverse.
            .setAtomicFlush(cfg.durability == SsdTierConfig.Durability.NONE);
    ColumnFamilyOptions pageOpts =
        new ColumnFamilyOptions()
            .setWriteBufferSize(cfg.writeBufferBytes)
            // One memtable takes puts while up to two are flushed, so a put waits for a flush only
            // when the disk is behind by two whole memtables.
            .setMaxWriteBufferNumber(3)
            .setCompressionType(CompressionType.NO_COMPRESSION)
            .setEnableBlobFiles(true)
            .setMinBlobSize(cfg.minBlobSize)
            .setBlobFileSize(cfg.blobFileSize)
            .setBlobCompressionType(CompressionType.NO_COMPRESSION)
            .setEnableBlobGarbageCollection(true)
            .setBlobGarbageCollectionAgeCutoff(cfg.blobGcAgeCutoff)
            .setTableFormatConfig(tableConfig(cache, bloom));
    ColumnFamilyOptions metaOpts =
        new ColumnFamilyOptions()
            .setWriteBufferSize(4L << 20)
            .setMaxWriteBufferNumber(2)
            .setCompressionType(CompressionType.NO_COMPRESSION)
            .setTableFormatConfig(tableConfig(cache, bloom));
    List<ColumnFamilyDescriptor> descriptors =
        List.of(
            new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, pageOpts),
            new ColumnFamilyDescriptor(META_CF.getBytes(java.nio.charset.StandardCharsets.UTF_8), metaOpts));
    List<ColumnFamilyHandle> handles = new ArrayList<>();
    try {
      RocksDB db = RocksDB.open(dbo, dir.toString(), descriptors, handles);
      return new RocksPageStore(
          dir, db, dbo, pageOpts, metaOpts, cache, bloom, handles.get(0), handles.get(1), cfg.durability);
    } catch (RocksDBException e) {
      for (ColumnFamilyHandle h : handles) {
        h.close();
      }
      pageOpts.close();
      metaOpts.close();
      dbo.close();
      bloom.close();
      cache.close();
      throw openFailure(dir, e);
    }
  }

  private static BlockBasedTableConfig tableConfig(LRUCache cache, BloomFilter bloom) {
    return new BlockBasedTableConfig()
        .setBlockCache(cache)
        .setFilterPolicy(bloom)
        .setCacheIndexAndFilterBlocks(true);
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
    return new SsdStorageException("cannot open the SSD tier's RocksDB in " + dir + ": " + msg, e);
  }

  Path dir() {
    return dir;
  }

  /**
   * Writes the page {@code page[position, limit)} and its meta record in one atomic batch. Leaves
   * {@code page}'s position where it was.
   */
  void put(
      WriteSlot slot, long hi, long lo, ByteBuffer page, long parentHi, long parentLo)
      throws RocksDBException {
    int pos = page.position();
    int len = page.remaining();
    WriteBatch batch = slot.batch;
    batch.clear();
    try {
      if (page.isDirect()) {
        slot.key.clear();
        slot.key.putLong(0, hi).putLong(8, lo);
        // RocksDB copies the value into the batch and moves the position to the limit.
        batch.put(pages, slot.key, page);
        page.position(pos);
        slot.key.clear();
        slot.meta.clear();
        slot.meta.putInt(0, len).putLong(4, parentHi).putLong(12, parentLo);
        batch.put(meta, slot.key, slot.meta);
      } else {
        putKey(slot.keyArray, hi, lo);
        batch.put(pages, slot.keyArray, heapValue(page, pos, len));
        ByteBuffer m = ByteBuffer.wrap(slot.metaArray);
        m.putInt(0, len).putLong(4, parentHi).putLong(12, parentLo);
        batch.put(meta, slot.keyArray, slot.metaArray);
      }
      db.write(writeOptions, batch);
    } finally {
      page.position(pos);
      batch.clear();
    }
  }

  /** Whole backing array when it is exactly the page; otherwise a copy (heap pages are a slow path). */
  private static byte[] heapValue(ByteBuffer page, int pos, int len) {
    if (page.hasArray() && page.arrayOffset() + pos == 0 && page.array().length == len) {
      return page.array();
    }
    byte[] copy = new byte[len];
    page.get(pos, copy, 0, len);
    return copy;
  }

  /** Deletes the page and its meta record in one atomic batch. */
  void delete(WriteSlot slot, long hi, long lo) throws RocksDBException {
    WriteBatch batch = slot.batch;
    batch.clear();
    try {
      putKey(slot.keyArray, hi, lo);
      batch.delete(pages, slot.keyArray);
      batch.delete(meta, slot.keyArray);
      db.write(writeOptions, batch);
    } finally {
      batch.clear();
    }
  }

  /**
   * Reads the page into {@code dst} from its position, at most {@code dst.remaining()} bytes, without
   * moving the position.
   *
   * @return the stored value's full length (larger than {@code dst.remaining()} means a partial
   *     copy), or {@link RocksDB#NOT_FOUND}
   */
  int get(ReadSlot slot, long hi, long lo, ByteBuffer dst) throws RocksDBException {
    int pos = dst.position();
    int limit = dst.limit();
    if (!dst.isDirect()) {
      byte[] key = slot.heapKey.array();
      putKey(key, hi, lo);
      return db.get(
          pages, readOptions, key, 0, KEY_BYTES, dst.array(), dst.arrayOffset() + pos, limit - pos);
    }
    ByteBuffer key = slot.key;
    key.clear();
    key.putLong(0, hi).putLong(8, lo);
    try {
      return db.get(pages, readOptions, key, dst);
    } finally {
      // RocksDB moves the limit (and, in some versions, the position) to the end of the value.
      dst.limit(limit).position(pos);
    }
  }

  /** Calls {@code visitor} for every meta record, in key order. Reads no page. */
  void forEachMeta(MetaVisitor visitor) throws RocksDBException {
    byte[] k = new byte[KEY_BYTES];
    byte[] v = new byte[META_BYTES];
    ByteBuffer kb = ByteBuffer.wrap(k);
    ByteBuffer vb = ByteBuffer.wrap(v);
    try (RocksIterator it = db.newIterator(meta)) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        int kn = it.key(k);
        int vn = it.value(v);
        if (kn != KEY_BYTES || vn != META_BYTES) {
          // Not a record this code wrote: report it with an impossible length so it is removed.
          visitor.visit(kb.getLong(0), kb.getLong(8), -1, 0, 0);
          continue;
        }
        visitor.visit(kb.getLong(0), kb.getLong(8), vb.getInt(0), vb.getLong(4), vb.getLong(12));
      }
      it.status();
    }
  }

  /** Test hook: overwrites only the page value under the key (meta untouched), bypassing checks. */
  void putRawPage(long hi, long lo, byte[] value) throws RocksDBException {
    byte[] key = new byte[KEY_BYTES];
    putKey(key, hi, lo);
    db.put(pages, writeOptions, key, value);
  }

  /** Test hook: deletes only the page value under the key, leaving the meta record. */
  void deleteRawPage(long hi, long lo) throws RocksDBException {
    byte[] key = new byte[KEY_BYTES];
    putKey(key, hi, lo);
    db.delete(pages, writeOptions, key);
  }

  private static void putKey(byte[] key, long hi, long lo) {
    ByteBuffer.wrap(key).putLong(0, hi).putLong(8, lo);
  }

  /**
   * Without a write-ahead log, flushes the memtables (both column families, atomically) so that a
   * clean close loses no acknowledged page; then closes the column families, the database, and the
   * options they used, in that order. Everything is closed even if the flush fails.
   *
   * @throws SsdStorageException if the flush or the close fails
   */
  @Override
  public void close() {
    SsdStorageException failure = null;
    if (durability == SsdTierConfig.Durability.NONE) {
      try (FlushOptions flush = new FlushOptions().setWaitForFlush(true)) {
        db.flush(flush, List.of(pages, meta));
      } catch (RocksDBException e) {
        failure =
            new SsdStorageException(
                "cannot flush the SSD tier's memtables in " + dir + " on close: pages put since"
                    + " the last flush are lost",
                e);
      }
    }
    // Column family handles go before the database (RocksDB's rule).
    pages.close();
    meta.close();
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
      readOptions.close();
      pageOptions.close();
      metaOptions.close();
      dbOptions.close();
      bloom.close();
      blockCache.close();
    }
    if (failure != null) {
      throw failure;
    }
  }
}
