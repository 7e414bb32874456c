package io.kvstore.core.store;

import io.kvstore.common.BlockKey;
import io.kvstore.common.PageFormat;
import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.index.IndexEntry;
import io.kvstore.core.policy.AdmissionPolicy;
import io.kvstore.core.tier.EvictionListener;
import io.kvstore.core.tier.PinnedPage;
import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.TierKind;
import io.kvstore.core.tier.TierWriteException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The embedded tiered block store: pages (header + payload, {@code spec/2-page-format.md}) kept in
 * a chain of tiers, fastest first (hot frames → off-heap DRAM → SSD), behind one eviction policy per
 * tier. Built by {@link TieredStoreBuilder} ({@link #builder()}).
 *
 * <h2>Semantics</h2>
 *
 * <ul>
 *   <li>A put is visible to every later get until the page is evicted from every tier or deleted. A
 *       get returns the exact bytes put, or a miss: never other bytes, never an error for a page it
 *       could serve (an SSD read error is a miss, counted in {@link
 *       StoreStats.WriteBackStats#ssdReadErrors()}).
 *   <li>A put goes to the fastest tier that can hold the page; every older copy of the key (memory,
 *       write-back queue, SSD) is removed first. The memory copy is <em>dirty</em> until written
 *       back; the dirty flag lives in the page's block index entry (the page directory, see {@link
 *       #locate}), with its tiers and namespace. A put whose page the directory has no room for
 *       is refused, the stored page untouched.
 *   <li>Memory tiers are exclusive among themselves: a page evicted from one moves down to the next
 *       (a memcpy), and a hit in a lower memory tier moves the page up. The SSD tier is
 *       <em>inclusive</em>: a page promoted from SSD stays there, so its memory copy is clean and
 *       dropping it costs no write. A read-only workload causes no SSD write.
 *   <li>A dirty page leaving the last memory tier goes to the write-back queue, drained by
 *       background writers ({@link WriteBack} has the policy: bounded queue, bounded put wait, drops
 *       counted). Pages waiting there are still served.
 *   <li>An SSD failure is contained: the page being written is dropped and counted, the store
 *       becomes degraded ({@link #health()}), memory keeps serving, and no valid page is deleted.
 *   <li>Pages read from the SSD tier are checked against their CRCs; a page that fails is a miss,
 *       is removed, and is counted in {@link StoreStats#corruptions()}.
 *   <li>{@link #close()} writes dirty pages down within a grace period, so a reopened store serves
 *       what was held.
 * </ul>
 *
 * <h2>Concurrency</h2>
 *
 * Thread-safe. Put, delete, promotion and the close flush take a striped per-key lock ({@link
 * KeyLocks}); a get from the fastest tier takes none. Moves between memory
 * tiers and hand-over to the write-back queue run inside the evicting tier's lock (its eviction
 * callback), take no key lock, and do no I/O. Why that is enough:
 *
 * <ol>
 *   <li>A key enters a memory tier by put or promotion, both under its key lock, or by a move from
 *       the memory tier above, which holds that tier's lock for the whole move; it enters the queue
 *       only from the last memory tier, under that tier's lock; it enters the SSD tier by a put too
 *       large for memory (under its key lock) or by a writer, which checks its entry under the key
 *       lock and then writes without it while put and delete of that key wait for the write.
 *   <li>Put and delete first remove the key from every memory tier fastest first (each removal
 *       under that tier's lock, so a move or hand-over of it has finished or cannot start), then
 *       cancel its queued writes (a writer checks that under the key lock before it writes), then
 *       remove it from SSD. After the pass no older copy is anywhere, nor on its way.
 *   <li>Hence every copy of a key is of one version, and serving or promoting any copy is correct.
 *       "The SSD tier holds K" therefore means "every memory copy of K is clean".
 * </ol>
 *
 * {@link #putCopyVerified} copies and checks its page in a reserved memory slot before taking
 * any lock (the slot is in no index, so nobody sees it), then commits it under the key lock as a put
 * would: the reservation is a memory tier's own work, like an eviction.
 *
 * <p>Lock order: key lock, then tier locks fastest first, then the queue's and the block index's
 * (Chronicle segment) leaf locks; a tier lock is never held while taking a key lock. {@link #close()} waits for calls in
 * progress (bounded by the grace period); later calls throw {@link IllegalStateException}; a
 * pinned page stays valid until released (memory tiers free their memory after the last pin).
 */
public final class TieredStore implements AutoCloseable {

  /** {@link #ownership}: no tier holds the key. */
  public static final int ABSENT = 0;
  /** {@link #ownership}: the key is held under the caller's namespace. */
  public static final int OWN = 1;
  /** {@link #ownership}: the key is held under another namespace. */
  public static final int FOREIGN = 2;

  private final Tier[] tiers;
  /** tiers[0, memoryTiers) are memory tiers; tiers[memoryTiers], if any, is the SSD tier. */
  private final int memoryTiers;
  private final Tier ssd;
  private final AdmissionPolicy ssdAdmission;
  private final KeyLocks locks = new KeyLocks(4096);
  private final StagingPool staging;
  private final Prefetcher prefetcher;
  private final BlockIndex index;
  private final int maxPageBytes;
  private final WriteBack writeBack;
  private final StoreCounters counters;
  private final TierChain chain;
  private final VerifiedCopyPut verifiedCopyPut;
  private final CorruptionCounter corruptionCounter;
  private final StoreCloser closer;
  private final AutoCloseable dataDirLock;
  /** Where the block index runs when not in the data directory, else null. */
  private volatile Path indexRuntimeDir;
  private final LongAdder active = new LongAdder();
  private volatile boolean closed;

  /** Reads the SSD tier's corruption count (the tier checks CRCs and removes bad pages). */
  @FunctionalInterface
  interface CorruptionCounter {
    long corruptions();
  }

  /**
   * @param tiers the tiers, fastest first, memory tiers before the SSD tier; the store owns and
   *     closes them
   * @param index the block index, which the store keeps up to date for the memory tiers (the SSD
   *     tier keeps its own bits) and closes after the tiers; null for a memory-only store
   * @param dataDirLock the data directory's lock ({@link DataDirLock}), released last on close;
   *     null for a memory-only store
   * @param settings the write-back, prefetch and close settings
   */
  TieredStore(
      List<Tier> tiers,
      AdmissionPolicy ssdAdmission,
      CorruptionCounter corruptionCounter,
      BlockIndex index,
      AutoCloseable dataDirLock,
      TieredStoreBuilder settings) {
    this.dataDirLock = dataDirLock;
    if (tiers.isEmpty()) {
      throw new IllegalArgumentException("a store needs at least one tier");
    }
    this.tiers = tiers.toArray(new Tier[0]);
    int m = 0;
    while (m < this.tiers.length && this.tiers[m].kind() != TierKind.SSD) {
      m++;
    }
    if (m < this.tiers.length - 1) {
      throw new IllegalArgumentException("the SSD tier must be the last tier");
    }
    this.memoryTiers = m;
    this.ssd = m < this.tiers.length ? this.tiers[m] : null;
    this.ssdAdmission = ssdAdmission;
    this.corruptionCounter = corruptionCounter;
    this.index = index;
    this.counters = new StoreCounters(this.tiers.length);
    int max = 0;
    for (Tier t : this.tiers) {
      max = Math.max(max, t.maxPageBytes());
    }
    maxPageBytes = max;
    staging = new StagingPool(Math.max(4, settings.prefetchThreads + 4), maxPageBytes);
    if (ssd != null) {
      if (index == null) {
        throw new IllegalArgumentException(
            "a store with an SSD tier needs its block index (the page directory)");
      }
      // Only pages evicted from memory enter the queue: it must hold one of memory's largest.
      int maxMemoryPage = 0;
      for (int t = 0; t < memoryTiers; t++) {
        maxMemoryPage = Math.max(maxMemoryPage, this.tiers[t].maxPageBytes());
      }
      long queueBytes =
          memoryTiers == 0
              ? PageFormat.HEADER_LENGTH
              : Math.max(settings.writeBackQueueBytes, maxMemoryPage);
      writeBack =
          new WriteBack(
              ssd,
              locks,
              new WriteBackQueue(
                  queueBytes,
                  (int) Math.min(1 << 16, Math.max(64, queueBytes >> 12)),
                  (t, hold) -> this.tiers[t].releaseHeld(hold)),
              new SsdHealth(settings.degradedRetryMinMillis, settings.degradedRetryMaxMillis),
              Math.max(1, settings.writeBackThreads),
              settings.writeBackMaxWaitMillis,
              counters.demotions[memoryTiers]);
    } else {
      writeBack = null;
    }
    chain =
        new TierChain(
            this.tiers, memoryTiers, ssdAdmission, locks, staging, index, writeBack, counters);
    verifiedCopyPut =
        new VerifiedCopyPut(
            this, this.tiers, memoryTiers, chain, locks, staging, writeBack, counters, ssdAdmission,
            maxPageBytes);
    // The memory tiers hand what they evict down the chain. The SSD tier, the last, gets no
    // listener: it would read every page of an evicted segment back only to drop it (it counts
    // its evictions itself, StoreCounters adds them).
    for (int i = 0; i < memoryTiers; i++) {
      this.tiers[i].setEvictionListener(
          new ChainListener(
              i, i == memoryTiers - 1 && writeBack != null ? holdAheadBytes(settings) : 0));
    }
    prefetcher = new Prefetcher(this, settings.prefetchThreads);
    closer = new StoreCloser(settings.flushOnClose, settings.closeGraceMillis);
  }

  /**
   * How much of the last memory tier is kept free or held ahead of need so that a dirty page it
   * evicts goes to write-back in its own slot, uncopied ({@link EvictionListener}): what the
   * writers take at once, twice (one batch being written, the next filling), and at most the
   * write-back queue's bytes (a held page is queued like a copied one).
   */
  private static long holdAheadBytes(TieredStoreBuilder settings) {
    long pipeline = 2L * Math.max(1, settings.writeBackThreads) * WriteBack.BATCH_BYTES;
    return Math.min(pipeline, settings.writeBackQueueBytes);
  }

  /** Hands what memory tier {@code t} evicts down the chain ({@link TierChain#evicted}). */
  private final class ChainListener implements EvictionListener {
    private final int t;
    private final long holdAheadBytes;

    ChainListener(int t, long holdAheadBytes) {
      this.t = t;
      this.holdAheadBytes = holdAheadBytes;
    }

    @Override
    public void onEvict(long keyHi, long keyLo, ByteBuffer page) {
      chain.evicted(t, keyHi, keyLo, page, WriteBackQueue.NO_HOLD);
    }

    @Override
    public boolean onEvictHeld(long keyHi, long keyLo, ByteBuffer page, long hold) {
      return chain.evicted(t, keyHi, keyLo, page, hold);
    }

    @Override
    public long holdAheadBytes() {
      return holdAheadBytes;
    }
  }

  /** A builder with documented defaults. */
  public static TieredStoreBuilder builder() {
    return new TieredStoreBuilder();
  }

  /** The largest page (header + payload) any tier of this store can hold. */
  public int maxPageBytes() {
    return maxPageBytes;
  }

  /**
   * Stores the page {@code page[position, limit)} (header + payload). Verifies the page first. Does
   * not move {@code page}'s position. Waits (bounded) only when the write-back queue is full.
   *
   * @return true if stored; false if no tier can take it (larger than {@link #maxPageBytes()},
   *     every tier that could is full of pinned pages, or the page fits only the SSD tier and that
   *     tier failed), or the block index (the page directory) has no room for another memory page
   *     (counted in {@link StoreStats#indexFullRejects()}; the key's stored page is untouched)
   * @throws BadPageException if the page is malformed or a checksum does not match
   * @throws ForeignPageException if the store holds the key under another namespace than the
   *     page's (the held page is left as it was)
   */
  public boolean put(ByteBuffer page) {
    enter();
    try {
      int pos = page.position();
      int len = page.remaining();
      int rc = PageFormat.verify(page, pos, len);
      if (rc != PageFormat.OK) {
        throw new BadPageException(rc);
      }
      long hi = PageFormat.keyHi(page, pos);
      long lo = PageFormat.keyLo(page, pos);
      long ns = PageFormat.namespaceId(page, pos);
      ssdAdmission.record(hi, lo);
      if (writeBack != null && memoryTiers > 0) {
        writeBack.awaitRoom(len); // before any lock: the only wait a put has
      }
      ReentrantLock lock = lockForRemoval(hi, lo);
      try {
        // Under the key lock, so the held page cannot change between this check and the replace.
        if (chain.ownershipOf(hi, lo, ns) == FOREIGN) {
          throw new ForeignPageException(hi, lo, ns);
        }
        // Reserves the key's directory entry first: a full index refuses the put with the old
        // page untouched; an older SSD copy that cannot be removed refuses it too (two versions).
        int prepared =
            chain.prepareReplace(
                hi, lo, len, PageFormat.parentHi(page, pos), PageFormat.parentLo(page, pos), ns);
        if (prepared != TierChain.REPLACE_OK) {
          counters.putRejects.increment();
          return false;
        }
        int t = chain.putIntoMemory(page, true);
        if (t >= 0 || (t != TierChain.INDEX_FULL && chain.putIntoSsd(page))) {
          counters.puts.increment();
          counters.putBytes.add(len);
          return true;
        }
        if (t == TierChain.INDEX_FULL) {
          chain.indexFull();
        }
        counters.putRejects.increment();
        return false;
      } finally {
        lock.unlock();
      }
    } finally {
      exit();
    }
  }

  /**
   * Stores a page read from a source the store must not trust to hold still while it is read (a
   * client's shared-memory region, which the client may rewrite at any moment): {@code
   * src[position, limit)} is read exactly once, and only the store's own copy is checked and
   * stored. For a page that a memory tier takes, the copy goes straight into that tier's memory,
   * its payload CRC32C computed over the copied bytes chunk by chunk right after each chunk's copy,
   * with no lock held while copying; the key's current page is replaced only after the copy checked
   * out. A page no memory tier can take directly (too large for memory, memory whose host view is
   * missing, every candidate slot pinned) is copied once into a staging buffer and that copy is
   * stored as by {@link #put(ByteBuffer)}. Does not move {@code src}'s position.
   *
   * <p>A source rewritten during the copy yields either a page the writer could have written
   * (stored) or a {@link BadPageException}: never other bytes stored, and the key's current page
   * untouched. Use {@link #put(ByteBuffer)} for a buffer the caller owns: it checks the page in
   * place before copying it.
   *
   * @param namespaceId the namespace the page must name (checked on the copy's header)
   * @return as {@link #put(ByteBuffer)}; false without reading the payload if the page is larger
   *     than {@link #maxPageBytes()}
   * @throws BadPageException if the copy is not a well-formed page of exactly {@code src}'s length
   *     or a checksum of the copy does not match; nothing is stored or removed then
   * @throws ForeignPageException if the copy's header names another namespace than {@code
   *     namespaceId}, or the store holds the key under another namespace (nothing changed)
   * @throws InternalError if reading {@code src} faulted (a mapped file truncated under it): raised
   *     right after the read that faulted, before anything is stored or removed
   */
  public boolean putCopyVerified(ByteBuffer src, long namespaceId) {
    enter();
    try {
      return verifiedCopyPut.put(src, true, namespaceId);
    } finally {
      exit();
    }
  }

  /**
   * {@link #putCopyVerified(ByteBuffer, long)} for a page of any namespace (ownership of the key is
   * still checked against the page's own namespace, as in {@link #put(ByteBuffer)}).
   */
  public boolean putCopyVerified(ByteBuffer src) {
    enter();
    try {
      return verifiedCopyPut.put(src, false, 0L);
    } finally {
      exit();
    }
  }

  /**
   * Convenience put that builds the page header: copies {@code payload[position, limit)} into a new
   * page. Engines on the hot path build pages in their own buffers and call {@link #put(ByteBuffer)}.
   */
  public boolean put(
      BlockKey key, BlockKey parent, long namespaceId, int tokenCount, ByteBuffer payload) {
    int payloadLength = payload.remaining();
    ByteBuffer page = ByteBuffer.allocateDirect(PageFormat.pageLength(payloadLength));
    page.position(PageFormat.HEADER_LENGTH);
    page.put(payload.duplicate());
    page.clear();
    PageFormat.writeHeader(
        page, 0, key.hi(), key.lo(), parent.hi(), parent.lo(), namespaceId, tokenCount, payloadLength);
    return put(page);
  }

  /**
   * Copies the page (header + payload) into {@code dst} at its position, advancing the position.
   *
   * @return the page length, or -1 on a miss
   * @throws IllegalArgumentException if {@code dst} has less room than the page (nothing copied)
   */
  public int get(long keyHi, long keyLo, ByteBuffer dst) {
    enter();
    try {
      // The fastest memory tier without a key lock; an SSD-only store reads under it (below).
      int n = memoryTiers == 0 ? Tier.MISS : tiers[0].get(keyHi, keyLo, dst);
      if (n != Tier.MISS) {
        chain.hit(0, n, keyHi, keyLo);
        return n;
      }
      if (tiers.length == 1 && writeBack == null) {
        counters.miss();
        return -1;
      }
      int start = dst.position();
      ReentrantLock lock = locks.lockFor(keyHi, keyLo);
      lock.lock();
      try {
        for (int t = 0; t < memoryTiers; t++) {
          n = tiers[t].get(keyHi, keyLo, dst);
          if (n != Tier.MISS) {
            chain.hit(t, n, keyHi, keyLo);
            if (t > 0) {
              chain.promoteFromMemory(t, dst.duplicate().limit(start + n).position(start));
            }
            return n;
          }
        }
        n = chain.getBelowMemory(keyHi, keyLo, dst);
        if (n >= 0) {
          return n;
        }
      } finally {
        lock.unlock();
      }
      counters.miss();
      return -1;
    } finally {
      exit();
    }
  }

  /** {@link KeyLocks#lockForRemoval} with this store's write-back. */
  private ReentrantLock lockForRemoval(long hi, long lo) {
    return locks.lockForRemoval(hi, lo, writeBack);
  }

  /** {@link #get(long, long, ByteBuffer)} for a {@link BlockKey}. */
  public int get(BlockKey key, ByteBuffer dst) {
    return get(key.hi(), key.lo(), dst);
  }

  /**
   * A zero-copy, read-only view of the page, pinned in memory until closed. A page found only on
   * SSD (or in the write-back queue) is first promoted into memory. The caller must close the view.
   *
   * <p>{@code null} on a miss (counted as a get and a miss), and also when the page is held but
   * cannot be pinned: no memory tier can take it (a store without memory tiers, a page larger than
   * their pages) or every frame that could is pinned. That {@code null} is not counted: the caller
   * serves the page with {@link #get(long, long, ByteBuffer)}, which counts the get once.
   */
  public PinnedPage getPinned(long keyHi, long keyLo) {
    enter();
    try {
      PinnedPage p = tiers[0].pin(keyHi, keyLo);
      if (p != null) {
        chain.hit(0, p.buffer().remaining(), keyHi, keyLo);
        return p;
      }
      ReentrantLock lock = locks.lockFor(keyHi, keyLo);
      lock.lock();
      try {
        for (int t = 0; t < memoryTiers; t++) {
          p = tiers[t].pin(keyHi, keyLo);
          if (p != null) {
            chain.hit(t, p.buffer().remaining(), keyHi, keyLo);
            return p;
          }
        }
        if (chain.lengthBelowMemory(keyHi, keyLo) < 0) {
          counters.miss();
          return null;
        }
        return memoryTiers == 0 ? null : chain.stageUpAndPin(keyHi, keyLo);
      } finally {
        lock.unlock();
      }
    } finally {
      exit();
    }
  }

  /**
   * Like {@link #getPinned} but for pages already in a memory tier only: pins the page where a
   * memory tier holds it, and returns {@code null} otherwise, without reading the SSD tier, without
   * promoting and without a key lock. Lets a caller on a thread that must not wait for I/O (the
   * daemon's event loop) serve memory hits itself and hand only the rest to a thread that may. It
   * may wait briefly for a memory tier's own lock (held only for memory work: a memcpy, never I/O).
   * Counts a get and a hit when it returns a page, and a get and a miss when no tier holds the key;
   * a {@code null} for a page held below memory is not counted (the caller goes on to {@link
   * #getPinned}, which counts it). The caller must close the view.
   */
  public PinnedPage pinIfInMemory(long keyHi, long keyLo) {
    enter();
    try {
      for (int t = 0; t < memoryTiers; t++) {
        PinnedPage p = tiers[t].pin(keyHi, keyLo);
        if (p != null) {
          chain.hit(t, p.buffer().remaining(), keyHi, keyLo);
          return p;
        }
      }
      if (chain.lengthBelowMemory(keyHi, keyLo) < 0) {
        counters.miss();
      }
      return null;
    } finally {
      exit();
    }
  }

  /** Length of the page (header + payload) wherever the store holds it, or -1. No I/O. */
  public int length(long keyHi, long keyLo) {
    enter();
    try {
      for (int t = 0; t < memoryTiers; t++) {
        int n = tiers[t].length(keyHi, keyLo);
        if (n != Tier.MISS) {
          return n;
        }
      }
      return chain.lengthBelowMemory(keyHi, keyLo);
    } finally {
      exit();
    }
  }

  /**
   * How many leading keys of a chain the store holds. No I/O.
   *
   * @param keys the keys as {@code hi, lo} pairs: key i is {@code keys[2i], keys[2i+1]}
   * @param count number of keys
   * @param perTierOut if not null, of length ≥ 3: {@code perTierOut[TierKind.ordinal()]} is set to
   *     how many blocks of the leading run were found in that tier (a page waiting in the
   *     write-back queue counts as SSD)
   * @return the length of the leading run of keys present in any tier
   */
  public int lookupPrefix(long[] keys, int count, int[] perTierOut) {
    return lookupPrefix(keys, count, perTierOut, false, 0L);
  }

  /**
   * {@link #lookupPrefix(long[], int, int[])} for one namespace: a key held under another namespace
   * counts as absent (it ends the run).
   *
   * <p>For a key held only on SSD this reads the page's header from the SSD tier (see {@link
   * #ownership}), so it may wait for a disk read.
   */
  public int lookupPrefix(long[] keys, int count, int[] perTierOut, long namespaceId) {
    return lookupPrefix(keys, count, perTierOut, true, namespaceId);
  }

  private int lookupPrefix(
      long[] keys, int count, int[] perTierOut, boolean checkNamespace, long namespaceId) {
    enter();
    try {
      checkCount(keys, count);
      if (perTierOut != null) {
        for (int i = 0; i < TierKind.values().length; i++) {
          perTierOut[i] = 0;
        }
      }
      int run = 0;
      for (; run < count; run++) {
        long hi = keys[2 * run];
        long lo = keys[2 * run + 1];
        int where = chain.whereHeld(hi, lo);
        if (where < 0 || (checkNamespace && chain.ownershipOf(hi, lo, namespaceId) != OWN)) {
          break;
        }
        if (perTierOut != null) {
          perTierOut[where < memoryTiers ? tiers[where].kind().ordinal() : TierKind.SSD.ordinal()]++;
        }
      }
      return run;
    } finally {
      exit();
    }
  }

  /**
   * Whether the store holds the key, and under which namespace: {@link #ABSENT}, {@link #OWN} (held
   * under {@code namespaceId}) or {@link #FOREIGN} (held under another namespace). Takes no key
   * lock: the answer is a snapshot. A page held in memory or in the write-back queue is answered
   * from its header there (no copy).
   *
   * <p>A page held only on SSD is, for now, read from the SSD tier into a staging buffer to learn
   * its namespace (a disk read: do not call this on a thread that must not wait for I/O). That read
   * goes away once the SSD tier's persisted directory carries the namespace (issue 8, point 5):
   * {@link Ownership#ofSsdCopy} will then ask the directory ({@code SsdTier#namespaceOf}) instead.
   */
  public int ownership(long keyHi, long keyLo, long namespaceId) {
    enter();
    try {
      return chain.ownershipOf(keyHi, keyLo, namespaceId);
    } finally {
      exit();
    }
  }

  /**
   * Promotes the given keys into memory ahead of need, in order, in the background, until the
   * deadline passes. The returned future completes with how many of the keys are in a memory tier
   * when the work ends (a prefix may be reported short if the deadline cut it).
   *
   * @param deadlineNanos an absolute {@link System#nanoTime()} deadline
   */
  public CompletableFuture<Integer> prefetch(long[] keys, int count, long deadlineNanos) {
    return prefetch(keys, count, deadlineNanos, false, 0L);
  }

  /**
   * {@link #prefetch(long[], int, long)} for one namespace: keys held under another namespace are
   * skipped (never moved) and not counted as in memory.
   */
  public CompletableFuture<Integer> prefetch(
      long[] keys, int count, long deadlineNanos, long namespaceId) {
    return prefetch(keys, count, deadlineNanos, true, namespaceId);
  }

  private CompletableFuture<Integer> prefetch(
      long[] keys, int count, long deadlineNanos, boolean checkNamespace, long namespaceId) {
    enter();
    try {
      checkCount(keys, count);
      counters.prefetchRequests.increment();
      return prefetcher.submit(keys, count, deadlineNanos, checkNamespace, namespaceId);
    } finally {
      exit();
    }
  }

  /**
   * Removes the key from every tier and cancels its queued write-back. Works while the SSD tier is
   * degraded (a delete frees its space).
   *
   * @return whether any tier held it
   * @throws TierWriteException if the SSD tier failed and still holds the page (it would otherwise
   *     still be served); an SSD failure after the tier forgot the page is contained (counted, the
   *     store goes degraded) and the delete succeeds
   */
  public boolean delete(long keyHi, long keyLo) {
    enter();
    try {
      ReentrantLock lock = lockForRemoval(keyHi, keyLo);
      try {
        boolean any = false;
        for (int t = 0; t < memoryTiers; t++) {
          any |= chain.deleteFrom(t, keyHi, keyLo);
        }
        if (writeBack != null) {
          any |= writeBack.queue().lengthIfQueued(keyHi, keyLo) >= 0 || chain.ssdHolds(keyHi, keyLo);
          if (!chain.removeEverywhere(keyHi, keyLo)) {
            throw new TierWriteException(
                TierWriteException.Reason.IO_ERROR,
                "the SSD tier failed to delete the page and still holds it; retry the delete",
                null);
          }
        }
        if (any) {
          counters.deletes.increment();
        }
        return any;
      } finally {
        lock.unlock();
      }
    } finally {
      exit();
    }
  }

  /**
   * Removes the key from every tier if the store holds it under {@code namespaceId}; a page of
   * another namespace is left as it was.
   *
   * @return whether a page of this namespace was removed ({@code false} when absent or foreign)
   */
  public boolean delete(long keyHi, long keyLo, long namespaceId) {
    enter();
    try {
      ReentrantLock lock = lockForRemoval(keyHi, keyLo);
      try {
        // Under the key lock, so the page checked is the page deleted.
        return chain.ownershipOf(keyHi, keyLo, namespaceId) == OWN && delete(keyHi, keyLo);
      } finally {
        lock.unlock();
      }
    } finally {
      exit();
    }
  }

  /**
   * Asks the page directory (the block index) about a key: which tiers hold it, its namespace,
   * whether its memory copy is dirty, its last access and page length, copied into {@code out}
   * (keep one per thread: this allocates nothing). Reads only the directory, never the page, and
   * takes no lock: a page moving meanwhile may be seen before or after the move. A page waiting in
   * the write-back queue (evicted dirty, not yet on SSD) is in no tier of the directory.
   *
   * @return whether the directory has an entry for the key; always false for a store without an
   *     SSD tier (it has no directory)
   */
  public boolean locate(long keyHi, long keyLo, IndexEntry out) {
    enter();
    try {
      return index != null && index.get(keyHi, keyLo, out);
    } finally {
      exit();
    }
  }

  /** Whether the SSD tier takes writes now (see {@link StoreHealth}). Never waits. */
  public StoreHealth health() {
    return writeBack == null ? StoreHealth.OK : writeBack.health().snapshot();
  }

  /** A snapshot of counters and gauges. Never waits for I/O. */
  public StoreStats stats() {
    return counters.snapshot(
        tiers,
        corruptionCounter == null ? 0 : corruptionCounter.corruptions(),
        writeBack,
        index,
        health());
  }

  /**
   * Stops prefetching, waits for calls in progress, writes dirty memory pages to the SSD tier
   * (when {@code flushOnClose}, within {@code closeGraceMillis}), stops the writers, then closes
   * the tiers (memory tiers free their memory once no page is pinned; the SSD tier flushes and
   * keeps its pages on disk) and the block index. Idempotent.
   */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    closer.close(this);
  }

  /**
   * Waits until the write-back queue is empty (every queued dirty page written, dropped or
   * cancelled), for tests and benchmarks that need a settled store. Pages still dirty in memory
   * stay there.
   *
   * @return whether the queue is empty now
   */
  public boolean awaitWriteBack(long timeoutMillis) throws InterruptedException {
    return writeBack == null
        || writeBack.queue().awaitEmpty(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(timeoutMillis));
  }

  // ---------------------------------------------------------------------------------------------
  // Internals. Package-private ones are used by Prefetcher and StoreCloser.

  private void enter() {
    active.increment();
    if (closed) {
      active.decrement();
      throw new IllegalStateException("store is closed");
    }
  }

  private void exit() {
    active.decrement();
  }

  /** Counts background work (a prefetch) as a call in progress, so close waits for it. */
  void enterBackground() {
    active.increment();
  }

  void exitBackground() {
    active.decrement();
  }

  boolean isClosed() {
    return closed;
  }

  /** Calls in progress now (close waits for 0). */
  long activeCalls() {
    return active.sum();
  }

  TierChain chain() {
    return chain;
  }

  /** Test hook: called after each chunk a {@link #putCopyVerified} copies. */
  void copyHook(VerifiedCopyPut.ChunkHook hook) {
    verifiedCopyPut.hook(hook);
  }

  Prefetcher prefetcher() {
    return prefetcher;
  }

  WriteBack writeBack() {
    return writeBack;
  }

  StagingPool staging() {
    return staging;
  }

  Tier[] tiers() {
    return tiers;
  }

  /** The data directory's lock, or null (StoreCloser releases it last). */
  AutoCloseable dataDirLock() {
    return dataDirLock;
  }

  /** Set by {@link StoreFactory} when the block index runs off the data directory. */
  void indexRuntimeDir(Path dir) {
    this.indexRuntimeDir = dir;
  }

  /**
   * Bytes of the block index file when it runs from a runtime directory ({@link
   * TieredStoreBuilder#indexDir}: memory, on a tmpfs), else 0. One {@code stat} per call.
   */
  public long indexMemoryBytes() {
    Path dir = indexRuntimeDir;
    if (dir == null) {
      return 0;
    }
    try {
      return java.nio.file.Files.size(dir.resolve(BlockIndex.FILE_NAME));
    } catch (java.io.IOException | RuntimeException e) {
      return 0; // copied away at close, or not made yet
    }
  }

  BlockIndex index() {
    return index;
  }

  private static void checkCount(long[] keys, int count) {
    if (count < 0 || 2L * count > keys.length) {
      throw new IllegalArgumentException(
          "count " + count + " does not fit a key array of " + keys.length + " longs");
    }
  }
}
