package io.kvstore.core.store;

import io.kvstore.common.PageFormat;
import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.policy.AdmissionPolicy;
import io.kvstore.core.tier.PinnedPage;
import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.ssd.SsdTier;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.ReentrantLock;

/**
 * How pages move along the store's tiers: moves between memory tiers, hand-over of dirty pages to
 * write-back, promotion from the queue or SSD, the close flush, ownership reads, and the block
 * index and counters that follow each move. {@link TieredStore} holds the public API and the key
 * locks' protocol (see its class notes); methods here say which locks their caller holds.
 *
 * <p><b>The page directory.</b> In a store with an SSD tier the block index is the one record of
 * where a page is, of which namespace, and whether its memory copy is dirty (put, not yet handed
 * to write-back or written to SSD). A memory tier's bit is set <em>before</em> the page enters
 * the tier and cleared after it left, and the dirty flag is set before the page enters memory: an
 * eviction that follows the put at once always finds the page dirty (erring towards dirty is safe:
 * a writer skips a key the SSD tier already holds; towards clean would lose a page). A clean
 * victim is dropped without a write (the SSD tier is inclusive); a graceful close writes every
 * entry still dirty. Index operations run under key locks and under memory tiers' shard locks (from
 * eviction callbacks), as leaf locks: the index never calls back. A store without an SSD tier has
 * no index, no write-back and so no dirty state.
 */
final class TierChain {

  private final Tier[] tiers;
  /** tiers[0, memoryTiers) are memory tiers; tiers[memoryTiers], if any, is the SSD tier. */
  private final int memoryTiers;
  private final Tier ssd;
  private final AdmissionPolicy ssdAdmission;
  private final KeyLocks locks;
  private final StagingPool staging;
  private final BlockIndex index;
  private final WriteBack writeBack;
  private final StoreCounters counters;

  TierChain(
      Tier[] tiers,
      int memoryTiers,
      AdmissionPolicy ssdAdmission,
      KeyLocks locks,
      StagingPool staging,
      BlockIndex index,
      WriteBack writeBack,
      StoreCounters counters) {
    this.tiers = tiers;
    this.memoryTiers = memoryTiers;
    this.ssd = memoryTiers < tiers.length ? tiers[memoryTiers] : null;
    this.ssdAdmission = ssdAdmission;
    this.locks = locks;
    this.staging = staging;
    this.index = index;
    this.writeBack = writeBack;
    this.counters = counters;
  }

  /** {@link #putIntoMemory}: the block index has no room for the page (nothing was changed). */
  static final int INDEX_FULL = -2;

  /**
   * Called by tier {@code t}, under its lock, for each page it evicts. Memory work only.
   *
   * @param hold the tier's hold on the page's slot if the page may be kept in it ({@link
   *     io.kvstore.core.tier.EvictionListener#onEvictHeld}), else {@link WriteBackQueue#NO_HOLD}
   * @return whether the write-back queue keeps the held page (it releases the hold)
   */
  boolean evicted(int t, long hi, long lo, ByteBuffer page, long hold) {
    counters.evictions[t].increment();
    if (t >= memoryTiers) {
      return false; // the last tier drops what it evicts (and keeps its own index bit)
    }
    for (int j = t + 1; j < memoryTiers; j++) {
      // The lower tier's bit before its put, so its own eviction of the page always clears it; the
      // entry exists (it has t's bit), so this cannot be refused for room.
      if (page.remaining() <= tiers[j].maxPageBytes() && indexPresent(j, hi, lo, page, false)) {
        if (tiers[j].put(page)) {
          indexAbsent(t, hi, lo); // the dirty flag stays with the page
          counters.demotions[j].increment();
          return false;
        }
        indexAbsent(j, hi, lo);
      }
    }
    // Queued (if dirty) while the entry still names memory, then the bit and the flag cleared: an
    // ownership check reading the entry, then the queue, never misses the page in between. Only a
    // put of this key sets the flag, under its key lock, and it then removes this copy anyway.
    boolean wasDirty = index != null && index.isDirty(hi, lo);
    boolean held =
        leaveMemory(
            hi, lo, page, wasDirty, hold == WriteBackQueue.NO_HOLD ? WriteBackQueue.NO_HOLD : t, hold);
    if (index != null) {
      try {
        index.leaveMemory(hi, lo, tiers[t].kind());
      } catch (RuntimeException e) {
        if (!held) {
          throw e;
        }
        // The queue owns the held page now: the tier must keep its slot, so no exception may
        // leave here (the tier would free and reuse the slot under the queue's reader).
        LOG.log(System.Logger.Level.ERROR, "block index failed to record a page leaving memory", e);
      }
    }
    return held;
  }

  /**
   * A page leaves memory: a dirty one is queued for write-back, a clean one dropped.
   *
   * @param wasDirty whether it was dirty (the caller cleared the flag)
   */
  void leaveMemory(long hi, long lo, ByteBuffer page, boolean wasDirty) {
    leaveMemory(hi, lo, page, wasDirty, WriteBackQueue.NO_HOLD, 0);
  }

  /**
   * {@link #leaveMemory(long, long, ByteBuffer, boolean)} for a page memory tier {@code tier}
   * holds in its slot ({@code hold}), or with {@code tier} {@link WriteBackQueue#NO_HOLD} for a
   * page valid only during the call.
   *
   * @return whether the write-back queue keeps the held page
   */
  private boolean leaveMemory(
      long hi, long lo, ByteBuffer page, boolean wasDirty, int tier, long hold) {
    if (writeBack == null) {
      return false;
    }
    if (!wasDirty) {
      writeBack.cleanDrops.increment(); // the SSD tier holds it: inclusive, nothing to write
      return false;
    }
    if (page.remaining() > ssd.maxPageBytes()) {
      writeBack.drops.increment();
      return false;
    }
    if (!ssdAdmission.admit(hi, lo)) {
      counters.admissionRejects[memoryTiers].increment();
      return false;
    }
    return writeBack.evictedDirty(hi, lo, page, tier, hold);
  }

  /**
   * Under the key lock, taken with {@link KeyLocks#lockForRemoval} (so no write-back of the key is
   * in flight, and none can start): removes every copy of the key, fastest first (see the class
   * notes).
   *
   * @return false if an SSD copy could not be removed (then nothing may be stored for the key)
   */
  boolean removeEverywhere(long hi, long lo) {
    return removeEverywhere(hi, lo, false);
  }

  /** {@link #removeEverywhere(long, long)}; keeps the dirty flag a put reserved if {@code keepDirty}. */
  private boolean removeEverywhere(long hi, long lo, boolean keepDirty) {
    for (int t = 0; t < memoryTiers; t++) {
      deleteFrom(t, hi, lo);
    }
    if (writeBack == null) {
      return true;
    }
    if (!keepDirty) {
      index.clearDirty(hi, lo);
    }
    writeBack.cancel(hi, lo);
    try {
      // Always asked, not only when a get could serve the page: a page of a segment chosen for
      // eviction is no longer served, but its directory entry and location record last until the
      // drop reaches them, and a crash before that would bring back a page this put or delete
      // replaced. The tier's delete asks its directory first (no I/O, no stripe lock), so a put of
      // a new key does not wait for writes of other keys. Nobody can add the key meanwhile: we
      // hold its key lock, taken once no writer had it (lockForRemoval).
      ssd.deleteExclusive(hi, lo);
      return true;
    } catch (RuntimeException e) {
      writeBack.failures.increment();
      writeBack.health().failed(e);
      try {
        return !ssdHolds(hi, lo); // the tier forgot it before failing: it is not served
      } catch (RuntimeException again) {
        return false;
      }
    }
  }

  /** {@link #prepareReplace}: the old page is gone, the key is reserved for the new one. */
  static final int REPLACE_OK = 0;
  /** {@link #prepareReplace}: the index has no room for the new page; the old page is untouched. */
  static final int REPLACE_INDEX_FULL = 1;
  /** {@link #prepareReplace}: an older SSD copy could not be removed (see removeEverywhere). */
  static final int REPLACE_OLD_KEPT = 2;

  /**
   * Under the key lock, before a put stores its page: reserves the key's directory entry (dirty,
   * with the new page's namespace) so that a full index refuses the put before anything is
   * removed, then removes every copy of the old page.
   *
   * @param length the new page's length (a page too large for memory reserves nothing: it goes to
   *     the SSD tier, whose room the index keeps)
   */
  int prepareReplace(
      long hi, long lo, int length, long parentHi, long parentLo, long namespaceId) {
    boolean reserved = false;
    if (index != null && memoryTiers > 0 && length <= maxMemoryPageBytes()) {
      if (!index.reserveDirty(hi, lo, length, parentHi, parentLo, namespaceId)) {
        indexFull();
        return REPLACE_INDEX_FULL;
      }
      reserved = true;
    }
    if (!removeEverywhere(hi, lo, reserved)) {
      if (reserved) {
        index.clearDirty(hi, lo);
      }
      return REPLACE_OLD_KEPT;
    }
    return REPLACE_OK;
  }

  private int maxMemoryPageBytes() {
    int max = 0;
    for (int t = 0; t < memoryTiers; t++) {
      max = Math.max(max, tiers[t].maxPageBytes());
    }
    return max;
  }

  /** Counts a page refused for want of an index entry; warns once, naming the setting to change. */
  void indexFull() {
    counters.indexFullRejects.increment();
    if (!warnedIndexFull && index != null) {
      warnedIndexFull = true;
      LOG.log(
          System.Logger.Level.WARNING,
          "the block index has no room for more memory pages ({0} held of {1}, map sized for {2}"
              + " entries): puts are refused (NO_SPACE) until pages leave memory. Pages are smaller"
              + " than ssd.min.page.bytes declares; lower it so the index is sized for them.",
          index.memoryEntries(),
          index.memoryEntryLimit(),
          index.maxEntries());
    }
  }

  private static final System.Logger LOG = System.getLogger(TierChain.class.getName());
  private volatile boolean warnedIndexFull;

  /**
   * Whether the SSD tier's directory names the key ({@link SsdTier#holds}), including a page of a
   * segment being evicted; for a tier that is not an {@link SsdTier} (a test's wrapper), whether
   * it serves it.
   */
  boolean ssdHolds(long hi, long lo) {
    return ssd instanceof SsdTier direct ? direct.holds(hi, lo) : ssd.contains(hi, lo);
  }

  /**
   * Puts the page into the fastest memory tier that takes it, recording it in the index first
   * (tier bit, namespace, and the dirty flag if {@code isDirty}): recorded before it can be
   * evicted, so an eviction never sees a dirty page as clean. If no tier takes it the dirty flag is
   * cleared (a caller whose page was dirty before hands it to {@link #leaveMemory}).
   *
   * @return the tier that took it, -1 if none did, or {@link #INDEX_FULL} (nothing stored; the
   *     caller counts it if it refuses a put for it)
   */
  int putIntoMemory(ByteBuffer page, boolean isDirty) {
    int pos = page.position();
    long hi = PageFormat.keyHi(page, pos);
    long lo = PageFormat.keyLo(page, pos);
    int result = -1;
    for (int t = 0; t < memoryTiers; t++) {
      if (page.remaining() <= tiers[t].maxPageBytes()) {
        if (!indexPresent(t, hi, lo, page, isDirty)) {
          result = INDEX_FULL;
          break;
        }
        if (tiers[t].put(page)) {
          return t;
        }
        indexAbsent(t, hi, lo);
      }
    }
    if (isDirty && index != null) {
      index.clearDirty(hi, lo);
    }
    return result;
  }

  /**
   * Under the key lock: publishes memory tier {@code t}'s filled reservation of the page {@code
   * page} (a view of the reserved memory), marking it dirty first as {@link #putIntoMemory} does.
   * The reservation ends either way.
   *
   * @return whether the tier stored it (false: the tier was closed meanwhile)
   */
  boolean commitReserved(int t, long reservation, ByteBuffer page) {
    int pos = page.position();
    long hi = PageFormat.keyHi(page, pos);
    long lo = PageFormat.keyLo(page, pos);
    // Read before the commit: once committed, the slot may be evicted and reused at any time.
    int length = page.remaining();
    long parentHi = PageFormat.parentHi(page, pos);
    long parentLo = PageFormat.parentLo(page, pos);
    long namespaceId = PageFormat.namespaceId(page, pos);
    boolean recorded =
        index == null
            || index.markPresent(
                hi, lo, tiers[t].kind(), length, parentHi, parentLo, namespaceId, true);
    boolean stored = false;
    try {
      // Not recorded (no room; prepareReplace's reservation makes it unlikely): not committed.
      stored = recorded && tiers[t].commit(reservation);
    } finally {
      if (!recorded) {
        tiers[t].abort(reservation);
        indexFull();
      } else if (!stored && index != null) {
        indexAbsent(t, hi, lo);
        index.clearDirty(hi, lo);
      }
    }
    return stored;
  }

  /** Under the key lock: a page too large for memory (or refused by it) goes to SSD directly. */
  boolean putIntoSsd(ByteBuffer page) {
    return ssd != null && page.remaining() <= ssd.maxPageBytes() && writeBack.writeNow(page);
  }

  /**
   * Under the key lock: moves a page found in memory tier {@code t > 0} up (memory tiers are
   * exclusive). Removed from {@code t} first, so an eviction cannot meet two copies; if no tier
   * takes it back it leaves memory as an eviction would.
   */
  void promoteFromMemory(int t, ByteBuffer page) {
    int pos = page.position();
    long hi = PageFormat.keyHi(page, pos);
    long lo = PageFormat.keyLo(page, pos);
    if (!deleteFrom(t, hi, lo)) {
      return;
    }
    boolean isDirty = index != null && index.isDirty(hi, lo);
    int to = putIntoMemory(page, isDirty);
    if (to < 0) {
      // putIntoMemory's failure cleared the flag; it leaves memory as dirty as it was.
      leaveMemory(hi, lo, page, isDirty);
    } else if (to < t) {
      counters.promotions[to].increment();
    }
  }

  /** Under the key lock: copies a page read from the queue (dirty) or SSD (clean) into memory. */
  void promoteFromBelow(ByteBuffer page, boolean isDirty) {
    int to = putIntoMemory(page, isDirty);
    if (to >= 0) {
      counters.promotions[to].increment();
    }
  }

  /** Under the key lock: copies the key's queued page into dst; counts a hit. */
  int readQueued(long hi, long lo, ByteBuffer dst) {
    if (writeBack == null) {
      return -1;
    }
    int n = writeBack.queue().copyIfQueued(hi, lo, dst);
    if (n >= 0) {
      counters.gets.increment();
      counters.queueHits.increment();
      recordAccess(hi, lo);
    }
    return n;
  }

  /** Reads the SSD copy into dst; a read error is a counted miss, never thrown (a small dst is). */
  int readSsd(long hi, long lo, ByteBuffer dst) {
    if (ssd == null) {
      return -1;
    }
    try {
      return ssd.get(hi, lo, dst);
    } catch (IllegalArgumentException e) {
      throw e;
    } catch (RuntimeException e) {
      counters.ssdReadErrors.increment();
      return -1;
    }
  }

  /** Under the key lock: serves a get from the queue or SSD and promotes; the length or -1. */
  int getBelowMemory(long hi, long lo, ByteBuffer dst) {
    int start = dst.position();
    int n = readQueued(hi, lo, dst);
    boolean isDirty = n >= 0;
    if (n < 0) {
      n = readSsd(hi, lo, dst);
      if (n < 0) {
        return -1;
      }
      hit(memoryTiers, n, hi, lo);
    }
    promoteFromBelow(dst.duplicate().limit(start + n).position(start), isDirty);
    return n;
  }

  PinnedPage stageUpAndPin(long hi, long lo) {
    ByteBuffer buf = staging.acquireUninterruptibly();
    try {
      int n = writeBack == null ? -1 : writeBack.queue().copyIfQueued(hi, lo, buf);
      boolean isDirty = n >= 0;
      if (n < 0 && (n = readSsd(hi, lo, buf)) < 0) {
        return null;
      }
      int t = putIntoMemory(buf.flip(), isDirty);
      PinnedPage p = t < 0 ? null : tiers[t].pin(hi, lo);
      if (p != null) {
        counters.promotions[t].increment();
        if (isDirty) {
          counters.gets.increment();
          counters.queueHits.increment();
          recordAccess(hi, lo);
        } else {
          hit(memoryTiers, n, hi, lo);
        }
      }
      return p;
    } finally {
      staging.release(buf);
    }
  }

  /**
   * Prefetch of one key (a {@link Prefetcher} thread): promotes it from the queue or SSD under its
   * key lock; whether it is in memory now (and the caller's, if {@code checkNamespace}).
   */
  boolean prefetchOne(long hi, long lo, boolean checkNamespace, long namespaceId) {
    for (int t = 0; t < memoryTiers; t++) {
      if (tiers[t].contains(hi, lo)) {
        return !checkNamespace || ownershipOf(hi, lo, namespaceId) == TieredStore.OWN;
      }
    }
    if (memoryTiers == 0 || lengthBelowMemory(hi, lo) < 0) {
      return false;
    }
    ReentrantLock lock = locks.lockFor(hi, lo);
    lock.lock();
    ByteBuffer buf = staging.acquireUninterruptibly();
    try {
      int n = writeBack.queue().copyIfQueued(hi, lo, buf);
      boolean isDirty = n >= 0;
      if (n < 0 && readSsd(hi, lo, buf) < 0) {
        return false;
      }
      // The page is read anyway: its header says whether it is the caller's to move.
      if (checkNamespace && PageFormat.namespaceId(buf, 0) != namespaceId) {
        return false;
      }
      int t = putIntoMemory(buf.flip(), isDirty);
      if (t < 0) {
        return false;
      }
      counters.promotions[t].increment();
      counters.prefetchedPages.increment();
      return true;
    } finally {
      staging.release(buf);
      lock.unlock();
    }
  }

  /**
   * The close flush: writes every dirty memory page to SSD until the deadline, each under its key
   * lock (writers may still run).
   *
   * @return {written, not written}
   */
  long[] flushDirty(long deadlineNanos) {
    long[] keys = index.dirtyKeys();
    long written = 0;
    long left = 0;
    ByteBuffer buf = staging.acquireUninterruptibly();
    try {
      for (int i = 0; i < keys.length; i += 2) {
        long hi = keys[i];
        long lo = keys[i + 1];
        if (writeBack.health().degraded() || System.nanoTime() - deadlineNanos > 0) {
          left++;
          continue;
        }
        ReentrantLock lock = locks.lockFor(hi, lo);
        lock.lock();
        try {
          int n = -1;
          buf.clear();
          for (int t = 0; t < memoryTiers && n < 0; t++) {
            n = tiers[t].get(hi, lo, buf);
          }
          if (n < 0 || !index.isDirty(hi, lo)) {
            continue;
          }
          if (ssd.contains(hi, lo) || writeBack.writeNow(buf.flip())) {
            index.clearDirty(hi, lo);
            written++;
          } else {
            left++;
          }
        } finally {
          lock.unlock();
        }
      }
    } finally {
      staging.release(buf);
    }
    return new long[] {written, left};
  }

  /** Dirty pages in the memory tiers (not yet on SSD): the directory's count of them. */
  long dirtyCount() {
    return index.dirtyEntries();
  }

  /** Length of the key's page in the write-back queue or on SSD (directory only), or -1. */
  int lengthBelowMemory(long hi, long lo) {
    if (writeBack != null) {
      int n = writeBack.queue().lengthIfQueued(hi, lo);
      if (n >= 0) {
        return n;
      }
    }
    return ssd == null ? -1 : ssd.length(hi, lo);
  }

  /** The memory tier holding the key, or {@code memoryTiers} if only the queue or SSD does, or -1. */
  int whereHeld(long hi, long lo) {
    for (int t = 0; t < memoryTiers; t++) {
      if (tiers[t].contains(hi, lo)) {
        return t;
      }
    }
    return lengthBelowMemory(hi, lo) >= 0 ? memoryTiers : -1;
  }

  /**
   * {@link TieredStore#ownership} without the open check. Every copy of a key is of one version. With
   * a block index, a memory page's namespace is the index's (no pin, no header read); a memory-only
   * store reads the pinned page's header.
   */
  int ownershipOf(long hi, long lo, long namespaceId) {
    if (index != null) {
      int m = index.memoryOwnership(hi, lo, namespaceId);
      if (m == BlockIndex.MEMORY_OWN || m == BlockIndex.MEMORY_FOREIGN) {
        return m == BlockIndex.MEMORY_OWN ? TieredStore.OWN : TieredStore.FOREIGN;
      }
      // Not in memory: the queue, then SSD, in that order even with no entry (a writer puts the
      // SSD copy before it releases the queued one; an eviction queues a page before it clears
      // the memory bit), so a page moving down is seen in one place or the next.
    }
    for (int t = 0; index == null && t < memoryTiers; t++) {
      try (PinnedPage p = tiers[t].pin(hi, lo)) {
        if (p != null) {
          return PageFormat.namespaceId(p.buffer(), 0) == namespaceId ? TieredStore.OWN : TieredStore.FOREIGN;
        }
      }
    }
    if (writeBack != null) {
      int o = writeBack.queue().ownershipIfQueued(hi, lo, namespaceId);
      return o != TieredStore.ABSENT ? o : ssdOwnership(hi, lo, namespaceId);
    }
    return TieredStore.ABSENT;
  }

  /**
   * Ownership of the SSD tier's copy, from the SSD directory ({@link SsdTier#namespaceOf}): no page
   * read, no I/O. A tier that is not an {@link SsdTier} (a test's fault-injecting wrapper) is asked
   * by reading the page's header into a staging buffer instead; a page that cannot be read
   * (corrupt, I/O error) is absent there, since it could not be served either.
   */
  int ssdOwnership(long hi, long lo, long namespaceId) {
    if (ssd instanceof SsdTier direct) {
      long ns = direct.namespaceOf(hi, lo);
      if (ns == SsdTier.NO_NAMESPACE) {
        return TieredStore.ABSENT;
      }
      return ns == namespaceId ? TieredStore.OWN : TieredStore.FOREIGN;
    }
    if (ssd.length(hi, lo) == Tier.MISS) {
      return TieredStore.ABSENT;
    }
    ByteBuffer buf = staging.acquireUninterruptibly();
    try {
      if (readSsd(hi, lo, buf) < 0) {
        return TieredStore.ABSENT;
      }
      return PageFormat.namespaceId(buf, 0) == namespaceId ? TieredStore.OWN : TieredStore.FOREIGN;
    } finally {
      staging.release(buf);
    }
  }

  /** Deletes the key from tier {@code t} and clears its index bit; whether the tier held it. */
  boolean deleteFrom(int t, long hi, long lo) {
    if (!tiers[t].delete(hi, lo)) {
      return false;
    }
    indexAbsent(t, hi, lo);
    return true;
  }

  /**
   * Records in the index that memory tier {@code t} holds (or is about to hold) the page, with its
   * namespace, dirty if {@code isDirty} (SSD keeps its own bit).
   *
   * @return false if the index has no room for it (then nothing was recorded)
   */
  boolean indexPresent(int t, long hi, long lo, ByteBuffer page, boolean isDirty) {
    if (index == null || t >= memoryTiers) {
      return true;
    }
    int pos = page.position();
    return index.markPresent(
        hi,
        lo,
        tiers[t].kind(),
        page.remaining(),
        PageFormat.parentHi(page, pos),
        PageFormat.parentLo(page, pos),
        PageFormat.namespaceId(page, pos),
        isDirty);
  }

  void indexAbsent(int t, long hi, long lo) {
    if (index != null && t < memoryTiers) {
      index.markAbsent(hi, lo, tiers[t].kind());
    }
  }

  void hit(int t, int bytes, long hi, long lo) {
    counters.hit(t, bytes);
    recordAccess(hi, lo);
  }

  void recordAccess(long hi, long lo) {
    if (index != null) {
      index.recordAccess(hi, lo);
    }
  }
}
