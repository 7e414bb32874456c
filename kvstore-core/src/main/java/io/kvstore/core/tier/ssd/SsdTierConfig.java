package io.kvstore.core.tier.ssd;

import io.kvstore.common.PageFormat;
import io.kvstore.core.policy.EvictionPolicy;
import io.kvstore.core.policy.LruPolicy;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.IntFunction;

/**
 * Settings of an {@link SsdTier}. Defaults suit a laptop: small caches (pages live in blob files,
 * which the block cache does not hold), 64 MiB memtables, no write-ahead log (see {@link
 * Durability}).
 */
public final class SsdTierConfig {

  /**
   * What an acknowledged put survives. Every mode keeps the tier's promise that a get returns the
   * exact bytes put or a miss; they differ only in which acknowledged pages a crash may turn into
   * misses.
   */
  public enum Durability {
    /**
     * No write-ahead log: a put lands in RocksDB's memtable and reaches disk when the memtable is
     * flushed into a blob file (every {@code writeBufferBytes}, and on {@link SsdTier#close()}, so a
     * clean shutdown loses nothing). A process crash loses the pages put since the last flush: they
     * become misses, never wrong bytes (both column families flush atomically). The default: the
     * store is a cache, a lost page is recomputed, and the log would cost a second copy and a
     * software CRC32C of every page on the put path (the RocksDB JNI build checksums at ~1 GB/s).
     */
    NONE,
    /**
     * Every put is appended to the write-ahead log (not fsynced) before it returns: acknowledged
     * pages survive a process crash (SIGKILL: the log is in the OS page cache), not a machine crash.
     */
    WAL,
    /** Every put fsyncs the write-ahead log: acknowledged pages survive a machine crash. Slowest. */
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
   * Page size assumed when {@code maxPages} is not set: the tier makes {@code capacity / this} ids
   * (bounded by {@link #MAX_PAGES_LIMIT}). KV pages are usually 128 KiB to 2 MiB.
   */
  public static final long DEFAULT_ASSUMED_MIN_PAGE_BYTES = 64 << 10;
  /** Upper bound on {@code maxPages}: ids are ints and cost ~40 bytes of heap each. */
  public static final int MAX_PAGES_LIMIT = 1 << 26;
  /** Values at least this large go to blob files (KV pages always do). */
  public static final long DEFAULT_MIN_BLOB_SIZE = 4 << 10;
  /** Blob file size. */
  public static final long DEFAULT_BLOB_FILE_SIZE = 256L << 20;
  /** Blob files in the oldest quarter are rewritten by compaction when their pages are garbage. */
  public static final double DEFAULT_BLOB_GC_AGE_CUTOFF = 0.25;
  /** Block cache for keys and metadata (pages bypass it). */
  public static final long DEFAULT_BLOCK_CACHE_BYTES = 8L << 20;
  /**
   * Memtable size; memtables hold whole pages until flushed into blob files. Large enough that 2 MiB
   * pages make few, large blob files (each flush writes one and fsyncs it).
   */
  public static final long DEFAULT_WRITE_BUFFER_BYTES = 64L << 20;
  /** Default durability: see {@link Durability#NONE}. */
  public static final Durability DEFAULT_DURABILITY = Durability.NONE;

  final Path dataDir;
  final long capacityBytes;
  final int maxPageBytes;
  final int maxPages;
  final Durability durability;
  final long minBlobSize;
  final long blobFileSize;
  final double blobGcAgeCutoff;
  final long blockCacheBytes;
  final long writeBufferBytes;
  final IntFunction<EvictionPolicy> policyFactory;

  private SsdTierConfig(Builder b) {
    dataDir = b.dataDir;
    capacityBytes = b.capacityBytes;
    maxPageBytes = b.maxPageBytes;
    long pages =
        b.maxPages > 0
            ? b.maxPages
            : Math.max(1, Math.min(MAX_PAGES_LIMIT, capacityBytes / DEFAULT_ASSUMED_MIN_PAGE_BYTES));
    maxPages = (int) pages;
    durability = b.durability;
    minBlobSize = b.minBlobSize;
    blobFileSize = b.blobFileSize;
    blobGcAgeCutoff = b.blobGcAgeCutoff;
    blockCacheBytes = b.blockCacheBytes;
    writeBufferBytes = b.writeBufferBytes;
    policyFactory = b.policyFactory;
  }

  /** A builder for a tier in {@code dataDir} bounded by {@code capacityBytes}. */
  public static Builder builder(Path dataDir, long capacityBytes) {
    return new Builder(dataDir, capacityBytes);
  }

  /** The RocksDB directory. */
  public Path dataDir() {
    return dataDir;
  }

  /** Bound on the sum of stored page lengths. */
  public long capacityBytes() {
    return capacityBytes;
  }

  /** Largest page accepted. */
  public int maxPageBytes() {
    return maxPageBytes;
  }

  /** Largest number of pages held (the size of the eviction policy's id space). */
  public int maxPages() {
    return maxPages;
  }

  /** What an acknowledged put survives. */
  public Durability durability() {
    return durability;
  }

  /** Builds {@link SsdTierConfig}s; every setter checks its argument. */
  public static final class Builder {
    private final Path dataDir;
    private final long capacityBytes;
    private int maxPageBytes = DEFAULT_MAX_PAGE_BYTES;
    private int maxPages;
    private Durability durability = DEFAULT_DURABILITY;
    private long minBlobSize = DEFAULT_MIN_BLOB_SIZE;
    private long blobFileSize = DEFAULT_BLOB_FILE_SIZE;
    private double blobGcAgeCutoff = DEFAULT_BLOB_GC_AGE_CUTOFF;
    private long blockCacheBytes = DEFAULT_BLOCK_CACHE_BYTES;
    private long writeBufferBytes = DEFAULT_WRITE_BUFFER_BYTES;
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

    /** Bound on the number of pages (default: capacity / 64 KiB, at most {@link #MAX_PAGES_LIMIT}). */
    public Builder maxPages(int v) {
      if (v <= 0 || v > MAX_PAGES_LIMIT) {
        throw new IllegalArgumentException("maxPages out of range (1.." + MAX_PAGES_LIMIT + "): " + v);
      }
      maxPages = v;
      return this;
    }

    /** What an acknowledged put survives (default {@link Durability#NONE}). */
    public Builder durability(Durability v) {
      durability = Objects.requireNonNull(v, "durability");
      return this;
    }

    /** Values at least this large are stored in blob files. */
    public Builder minBlobSize(long v) {
      if (v < 0) {
        throw new IllegalArgumentException("minBlobSize must not be negative: " + v);
      }
      minBlobSize = v;
      return this;
    }

    /** Target size of one blob file. */
    public Builder blobFileSize(long v) {
      if (v < (1 << 20)) {
        throw new IllegalArgumentException("blobFileSize must be at least 1 MiB: " + v);
      }
      blobFileSize = v;
      return this;
    }

    /** Fraction of the oldest blob files that compaction garbage-collects (0..1). */
    public Builder blobGcAgeCutoff(double v) {
      if (!(v >= 0.0 && v <= 1.0)) {
        throw new IllegalArgumentException("blobGcAgeCutoff must be in [0, 1]: " + v);
      }
      blobGcAgeCutoff = v;
      return this;
    }

    /** Size of the block cache (SST index, filter and key blocks; pages are not cached). */
    public Builder blockCacheBytes(long v) {
      if (v < 0) {
        throw new IllegalArgumentException("blockCacheBytes must not be negative: " + v);
      }
      blockCacheBytes = v;
      return this;
    }

    /** Size of one memtable. */
    public Builder writeBufferBytes(long v) {
      if (v < (1 << 20)) {
        throw new IllegalArgumentException("writeBufferBytes must be at least 1 MiB: " + v);
      }
      writeBufferBytes = v;
      return this;
    }

    /** The eviction policy, made with the tier's id capacity ({@code maxPages}); default LRU. */
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
