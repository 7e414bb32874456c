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
  private final DirtyKeys dirty;
  private final WriteBack writeBack;
  private final StoreCounters counters;

  TierChain(
      Tier[] tiers,
      int memoryTiers,
      AdmissionPolicy ssdAdmission,
      KeyLocks locks,
      StagingPool staging,
      BlockIndex index,
      DirtyKeys dirty,
      WriteBack writeBack,
      StoreCounters counters) {
    this.tiers = tiers;
    this.memoryTiers = memoryTiers;
    this.ssd = memoryTiers < tiers.length ? tiers[memoryTiers] : null;
    this.ssdAdmission = ssdAdmission;
    this.locks = locks;
    this.staging = staging;
    this.index = index;
    this.dirty = dirty;
    this.writeBack = writeBack;
    this.counters = counters;
  }

  /** Called by tier {@code t}, under its lock, for each page it evicts. Memory work only. */
  void evicted(int t, long hi, long lo, ByteBuffer page) {
    counters.evictions[t].increment();
    indexAbsent(t, hi, lo);
    if (t >= memoryTiers) {
      return; // the last tier drops what it evicts
    }
    for (int j = t + 1; j < memoryTiers; j++) {
      if (page.remaining() <= tiers[j].maxPageBytes() && tiers[j].put(page)) {
        indexPresent(j, hi, lo, page);
        counters.demotions[j].increment();
        return;
      }
    }
    leaveMemory(hi, lo, page);
  }

  /** A page leaves memory: a dirty one is queued for write-back, a clean one dropped. */
  void leaveMemory(long hi, long lo, ByteBuffer page) {
    if (writeBack == null) {
      return;
    }
    if (!dirty.remove(hi, lo)) {
      writeBack.cleanDrops.increment(); // the SSD tier holds it: inclusive, nothing to write
      return;
    }
    if (page.remaining() > ssd.maxPageBytes()) {
      writeBack.drops.increment();
      return;
    }
    if (!ssdAdmission.admit(hi, lo)) {
      counters.admissionRejects[memoryTiers].increment();
      return;
    }
    writeBack.evictedDirty(hi, lo, page);
  }

  /**
   * Under the key lock: removes every copy of the key, fastest first (see the class notes).
   *
   * @return false if an SSD copy could not be removed (then nothing may be stored for the key)
   */
  boolean removeEverywhere(long hi, long lo) {
    for (int t = 0; t < memoryTiers; t++) {
      deleteFrom(t, hi, lo);
    }
    if (writeBack == null) {
      return true;
    }
    writeBack.awaitNotWriting(hi, lo);
    dirty.remove(hi, lo);
    writeBack.cancel(hi, lo);
    try {
      // Always asked, not only when a get could serve the page: a page of a segment chosen for
      // eviction is no longer served, but its directory entry and location record last until the
      // drop reaches them, and a crash before that would bring back a page this put or delete
      // replaced. The tier's delete asks its directory first (no I/O, no stripe lock), so a put of
      // a new key does not wait for writes of other keys. Nobody can add the key meanwhile: we
      // hold its key lock and waited for any writer of it.
      ssd.delete(hi, lo);
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

  /**
   * Whether the SSD tier's directory names the key ({@link SsdTier#holds}), including a page of a
   * segment being evicted; for a tier that is not an {@link SsdTier} (a test's wrapper), whether
   * it serves it.
   */
  boolean ssdHolds(long hi, long lo) {
    return ssd instanceof SsdTier direct ? direct.holds(hi, lo) : ssd.contains(hi, lo);
  }

  /**
   * Puts the page into the fastest memory tier that takes it, marking it dirty first if it is not
   * on SSD (marked before it can be evicted, so an eviction never sees a dirty page as clean).
   *
   * @return the tier that took it, or -1
   */
  int putIntoMemory(ByteBuffer page, boolean isDirty) {
    int pos = page.position();
    long hi = PageFormat.keyHi(page, pos);
    long lo = PageFormat.keyLo(page, pos);
    boolean track = isDirty && dirty != null;
    if (track) {
      dirty.add(hi, lo);
    }
    for (int t = 0; t < memoryTiers; t++) {
      if (page.remaining() <= tiers[t].maxPageBytes() && tiers[t].put(page)) {
        indexPresent(t, hi, lo, page);
        return t;
      }
    }
    if (track) {
      dirty.remove(hi, lo);
    }
    return -1;
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
    boolean track = dirty != null;
    if (track) {
      dirty.add(hi, lo);
    }
    boolean stored = false;
    try {
      stored = tiers[t].commit(reservation);
    } finally {
      if (!stored && track) {
        dirty.remove(hi, lo);
      }
    }
    if (stored && index != null) {
      index.markPresent(hi, lo, tiers[t].kind(), length, parentHi, parentLo);
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
    boolean isDirty = dirty != null && dirty.contains(hi, lo);
    int to = putIntoMemory(page, isDirty);
    if (to < 0) {
      if (isDirty) {
        dirty.add(hi, lo); // putIntoMemory's failure unmarked it: it leaves memory still dirty
      }
      leaveMemory(hi, lo, page);
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
    long[] keys = dirty.snapshot();
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
          if (n < 0 || !dirty.contains(hi, lo)) {
            continue;
          }
          if (ssd.contains(hi, lo) || writeBack.writeNow(buf.flip())) {
            dirty.remove(hi, lo);
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

  /** {@link #ownership} without the open check. Every copy of a key is of one version. */
  int ownershipOf(long hi, long lo, long namespaceId) {
    for (int t = 0; t < memoryTiers; t++) {
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

  /** Records in the index that memory tier {@code t} now holds the page (SSD keeps its own bit). */
  void indexPresent(int t, long hi, long lo, ByteBuffer page) {
    if (index != null && t < memoryTiers) {
      int pos = page.position();
      index.markPresent(
          hi,
          lo,
          tiers[t].kind(),
          page.remaining(),
          PageFormat.parentHi(page, pos),
          PageFormat.parentLo(page, pos));
    }
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
