package io.kvstore.core.store;

import io.kvstore.common.PageFormat;
import io.kvstore.core.policy.Policies;
import io.kvstore.core.tier.ssd.SsdTierConfig;
import java.nio.file.Path;

/**
 * Builds a {@link TieredStore}. Every setting has a documented default sized for a laptop; a tier
 * whose capacity is 0 is left out of the chain (at least one tier must remain).
 *
 * <pre>{@code
 * try (TieredStore store = TieredStore.builder()
 *     .dataDir(Path.of("kvstore-data"))
 *     .dramBytes(8L << 30)
 *     .ssdBytes(200L << 30)
 *     .build()) {
 *   store.put(page);
 * }
 * }</pre>
 */
public final class TieredStoreBuilder {

  /** Default data directory (SSD tier and block index), relative to the working directory. */
  public static final String DATA_DIR_DEFAULT = "kvstore-data";
  /** Default largest page, header included: a 2 MiB payload + the 64-byte header. */
  public static final int MAX_PAGE_BYTES_DEFAULT = (2 << 20) + PageFormat.HEADER_LENGTH;
  /**
   * Default hot-tier capacity: 0, no hot tier. The hot tier is meant for device memory ({@code
   * DeviceMemory}); its only backend today is host memory, the DRAM tier's kind, so in front of
   * the DRAM tier it holds nothing DRAM could not and costs a copy of every page it evicts into
   * DRAM (bench/README.md, "The hot tier's default"). Set {@link #hotBytes} to use it.
   */
  public static final long HOT_BYTES_DEFAULT = 0;
  /** Default DRAM-tier capacity: 1 GiB of off-heap slabs. */
  public static final long DRAM_BYTES_DEFAULT = 1L << 30;
  /** Default SSD-tier capacity: 16 GiB. */
  public static final long SSD_BYTES_DEFAULT = 16L << 30;
  /** Default eviction policy of every tier. */
  public static final String POLICY_DEFAULT = Policies.DEFAULT;
  /** Default SSD admission policy: admit every demoted page. */
  public static final String SSD_ADMISSION_DEFAULT = "always";
  /** Default number of background prefetch threads. */
  public static final int PREFETCH_THREADS_DEFAULT = 1;
  /**
   * Page size assumed, by default, to size the SSD tier's id space and the block index from the SSD
   * capacity: 16 KiB (so 16 GiB of SSD tracks up to 1M pages).
   */
  public static final long ASSUMED_PAGE_BYTES_DEFAULT = 16L << 10;
  /**
   * Default SSD durability, by name: {@code wal} (see {@link SsdTierConfig.Durability#WAL}): its log
   * is what a restart after a crash rebuilds the SSD directory from, so that no page deleted or
   * replaced before the crash comes back; it costs one unsynced log append per SSD write.
   */
  public static final String SSD_DURABILITY_DEFAULT = "wal";

  /** Default number of write-back threads ({@code kvstore-writeback-N}). */
  public static final int WRITE_BACK_THREADS_DEFAULT = 2;
  /**
   * Default bound of the write-back queue: 64 MiB of off-heap memory, allocated when the store
   * opens (raised to one largest page if smaller).
   */
  public static final long WRITE_BACK_QUEUE_BYTES_DEFAULT = 64L << 20;
  /** Default longest wait of a put for room in a full write-back queue: 100 ms. */
  public static final long WRITE_BACK_MAX_WAIT_MILLIS_DEFAULT = 100;
  /** Default: a graceful close writes dirty memory pages to the SSD tier. */
  public static final boolean FLUSH_ON_CLOSE_DEFAULT = true;
  /** Default bound on close's wait for calls in progress and its flush: 30 s. */
  public static final long CLOSE_GRACE_MILLIS_DEFAULT = 30_000;
  /** Default first retry of a degraded SSD tier: after 100 ms, doubling each time. */
  public static final long DEGRADED_RETRY_MIN_MILLIS_DEFAULT = 100;
  /** Default longest interval between retries of a degraded SSD tier: 10 s. */
  public static final long DEGRADED_RETRY_MAX_MILLIS_DEFAULT = 10_000;
  /**
   * Default shards of each memory tier: 0, meaning the tiers' own default (twice the processors,
   * rounded up to a power of two; a small tier gets fewer so each shard has several slabs).
   */
  public static final int MEMORY_SHARDS_DEFAULT = 0;
  /** Most shards of a memory tier. */
  public static final int MEMORY_SHARDS_MAX = 256;

  Path dataDir = Path.of(DATA_DIR_DEFAULT);
  int maxPageBytes = MAX_PAGE_BYTES_DEFAULT;
  int hotFrameBytes = -1;
  long hotBytes = HOT_BYTES_DEFAULT;
  long dramBytes = DRAM_BYTES_DEFAULT;
  long ssdBytes = SSD_BYTES_DEFAULT;
  String policy = POLICY_DEFAULT;
  String ssdAdmission = SSD_ADMISSION_DEFAULT;
  int prefetchThreads = PREFETCH_THREADS_DEFAULT;
  SsdTierConfig.Durability ssdDurability = SsdTierConfig.Durability.parse(SSD_DURABILITY_DEFAULT);
  boolean ssdDiscardCorruptRecords;
  boolean ssdFitToDisk = true;
  Path indexDir;
  boolean indexDirAuto;
  long indexMaxEntries = -1;
  long ssdMaxPages = -1;
  int ssdMinPageBytes = (int) ASSUMED_PAGE_BYTES_DEFAULT;
  int writeBackThreads = WRITE_BACK_THREADS_DEFAULT;
  long writeBackQueueBytes = WRITE_BACK_QUEUE_BYTES_DEFAULT;
  long writeBackMaxWaitMillis = WRITE_BACK_MAX_WAIT_MILLIS_DEFAULT;
  boolean flushOnClose = FLUSH_ON_CLOSE_DEFAULT;
  long closeGraceMillis = CLOSE_GRACE_MILLIS_DEFAULT;
  long degradedRetryMinMillis = DEGRADED_RETRY_MIN_MILLIS_DEFAULT;
  long degradedRetryMaxMillis = DEGRADED_RETRY_MAX_MILLIS_DEFAULT;
  int memoryShards = MEMORY_SHARDS_DEFAULT;
  boolean memoryPrefault;
  /** Tests only: wraps the SSD tier (a fault injector); null for none. */
  java.util.function.UnaryOperator<io.kvstore.core.tier.Tier> ssdTierWrapper;
  /** Tests only: wraps each memory tier (a pin counter); null for none. */
  java.util.function.UnaryOperator<io.kvstore.core.tier.Tier> memoryTierWrapper;

  TieredStoreBuilder() {}

  /** Directory of the SSD tier and the block index (created if missing). */
  public TieredStoreBuilder dataDir(Path dir) {
    this.dataDir = dir;
    return this;
  }

  /** Largest page, header included, that the store accepts. */
  public TieredStoreBuilder maxPageBytes(int bytes) {
    this.maxPageBytes = bytes;
    return this;
  }

  /** Size of one hot-tier frame (default: {@link #maxPageBytes}); larger pages skip the hot tier. */
  public TieredStoreBuilder hotFrameBytes(int bytes) {
    this.hotFrameBytes = bytes;
    return this;
  }

  /** Hot-tier capacity in bytes; 0 leaves the tier out. */
  public TieredStoreBuilder hotBytes(long bytes) {
    this.hotBytes = bytes;
    return this;
  }

  /** DRAM-tier capacity in bytes; 0 leaves the tier out. */
  public TieredStoreBuilder dramBytes(long bytes) {
    this.dramBytes = bytes;
    return this;
  }

  /** SSD-tier capacity in bytes; 0 leaves the tier out (the store is then memory only). */
  public TieredStoreBuilder ssdBytes(long bytes) {
    this.ssdBytes = bytes;
    return this;
  }

  /** Eviction policy of every tier, by name (see {@code Policies}). */
  public TieredStoreBuilder policy(String name) {
    this.policy = name;
    return this;
  }

  /** SSD admission policy, by name: {@code always} or {@code seen-twice}. */
  public TieredStoreBuilder ssdAdmission(String name) {
    this.ssdAdmission = name;
    return this;
  }

  /** Background prefetch threads (at least 1). */
  public TieredStoreBuilder prefetchThreads(int threads) {
    this.prefetchThreads = threads;
    return this;
  }

  /**
   * What an acknowledged SSD put survives, by name: {@code none} (a clean close loses nothing; a
   * process crash turns the last unflushed pages into misses), {@code wal} (survives a process
   * crash) or {@code sync} (survives a machine crash; slowest). See {@link SsdTierConfig.Durability}.
   * A data directory that was not closed cleanly under {@code none} opens only with {@code none},
   * and one that was not under {@code wal} or {@code sync} only with one of those: {@link #build}
   * refuses the other, changing nothing ({@link io.kvstore.core.tier.ssd.SsdStorageException#wrongDurability}).
   *
   * @throws IllegalArgumentException naming the valid values if {@code name} is none of them
   */
  public TieredStoreBuilder ssdDurability(String name) {
    this.ssdDurability = SsdTierConfig.Durability.parse(name);
    return this;
  }

  /**
   * What opening the store does when RocksDB finds the SSD tier's location records damaged on disk
   * (bit rot, a failing device): false (default), the open fails with a message naming them;
   * true, they are deleted (one WARN line) and the SSD tier keeps the pages its block index knows
   * after a clean close or a kept crash index, writing their records anew, and otherwise starts
   * empty. See {@link SsdTierConfig.Builder#discardCorruptRecords}.
   */
  public TieredStoreBuilder ssdDiscardCorruptRecords(boolean discard) {
    this.ssdDiscardCorruptRecords = discard;
    return this;
  }

  /**
   * Whether the SSD tier sizes itself to its file system at open (default true): when the file
   * system cannot hold {@code ssdBytes} (the free space plus what the tier holds, less the
   * reserve), the tier holds at most that and evicts its oldest pages there, instead of filling
   * the disk and stopping its writes (NO_SPACE) until space is freed. Never below what it holds at
   * open. See {@link SsdTierConfig.Builder#fitToDisk}.
   */
  public TieredStoreBuilder ssdFitToDisk(boolean fit) {
    this.ssdFitToDisk = fit;
    return this;
  }

  /**
   * Runs the block index (and the SSD tier's crash journal) from {@code dir} instead of {@code
   * <data dir>/index}: meant for a memory file system (tmpfs), so that a frozen or stalling data
   * disk cannot stall the store (every request path stores into the mapped index, and a store that
   * faults on a frozen file system stops the whole JVM at its next safepoint). The data directory
   * keeps a copy made at each clean close; a restart after a reboot takes it back. Null (the
   * default): the data directory.
   */
  public TieredStoreBuilder indexDir(Path dir) {
    this.indexDir = dir;
    this.indexDirAuto = false;
    return this;
  }

  /**
   * As {@link #indexDir}, with the directory chosen at open: {@code
   * /dev/shm/kvstore-index-USER/<hash of the data directory>} when {@code /dev/shm} is a tmpfs with
   * room for the index twice over and the SSD durability is {@code wal} or {@code sync} (with
   * {@code none}, whose restart after a machine crash recovers the index it finds, it stays in the
   * data directory); otherwise the data directory, with one WARNING.
   */
  public TieredStoreBuilder indexDirAuto() {
    this.indexDir = null;
    this.indexDirAuto = true;
    return this;
  }

  /**
   * The directory {@link #indexDirAuto} runs the block index of {@code dataDir} from when {@code
   * /dev/shm} has room (whether or not it exists), for tools that look at a store's files: {@code
   * /dev/shm/kvstore-index-USER/<first 16 hex digits of the SHA-256 of the absolute path>}.
   */
  public static Path autoIndexDir(Path dataDir) {
    return IndexHome.autoDirUnder(Path.of("/dev/shm"), dataDir);
  }

  /**
   * Most pages the SSD tier tracks (default: SSD bytes / 16 KiB). When pages are smaller than that on
   * average, this bound, not the bytes, makes the SSD tier evict. Costs about 20 bytes of heap per
   * page for the tier's directory and policy.
   */
  public TieredStoreBuilder ssdMaxPages(long pages) {
    this.ssdMaxPages = pages;
    return this;
  }

  /**
   * The smallest page the operator expects (default 16 KiB, header included): the SSD tier tracks
   * at most {@code ssdBytes / ssdMinPageBytes} pages, and its directory (the block index) is
   * allocated for that many when the store opens. Smaller pages still fit, but once that many are
   * stored the page count, not the bytes, makes the tier evict. The index's share for memory pages
   * is sized from it too ({@code (hotBytes + dramBytes) / ssdMinPageBytes}, at least the SSD
   * tier's pages): once memory holds that many smaller pages, a put of a new key is refused
   * ({@link StoreStats#indexFullRejects()}). Ignored for the SSD tier when {@link #ssdMaxPages} is
   * set.
   *
   * @throws IllegalArgumentException if not more than a page header (65 bytes or more)
   */
  public TieredStoreBuilder ssdMinPageBytes(int bytes) {
    if (bytes <= PageFormat.HEADER_LENGTH) {
      throw new IllegalArgumentException(
          "ssd min page bytes must exceed the " + PageFormat.HEADER_LENGTH + "-byte header: " + bytes);
    }
    this.ssdMinPageBytes = bytes;
    return this;
  }

  /**
   * Capacity of the block index in entries (default: the SSD tier's max pages plus the memory
   * tiers' share, as many again or {@code (hotBytes + dramBytes) / ssdMinPageBytes} if more). Memory
   * pages may take all but the SSD tier's max pages of it, and at least half.
   */
  public TieredStoreBuilder indexMaxEntries(long entries) {
    this.indexMaxEntries = entries;
    return this;
  }

  /** Background threads writing dirty pages to the SSD tier (at least 1). */
  public TieredStoreBuilder writeBackThreads(int threads) {
    this.writeBackThreads = threads;
    return this;
  }

  /**
   * Bytes of the write-back queue (off-heap, allocated at open; at least one largest page is used).
   * Dirty pages evicted from memory wait there for the writers; when it is full a put waits up to
   * {@link #writeBackMaxWaitMillis}, then evicted dirty pages that find no room are dropped and
   * counted.
   */
  public TieredStoreBuilder writeBackQueueBytes(long bytes) {
    this.writeBackQueueBytes = bytes;
    return this;
  }

  /** Longest wait of a put for room in a full write-back queue (0: never wait, drop at once). */
  public TieredStoreBuilder writeBackMaxWaitMillis(long millis) {
    this.writeBackMaxWaitMillis = millis;
    return this;
  }

  /** Whether {@code close()} writes dirty memory pages to the SSD tier (default true). */
  public TieredStoreBuilder flushOnClose(boolean flush) {
    this.flushOnClose = flush;
    return this;
  }

  /** Bound on close's wait for calls in progress and on its flush of dirty pages. */
  public TieredStoreBuilder closeGraceMillis(long millis) {
    this.closeGraceMillis = millis;
    return this;
  }

  /**
   * Backoff of the retries of a degraded SSD tier: the first after {@code minMillis}, doubling up
   * to {@code maxMillis}.
   */
  public TieredStoreBuilder degradedRetryMillis(long minMillis, long maxMillis) {
    this.degradedRetryMinMillis = minMillis;
    this.degradedRetryMaxMillis = maxMillis;
    return this;
  }

  /**
   * Shards of the hot and DRAM tiers, each with its own lock, key table and policy: a power of two
   * up to {@value #MEMORY_SHARDS_MAX}, or 0 for the tiers' default (twice the processors). A tier
   * too small to give every shard several slabs gets fewer.
   */
  public TieredStoreBuilder memoryShards(int shards) {
    this.memoryShards = shards;
    return this;
  }

  /**
   * Whether the hot and DRAM tiers allocate all their memory in the background from the start (each
   * slab zeroed, so touched), instead of one slab ahead of need (default false). Puts then never
   * wait for slab memory once that is done, and a host without the memory fails soon after start
   * rather than under load; the process holds the tiers' whole capacity from the start.
   */
  public TieredStoreBuilder memoryPrefault(boolean prefault) {
    this.memoryPrefault = prefault;
    return this;
  }

  /** Opens the store. */
  public TieredStore build() {
    validate();
    return StoreFactory.open(this);
  }

  private void validate() {
    if (dataDir == null) {
      throw new IllegalArgumentException("dataDir must be set");
    }
    if (maxPageBytes <= PageFormat.HEADER_LENGTH
        || maxPageBytes > PageFormat.MAX_PAYLOAD_LENGTH + PageFormat.HEADER_LENGTH) {
      throw new IllegalArgumentException(
          "maxPageBytes must be in (64, " + (PageFormat.MAX_PAYLOAD_LENGTH + 64) + "]: " + maxPageBytes);
    }
    if (hotBytes < 0 || dramBytes < 0 || ssdBytes < 0) {
      throw new IllegalArgumentException(
          "tier capacities must be >= 0: hot=" + hotBytes + " dram=" + dramBytes + " ssd=" + ssdBytes);
    }
    if (hotBytes == 0 && dramBytes == 0 && ssdBytes == 0) {
      throw new IllegalArgumentException("at least one tier needs a capacity > 0");
    }
    if (prefetchThreads < 1) {
      throw new IllegalArgumentException("prefetchThreads must be >= 1: " + prefetchThreads);
    }
    if (writeBackThreads < 1) {
      throw new IllegalArgumentException("writeBackThreads must be >= 1: " + writeBackThreads);
    }
    if (writeBackQueueBytes < 1 || writeBackQueueBytes > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "writeBackQueueBytes must be in [1, 2 GiB): " + writeBackQueueBytes);
    }
    if (writeBackMaxWaitMillis < 0 || closeGraceMillis < 0) {
      throw new IllegalArgumentException(
          "writeBackMaxWaitMillis and closeGraceMillis must be >= 0: "
              + writeBackMaxWaitMillis + ", " + closeGraceMillis);
    }
    if (degradedRetryMinMillis < 1 || degradedRetryMaxMillis < degradedRetryMinMillis) {
      throw new IllegalArgumentException(
          "degraded retry backoff needs 1 <= min <= max: "
              + degradedRetryMinMillis + ", " + degradedRetryMaxMillis);
    }
    if (memoryShards < 0 || memoryShards > MEMORY_SHARDS_MAX
        || (memoryShards > 0 && Integer.bitCount(memoryShards) != 1)) {
      throw new IllegalArgumentException(
          "memoryShards must be 0 (default) or a power of two up to " + MEMORY_SHARDS_MAX + ": "
              + memoryShards);
    }
    if (hotFrameBytes != -1 && hotFrameBytes <= PageFormat.HEADER_LENGTH) {
      throw new IllegalArgumentException("hotFrameBytes must exceed the 64-byte header: " + hotFrameBytes);
    }
  }
}
