package io.kvstore.core.tier.ssd;

import io.kvstore.common.PageFormat;
import io.kvstore.core.policy.EvictionPolicy;
import io.kvstore.core.policy.LruPolicy;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.IntFunction;

/**
 * Settings of an {@link SsdTier}. Pages go to append-only segment files, their locations to the
 * block index (a Chronicle Map) and to RocksDB (see {@code spec/6-ssd-segments.md}); defaults suit
 * a laptop.
 */
public final class SsdTierConfig {

  /**
   * What an acknowledged put survives. Every mode keeps the tier's promise that a get returns the
   * exact bytes put or a miss; they differ only in which acknowledged pages a crash may turn into
   * misses.
   */
  public enum Durability {
    /**
     * Nothing is forced: a put is a write into the segment file (OS page cache) and an update of the
     * memory-mapped block index; RocksDB's location record goes to its memtable without a log.
     * Segments are forced to the device on {@link SsdTier#close()}. A process crash (SIGKILL) keeps
     * what the OS holds, which is in practice every acknowledged page (both the segment write and
     * the mapped index live in the page cache); a machine crash may lose any page written since the
     * last clean close (lost pages become misses, never wrong bytes: every page is verified). The
     * default: the store is a cache and a lost page is recomputed.
     */
    NONE,
    /**
     * As {@link #NONE}, and the location record is appended to RocksDB's write-ahead log (not
     * fsynced) before the put returns, so a process crash keeps every acknowledged page even if the
     * index lost an entry, and a delete is logged the same way.
     */
    WAL,
    /**
     * The segment is forced to the device ({@code fdatasync}) and then the location record is
     * written with a synced write-ahead log before the put returns: acknowledged pages survive a
     * machine crash. Slowest.
     */
    SYNC;

    /**
     * The mode named {@code name}, case-insensitive: {@code none}, {@code wal} or {@code sync}.
     *
     * @throws IllegalArgumentException naming the valid modes if {@code name} is none of them
     */
    public static Durability parse(String name) {
      for (Durability d : values()) {
        if (d.name().equalsIgnoreCase(name == null ? "" : name.trim())) {
          return d;
        }
      }
      throw new IllegalArgumentException(
          "unknown SSD durability '" + name + "'; valid: none, wal, sync");
    }
  }

  /** Default bound on one page: a 16 MiB payload plus the header. */
  public static final int DEFAULT_MAX_PAGE_BYTES = PageFormat.pageLength(16 << 20);
  /**
   * Default smallest page the operator expects (header included): the block index is sized for
   * {@code capacity / minPageBytes} SSD pages, and the tier never holds more pages than that.
   */
  public static final int DEFAULT_MIN_PAGE_BYTES = 16 << 10;
  /** Upper bound on {@code maxPages} (block index entries). */
  public static final int MAX_PAGES_LIMIT = 1 << 30;
  /** Largest default segment file; the default is {@code capacity / 64}, at most this. */
  public static final long DEFAULT_MAX_SEGMENT_BYTES = 64L << 20;
  /** Block cache for RocksDB's location records. */
  public static final long DEFAULT_BLOCK_CACHE_BYTES = 8L << 20;
  /** Memtable size of RocksDB's location records (each about 40 bytes). */
  public static final long DEFAULT_WRITE_BUFFER_BYTES = 8L << 20;
  /** Default durability: see {@link Durability#NONE}. */
  public static final Durability DEFAULT_DURABILITY = Durability.NONE;

  final Path dataDir;
  final long capacityBytes;
  final int maxPageBytes;
  final int minPageBytes;
  final int maxPages;
  final long segmentBytes;
  /** Whether {@link #segmentBytes} was set, not derived from the capacity. */
  final boolean segmentBytesGiven;
  final Durability durability;
  final long blockCacheBytes;
  final long writeBufferBytes;
  final long freeSpaceReserveBytes;
  final boolean discardCorruptRecords;
  final boolean fitToDisk;
  /** Bytes the store writes beside the tier on its file system (see Builder#diskBytesAside). */
  final long diskBytesAside;
  /** Directory of the crash journal; null: the segment directory. */
  final Path journalDir;
  final IntFunction<EvictionPolicy> policyFactory;

  private SsdTierConfig(Builder b) {
    dataDir = b.dataDir;
    capacityBytes = b.capacityBytes;
    maxPageBytes = b.maxPageBytes;
    minPageBytes = b.minPageBytes;
    long pages =
        b.maxPages > 0
            ? b.maxPages
            : Math.max(1, Math.min(MAX_PAGES_LIMIT, capacityBytes / minPageBytes));
    maxPages = (int) pages;
    segmentBytesGiven = b.segmentBytes > 0;
    segmentBytes = segmentBytesGiven ? b.segmentBytes : defaultSegmentBytes(capacityBytes);
    durability = b.durability;
    blockCacheBytes = b.blockCacheBytes;
    writeBufferBytes = b.writeBufferBytes;
    freeSpaceReserveBytes = b.freeSpaceReserveBytes >= 0 ? b.freeSpaceReserveBytes : 2 * writeBufferBytes;
    discardCorruptRecords = b.discardCorruptRecords;
    fitToDisk = b.fitToDisk;
    diskBytesAside = b.diskBytesAside;
    journalDir = b.journalDir;
    policyFactory = b.policyFactory;
  }

  /** A builder for a tier in {@code dataDir} bounded by {@code capacityBytes}. */
  public static Builder builder(Path dataDir, long capacityBytes) {
    return new Builder(dataDir, capacityBytes);
  }

  /** The tier's directory (segments, RocksDB, and the block index if the tier opens its own). */
  public Path dataDir() {
    return dataDir;
  }

  /**
   * Bound on the bytes the tier keeps on disk: segment files (live pages and their garbage) plus
   * RocksDB's files (SST and write-ahead log). The block index is sized separately, at open.
   */
  public long capacityBytes() {
    return capacityBytes;
  }

  /** Largest page accepted. */
  public int maxPageBytes() {
    return maxPageBytes;
  }

  /** Smallest page the operator declared; sizes {@link #maxPages()}. */
  public int minPageBytes() {
    return minPageBytes;
  }

  /** Largest number of pages held: {@code capacity / minPageBytes} unless set explicitly. */
  public int maxPages() {
    return maxPages;
  }

  /** Size at which a segment file is sealed and a new one started. */
  public long segmentBytes() {
    return segmentBytes;
  }

  /**
   * The segment size a tier of {@code capacityBytes} gets unless one is set: a 64th of it, at most
   * {@link #DEFAULT_MAX_SEGMENT_BYTES}, so that a segment, the unit of eviction, is a small share.
   */
  static long defaultSegmentBytes(long capacityBytes) {
    return Math.max(1, Math.min(DEFAULT_MAX_SEGMENT_BYTES, capacityBytes / 64));
  }

  /** What an acknowledged put survives. */
  public Durability durability() {
    return durability;
  }

  /**
   * Free space the tier leaves on the file system: a put that would leave less fails with {@code
   * NO_SPACE} before writing, so RocksDB always has room to flush its memtable (a flush that fails
   * on a full disk would stop RocksDB).
   */
  public long freeSpaceReserveBytes() {
    return freeSpaceReserveBytes;
  }

  /**
   * Whether {@link SsdTier#open} discards location records that RocksDB finds damaged on disk and
   * opens again (default false: the open fails, naming the records; see {@link
   * Builder#discardCorruptRecords}).
   */
  public boolean discardCorruptRecords() {
    return discardCorruptRecords;
  }

  /**
   * Whether the tier sizes itself to its file system at open (default true): see {@link
   * Builder#fitToDisk}.
   */
  public boolean fitToDisk() {
    return fitToDisk;
  }

  /**
   * Directory of the tier's crash journal (spec/6.7), or null for the segment directory: the
   * directory the block index runs from, when that is not the data directory (the journal is
   * mapped and stored into on the write path, and vouches for that index only).
   */
  public Path journalDir() {
    return journalDir;
  }

  /** Builds {@link SsdTierConfig}s; every setter checks its argument. */
  public static final class Builder {
    private final Path dataDir;
    private final long capacityBytes;
    private int maxPageBytes = DEFAULT_MAX_PAGE_BYTES;
    private int minPageBytes = DEFAULT_MIN_PAGE_BYTES;
    private int maxPages;
    private long segmentBytes;
    private Durability durability = DEFAULT_DURABILITY;
    private long blockCacheBytes = DEFAULT_BLOCK_CACHE_BYTES;
    private long writeBufferBytes = DEFAULT_WRITE_BUFFER_BYTES;
    private long freeSpaceReserveBytes = -1;
    private boolean discardCorruptRecords;
    private boolean fitToDisk = true;
    private long diskBytesAside;
    private Path journalDir;
    private IntFunction<EvictionPolicy> policyFactory = LruPolicy::new;

    private Builder(Path dataDir, long capacityBytes) {
      this.dataDir = Objects.requireNonNull(dataDir, "dataDir");
      if (capacityBytes < PageFormat.HEADER_LENGTH) {
        throw new IllegalArgumentException(
            "capacityBytes must hold at least one page header: " + capacityBytes);
      }
      this.capacityBytes = capacityBytes;
    }

    /** Largest page accepted (header + payload). */
    public Builder maxPageBytes(int v) {
      if (v < PageFormat.HEADER_LENGTH
          || v > PageFormat.pageLength(PageFormat.MAX_PAYLOAD_LENGTH)) {
        throw new IllegalArgumentException("maxPageBytes out of range: " + v);
      }
      maxPageBytes = v;
      return this;
    }

    /**
     * Smallest page expected (header + payload, default 16 KiB): the tier holds at most {@code
     * capacity / minPageBytes} pages (smaller pages then fill it by count before bytes) and sizes
     * the block index for that many.
     */
    public Builder minPageBytes(int v) {
      if (v < PageFormat.HEADER_LENGTH) {
        throw new IllegalArgumentException("minPageBytes must be at least the 64-byte header: " + v);
      }
      minPageBytes = v;
      return this;
    }

    /** Bound on the number of pages, overriding {@code capacity / minPageBytes}. */
    public Builder maxPages(int v) {
      if (v <= 0 || v > MAX_PAGES_LIMIT) {
        throw new IllegalArgumentException("maxPages out of range (1.." + MAX_PAGES_LIMIT + "): " + v);
      }
      maxPages = v;
      return this;
    }

    /**
     * Segment size (default {@code capacity / 64}, at most 64 MiB): the unit of eviction. A segment
     * holds at least one page; smaller segments make eviction finer, larger ones need fewer files.
     */
    public Builder segmentBytes(long v) {
      if (v <= 0) {
        throw new IllegalArgumentException("segmentBytes must be positive: " + v);
      }
      segmentBytes = v;
      return this;
    }

    /** What an acknowledged put survives (default {@link Durability#NONE}). */
    public Builder durability(Durability v) {
      durability = Objects.requireNonNull(v, "durability");
      return this;
    }

    /** Size of RocksDB's block cache (location records). */
    public Builder blockCacheBytes(long v) {
      if (v < 0) {
        throw new IllegalArgumentException("blockCacheBytes must not be negative: " + v);
      }
      blockCacheBytes = v;
      return this;
    }

    /** Size of one RocksDB memtable (location records). */
    public Builder writeBufferBytes(long v) {
      if (v < (1 << 20)) {
        throw new IllegalArgumentException("writeBufferBytes must be at least 1 MiB: " + v);
      }
      writeBufferBytes = v;
      return this;
    }

    /** Free space to leave on the file system (default: two memtables). */
    public Builder freeSpaceReserveBytes(long v) {
      if (v < 0) {
        throw new IllegalArgumentException("freeSpaceReserveBytes must not be negative: " + v);
      }
      freeSpaceReserveBytes = v;
      return this;
    }

    /**
     * What {@link SsdTier#open} does when RocksDB finds the location records damaged on disk (bit
     * rot, a failing device): false (default), the open fails with a message naming them and the
     * way out; true, it deletes them with one WARN line and opens again, writing new records for
     * the pages a trustworthy block index knows (after a clean close, or a process crash whose
     * index was kept) and starting empty otherwise (the pages are lost, as with a lost disk).
     */
    public Builder discardCorruptRecords(boolean v) {
      discardCorruptRecords = v;
      return this;
    }

    /**
     * Whether the tier sizes itself to its file system at open (default true). When the file
     * system cannot hold {@code capacityBytes} (what the tier holds on it, plus its free space,
     * less {@link #freeSpaceReserveBytes}), the tier's capacity ({@link SsdTier#capacityBytes()})
     * becomes that room, so it evicts its oldest pages and keeps taking new ones instead of filling
     * the disk and stopping (NO_SPACE); less a margin for what RocksDB's files take beyond their
     * sizes; never below what it holds at open, so a disk that others filled while the tier was
     * down costs no page; not at all when that leaves less than 64 pages of {@code minPageBytes}
     * (the disk is as good as full: puts fail with NO_SPACE until space is freed). Decided once per open: space that others take
     * later still stops the tier's writes (degraded) until it is freed, and space freed later is
     * used from the next open. False: {@code capacityBytes} as given, one WARN at open when the
     * disk is smaller.
     */
    public Builder fitToDisk(boolean v) {
      fitToDisk = v;
      return this;
    }

    /**
     * Bytes the store will write on the tier's file system beside the tier, which a tier fitted to
     * that file system ({@link #fitToDisk}) leaves free: the block index's copy made at each clean
     * close when the index runs from a memory file system (default 0).
     */
    public Builder diskBytesAside(long v) {
      if (v < 0) {
        throw new IllegalArgumentException("diskBytesAside must not be negative: " + v);
      }
      diskBytesAside = v;
      return this;
    }

    /** Directory of the crash journal (see {@link SsdTierConfig#journalDir()}); null: default. */
    public Builder journalDir(Path v) {
      journalDir = v;
      return this;
    }

    /**
     * The eviction policy, made with the number of segment slots (the policy ranks segments, the
     * unit of eviction); default LRU.
     */
    public Builder policyFactory(IntFunction<EvictionPolicy> v) {
      policyFactory = Objects.requireNonNull(v, "policyFactory");
      return this;
    }

    /** The config. */
    public SsdTierConfig build() {
      return new SsdTierConfig(this);
    }
  }
}
