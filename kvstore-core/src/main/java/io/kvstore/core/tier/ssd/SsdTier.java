package io.kvstore.core.tier.ssd;

import io.kvstore.common.BlockKey;
import io.kvstore.common.PageFormat;
import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.policy.EvictionPolicy;
import io.kvstore.core.tier.EvictionListener;
import io.kvstore.core.tier.PinnedPage;
import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.TierKind;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.IntPredicate;
import org.rocksdb.RocksDBException;

/**
 * The SSD tier: pages as RocksDB values (BlobDB keeps them in blob files), surviving restarts, with
 * the page checksum verified on every read.
 *
 * <p><b>Layout.</b> See {@link RocksPageStore}: key → whole page, plus a small {@code meta} record
 * (length, parent) written in the same atomic batch so that opening learns every page without
 * reading one. An in-memory {@link PageDirectory} (key → dense id → length) answers {@code
 * contains}/{@code length} without I/O and gives the {@link EvictionPolicy} its ids; it is rebuilt
 * from the {@code meta} records on open, so after a restart {@link #usedBytes()} and {@link
 * #pageCount()} are those of the pages on disk. Recency is not persisted: the policy starts from
 * key order.
 *
 * <p><b>Block index.</b> If a {@link BlockIndex} is given, the tier keeps its SSD bits: set after a
 * page is written, cleared after it is deleted or evicted. A crash between the two writes leaves an
 * orphan (page without index entry) or a dangling entry (entry without page); opening repairs both
 * against RocksDB, which is the authority (see {@link #reconcileReport()}). A dangling entry is never
 * served: reads go by the directory, which comes from RocksDB.
 *
 * <p><b>Reads.</b> A page read is verified ({@link PageFormat#verify}, and the key in its header must
 * be the key asked). A page that fails is a miss, is removed, and counts in {@link #corruptions()}.
 *
 * <p><b>Durability.</b> Chosen by {@link SsdTierConfig.Durability}: by default there is no
 * write-ahead log, puts reach disk when RocksDB flushes a memtable and on {@link #close()}, and a
 * process crash turns the pages put since the last flush into misses; {@code WAL} keeps every
 * acknowledged page across a process crash (SIGKILL), {@code SYNC} across a machine crash.
 *
 * <p><b>Concurrency.</b> One short lock guards the directory, the policy and the byte count; no I/O
 * happens under it. Writes of one key are ordered by one of {@value #STRIPES} striped locks, held
 * across the RocksDB write and the index update; reads take no stripe lock (RocksDB reads are
 * atomic per key), except to re-check a page that failed verification. Eviction picks victims under
 * the short lock (so the capacity bound holds at once) and deletes them from RocksDB afterwards under
 * their own stripe, skipping any victim that was put again meanwhile. {@link #close()} waits for
 * operations in flight. The eviction listener is called under the victim's stripe lock and must not
 * call back into this tier.
 */
public final class SsdTier implements Tier {

  static final int STRIPES = 64;

  private final SsdTierConfig config;
  private final RocksPageStore store;
  private final BlockIndex index;
  private final PageDirectory directory;
  private final EvictionPolicy policy;
  private final ReentrantLock lock = new ReentrantLock();
  private final ReentrantLock[] stripes = new ReentrantLock[STRIPES];
  private final RocksPageStore.WriteSlot[] writeSlots = new RocksPageStore.WriteSlot[STRIPES];
  private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
  private final ThreadLocal<RocksPageStore.ReadSlot> readSlots =
      ThreadLocal.withInitial(RocksPageStore.ReadSlot::new);
  private final ThreadLocal<VictimList> victimLists = ThreadLocal.withInitial(VictimList::new);
  private final LongAdder hits = new LongAdder();
  private final LongAdder misses = new LongAdder();
  private final LongAdder evictions = new LongAdder();
  private final LongAdder corruptions = new LongAdder();
  private final ReconcileReport reconcileReport;
  private final EvictionHandOver handOver;
  /** The id a put must not evict (the page it replaces); guarded by {@link #lock}. */
  private int protectedId = PageDirectory.NONE;
  private final IntPredicate notProtected = id -> id != protectedId;
  private volatile long usedBytes;
  private volatile EvictionListener listener = EvictionListener.DROP;
  private boolean closed;

  /** Opens the tier without a block index. */
  public SsdTier(SsdTierConfig config) {
    this(config, null);
  }

  /**
   * Opens (creating if needed) the tier in {@code config.dataDir()}, rebuilds its directory from
   * RocksDB and, if {@code index} is not null, reconciles the index's SSD entries with RocksDB. The
   * index stays owned by the caller (this tier does not close it).
   *
   * @throws SsdStorageException if the data directory is unusable (not writable, locked by another
   *     process) or RocksDB fails
   */
  public SsdTier(SsdTierConfig config, BlockIndex index) {
    this.config = config;
    this.index = index;
    this.directory = new PageDirectory(config.maxPages);
    this.policy = config.policyFactory.apply(config.maxPages);
    this.store = RocksPageStore.open(config);
    this.handOver = new EvictionHandOver(store, config.maxPageBytes);
    try {
      for (int i = 0; i < STRIPES; i++) {
        stripes[i] = new ReentrantLock();
        writeSlots[i] = new RocksPageStore.WriteSlot();
      }
      this.reconcileReport = new SsdTierLoader(this).load();
    } catch (RuntimeException e) {
      closeResources();
      throw e;
    }
  }

  @Override
  public TierKind kind() {
    return TierKind.SSD;
  }

  @Override
  public long capacityBytes() {
    return config.capacityBytes;
  }

  @Override
  public long usedBytes() {
    return usedBytes;
  }

  @Override
  public long pageCount() {
    lock.lock();
    try {
      return directory.size();
    } finally {
      lock.unlock();
    }
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

  /** What opening found and repaired. */
  public ReconcileReport reconcileReport() {
    return reconcileReport;
  }

  /** The tier's settings. */
  public SsdTierConfig config() {
    return config;
  }

  @Override
  public boolean put(ByteBuffer src) {
    int pos = src.position();
    int len = src.remaining();
    if (len < PageFormat.HEADER_LENGTH || PageFormat.verifyHeader(src, pos, len) != PageFormat.OK) {
      throw new IllegalArgumentException(
          "not a page: " + PageFormat.describe(PageFormat.verifyHeader(src, pos, len)));
    }
    if (len > config.maxPageBytes || len > config.capacityBytes) {
      return false;
    }
    long hi = PageFormat.keyHi(src, pos);
    long lo = PageFormat.keyLo(src, pos);
    long parentHi = PageFormat.parentHi(src, pos);
    long parentLo = PageFormat.parentLo(src, pos);
    Lock life = lifecycle.readLock();
    life.lock();
    VictimList victims = victimLists.get();
    victims.clear();
    try {
      ensureOpen();
      int s = stripe(hi, lo);
      stripes[s].lock();
      try {
        reserve(hi, lo, len, parentHi, parentLo, victims);
        try {
          store.put(writeSlots[s], hi, lo, src, parentHi, parentLo);
        } catch (RocksDBException | RuntimeException e) {
          forgetAfterFailedWrite(s, hi, lo, e);
          throw new SsdStorageException("SSD tier write failed in " + store.dir(), e);
        }
        if (index != null) {
          index.markPresent(hi, lo, TierKind.SSD, len, parentHi, parentLo);
        }
      } finally {
        stripes[s].unlock();
      }
      return true;
    } finally {
      try {
        deleteVictims(victims);
      } finally {
        life.unlock();
      }
    }
  }

  /** Makes room and enters the key in the directory and the policy, all under the short lock. */
  private void reserve(
      long hi, long lo, int len, long parentHi, long parentLo, VictimList victims) {
    lock.lock();
    try {
      int id = directory.find(hi, lo);
      long old = id >= 0 ? directory.length(id) : 0;
      protectedId = id;
      while (usedBytes - old + len > config.capacityBytes || (id < 0 && directory.isFull())) {
        int victim = policy.evict(notProtected);
        if (victim < 0) {
          throw new IllegalStateException(
              "eviction policy " + policy.name() + " found no victim among "
                  + directory.size() + " pages");
        }
        victims.add(directory.keyHi(victim), directory.keyLo(victim), directory.length(victim));
        usedBytes -= directory.length(victim);
        directory.remove(victim);
      }
      int parentId =
          BlockKey.isRoot(parentHi, parentLo) ? PageDirectory.NONE : directory.find(parentHi, parentLo);
      if (parentId == PageDirectory.NONE) {
        parentId = EvictionPolicy.NO_PARENT;
      }
      if (id >= 0) {
        directory.setLength(id, len);
        policy.onRemove(id);
        policy.onInsert(id, parentId);
      } else {
        id = directory.insert(hi, lo, len);
        policy.onInsert(id, parentId);
      }
      usedBytes += len - old;
    } finally {
      protectedId = PageDirectory.NONE;
      lock.unlock();
    }
  }

  /** After a failed write the key's state is unknown: remove it everywhere (a later get misses). */
  private void forgetAfterFailedWrite(int s, long hi, long lo, Exception cause) {
    forget(hi, lo);
    try {
      store.delete(writeSlots[s], hi, lo);
      if (index != null) {
        index.markAbsent(hi, lo, TierKind.SSD);
      }
    } catch (RocksDBException | RuntimeException e) {
      cause.addSuppressed(e);
    }
  }

  /** Removes the key from the directory and the policy; returns whether it was there. */
  private boolean forget(long hi, long lo) {
    lock.lock();
    try {
      int id = directory.find(hi, lo);
      if (id < 0) {
        return false;
      }
      usedBytes -= directory.length(id);
      policy.onRemove(id);
      directory.remove(id);
      return true;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Deletes evicted pages from RocksDB (and the index), handing each to the listener first. A
   * victim put again since it was chosen belongs to that put and is left alone.
   */
  private void deleteVictims(VictimList victims) {
    SsdStorageException failure = null;
    for (int i = 0; i < victims.size; i++) {
      long hi = victims.hi[i];
      long lo = victims.lo[i];
      int s = stripe(hi, lo);
      stripes[s].lock();
      try {
        if (isPresent(hi, lo)) {
          continue;
        }
        EvictionListener l = listener;
        if (l != EvictionListener.DROP) {
          if (!handOver.handOver(l, hi, lo, victims.len[i], readSlots.get())) {
            corruptions.increment();
          }
        }
        store.delete(writeSlots[s], hi, lo);
        if (index != null) {
          index.markAbsent(hi, lo, TierKind.SSD);
        }
        evictions.increment();
      } catch (RocksDBException | RuntimeException e) {
        if (failure == null) {
          failure = new SsdStorageException("SSD tier failed to delete an evicted page", e);
        } else {
          failure.addSuppressed(e);
        }
      } finally {
        stripes[s].unlock();
      }
    }
    victims.clear();
    if (failure != null) {
      throw failure;
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
      int len;
      lock.lock();
      try {
        int id = directory.find(keyHi, keyLo);
        if (id < 0) {
          misses.increment();
          return MISS;
        }
        len = directory.length(id);
        policy.onAccess(id);
      } finally {
        lock.unlock();
      }
      if (dst.remaining() < len) {
        throw new IllegalArgumentException(
            "dst has " + dst.remaining() + " bytes remaining, the page needs " + len);
      }
      int pos = dst.position();
      int n = store.get(readSlots.get(), keyHi, keyLo, dst);
      if (n == len && pageOk(dst, pos, len, keyHi, keyLo)) {
        dst.position(pos + len);
        hits.increment();
        return len;
      }
      return recheck(keyHi, keyLo, dst, pos);
    } catch (RocksDBException e) {
      throw new SsdStorageException("SSD tier read failed in " + store.dir(), e);
    } finally {
      life.unlock();
    }
  }

  /**
   * The read did not give a good page of the directory's length: either a write of the key raced
   * with it, or the stored page is bad. Under the key's stripe no write can race: read again, and
   * remove the page if it is still bad.
   */
  private int recheck(long hi, long lo, ByteBuffer dst, int pos) throws RocksDBException {
    int s = stripe(hi, lo);
    stripes[s].lock();
    try {
      int len = length0(hi, lo);
      if (len == MISS || dst.remaining() < len) {
        // Deleted, evicted or replaced by a larger page meanwhile: not corruption.
        misses.increment();
        return MISS;
      }
      int n = store.get(readSlots.get(), hi, lo, dst);
      if (n == len && pageOk(dst, pos, len, hi, lo)) {
        dst.position(pos + len);
        hits.increment();
        return len;
      }
      forget(hi, lo);
      store.delete(writeSlots[s], hi, lo);
      if (index != null) {
        index.markAbsent(hi, lo, TierKind.SSD);
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
    return length0(keyHi, keyLo);
  }

  private int length0(long hi, long lo) {
    lock.lock();
    try {
      int id = directory.find(hi, lo);
      return id < 0 ? MISS : directory.length(id);
    } finally {
      lock.unlock();
    }
  }

  private boolean isPresent(long hi, long lo) {
    return length0(hi, lo) != MISS;
  }

  @Override
  public boolean delete(long keyHi, long keyLo) {
    Lock life = lifecycle.readLock();
    life.lock();
    try {
      ensureOpen();
      int s = stripe(keyHi, keyLo);
      stripes[s].lock();
      try {
        if (!forget(keyHi, keyLo)) {
          return false;
        }
        store.delete(writeSlots[s], keyHi, keyLo);
        if (index != null) {
          index.markAbsent(keyHi, keyLo, TierKind.SSD);
        }
        return true;
      } catch (RocksDBException e) {
        throw new SsdStorageException("SSD tier delete failed in " + store.dir(), e);
      } finally {
        stripes[s].unlock();
      }
    } finally {
      life.unlock();
    }
  }

  /**
   * Waits for operations in flight, flushes the memtables when there is no write-ahead log (so no
   * acknowledged page is lost), then closes RocksDB (column families, database, options, in that
   * order). Pages stay on disk. Does not close the block index. Idempotent.
   *
   * @throws SsdStorageException if the flush or RocksDB's close fails (everything is closed anyway)
   */
  @Override
  public void close() {
    lifecycle.writeLock().lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      closeResources();
    } finally {
      lifecycle.writeLock().unlock();
    }
  }

  private void closeResources() {
    for (RocksPageStore.WriteSlot slot : writeSlots) {
      if (slot != null) {
        slot.close();
      }
    }
    if (handOver != null) {
      handOver.close();
    }
    store.close();
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("the SSD tier in " + store.dir() + " is closed");
    }
  }

  private static int stripe(long hi, long lo) {
    long h = (hi ^ Long.rotateLeft(lo, 29)) * 0x9E3779B97F4A7C15L;
    return (int) (h >>> 58) & (STRIPES - 1);
  }

  // ---- for SsdTierLoader (same package): state it fills while the tier is being opened ----

  RocksPageStore store() {
    return store;
  }

  BlockIndex index() {
    return index;
  }

  PageDirectory directory() {
    return directory;
  }

  EvictionPolicy policy() {
    return policy;
  }

  RocksPageStore.WriteSlot writeSlot(long hi, long lo) {
    return writeSlots[stripe(hi, lo)];
  }

  void setUsedBytesWhileOpening(long bytes) {
    usedBytes = bytes;
  }

  // ---- test hooks ----

  /** Overwrites the stored value of a key with raw bytes, leaving directory and meta as they are. */
  void writeRawPageForTest(long hi, long lo, byte[] value) throws RocksDBException {
    store.putRawPage(hi, lo, value);
  }

  /** Deletes the stored value of a key, leaving directory and meta as they are. */
  void deleteRawPageForTest(long hi, long lo) throws RocksDBException {
    store.deleteRawPage(hi, lo);
  }
}
