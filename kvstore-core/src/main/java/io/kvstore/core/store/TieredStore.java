package io.kvstore.core.store;

import io.kvstore.common.BlockKey;
import io.kvstore.common.PageFormat;
import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.policy.AdmissionPolicy;
import io.kvstore.core.tier.PinnedPage;
import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.TierKind;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
 *       get returns the exact bytes put, or a miss: never other bytes.
 *   <li>A put goes to the fastest tier that can hold the page; any older copy of the key in another
 *       tier is removed first.
 *   <li>When a tier evicts a page to make room it is written back to the next tier (demotion; into
 *       the SSD tier only if the admission policy admits it). The last tier drops what it evicts.
 *   <li>A hit below the fastest tier promotes the page into the fastest tier (a copy: the lower tier
 *       keeps its copy, so demoting it again costs no flash write if it is still there).
 *   <li>Pages read from the SSD tier are checked against their CRCs; a page that fails is a miss,
 *       is removed, and is counted in {@link StoreStats#corruptions()}.
 * </ul>
 *
 * <h2>Concurrency</h2>
 *
 * Thread-safe. Put, delete, promotion (a get or prefetch served below the fastest tier) and
 * pinning take a striped per-key lock ({@link KeyLocks}); a get from the fastest tier takes none.
 * Demotion takes no key lock: it runs inside the evicting tier's lock (the tier's eviction
 * callback) and only moves a page from tier {@code t} to {@code t + 1}. Why that is enough:
 *
 * <ol>
 *   <li>A key enters tier 0 only by put or promotion, both under its key lock, and enters tier
 *       {@code j > 0} by those or by demotion from {@code j - 1}, which holds {@code j - 1}'s lock
 *       for the whole move.
 *   <li>Put and delete first remove the key from every tier in order, fastest first, each removal
 *       under that tier's lock. When the pass has removed it from tier {@code j - 1} (or found it
 *       absent), a demotion of it out of {@code j - 1} has either finished — its copy is in
 *       {@code j} and the pass removes it next — or cannot start. So after the pass no older copy
 *       is anywhere, nor on its way.
 *   <li>Hence every copy of a key in the tiers is of one version (the last put's), and promoting
 *       any copy is correct. A demoted page is never dropped for lack of a lock: a page leaves the
 *       store only by delete, replacement, an admission refusal, or eviction from the last tier.
 * </ol>
 *
 * Lock order: key lock, then tier locks fastest first; a tier lock is never held while taking a
 * key lock.
 */
public final class TieredStore implements AutoCloseable {

  /** {@link #ownership}: no tier holds the key. */
  public static final int ABSENT = 0;
  /** {@link #ownership}: the key is held under the caller's namespace. */
  public static final int OWN = 1;
  /** {@link #ownership}: the key is held under another namespace. */
  public static final int FOREIGN = 2;

  private final Tier[] tiers;
  private final AdmissionPolicy ssdAdmission;
  private final KeyLocks locks = new KeyLocks(1024);
  private final StagingPool staging;
  private final ThreadPoolExecutor prefetchExecutor;
  private final BlockIndex index;
  private final int maxPageBytes;

  private final LongAdder gets = new LongAdder();
  private final LongAdder misses = new LongAdder();
  private final LongAdder puts = new LongAdder();
  private final LongAdder putBytes = new LongAdder();
  private final LongAdder putRejects = new LongAdder();
  private final LongAdder deletes = new LongAdder();
  private final LongAdder prefetchRequests = new LongAdder();
  private final LongAdder prefetchedPages = new LongAdder();
  private final LongAdder[] hits;
  private final LongAdder[] hitBytes;
  private final LongAdder[] evictions;
  private final LongAdder[] promotions;
  private final LongAdder[] demotions;
  private final LongAdder[] admissionRejects;
  private final CorruptionCounter corruptionCounter;
  private volatile boolean closed;

  /** Reads the SSD tier's corruption count (the tier checks CRCs and removes bad pages). */
  @FunctionalInterface
  interface CorruptionCounter {
    long corruptions();
  }

  /**
   * @param tiers the tiers, fastest first; the store owns and closes them
   * @param index the block index, which the store keeps up to date for the memory tiers (the SSD
   *     tier keeps its own bits) and closes after the tiers; null for a memory-only store
   */
  TieredStore(
      List<Tier> tiers,
      AdmissionPolicy ssdAdmission,
      int prefetchThreads,
      CorruptionCounter corruptionCounter,
      BlockIndex index) {
    if (tiers.isEmpty()) {
      throw new IllegalArgumentException("a store needs at least one tier");
    }
    this.tiers = tiers.toArray(new Tier[0]);
    this.ssdAdmission = ssdAdmission;
    this.corruptionCounter = corruptionCounter;
    this.index = index;
    int n = this.tiers.length;
    hits = adders(n);
    hitBytes = adders(n);
    evictions = adders(n);
    promotions = adders(n);
    demotions = adders(n);
    admissionRejects = adders(n);
    int max = 0;
    for (Tier t : this.tiers) {
      max = Math.max(max, t.maxPageBytes());
    }
    maxPageBytes = max;
    for (int i = 0; i < n; i++) {
      final int t = i;
      this.tiers[i].setEvictionListener((hi, lo, page) -> demote(t, hi, lo, page));
    }
    staging = new StagingPool(Math.max(2, prefetchThreads + 2), maxPageBytes);
    AtomicInteger threadNo = new AtomicInteger();
    prefetchExecutor =
        new ThreadPoolExecutor(
            prefetchThreads,
            prefetchThreads,
            0L,
            TimeUnit.MILLISECONDS,
            new ArrayBlockingQueue<>(1024),
            r -> {
              Thread th = new Thread(r, "kvstore-prefetch-" + threadNo.incrementAndGet());
              th.setDaemon(true);
              return th;
            });
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
   * not move {@code page}'s position.
   *
   * @return true if stored; false if no tier can take it (larger than {@link #maxPageBytes()}, or
   *     every tier that could is full of pinned pages)
   * @throws BadPageException if the page is malformed or a checksum does not match
   * @throws ForeignPageException if the store holds the key under another namespace than the
   *     page's (the held page is left as it was)
   */
  public boolean put(ByteBuffer page) {
    ensureOpen();
    int pos = page.position();
    int len = page.remaining();
    int rc = PageFormat.verify(page, pos, len);
    if (rc != PageFormat.OK) {
      throw new BadPageException(rc);
    }
    long hi = PageFormat.keyHi(page, pos);
    long lo = PageFormat.keyLo(page, pos);
    ssdAdmission.record(hi, lo);
    long ns = PageFormat.namespaceId(page, pos);
    ReentrantLock lock = locks.lockFor(hi, lo);
    lock.lock();
    try {
      // Under the key lock, so the held page cannot change between this check and the replace.
      if (ownershipOf(hi, lo, ns) == FOREIGN) {
        throw new ForeignPageException(hi, lo, ns);
      }
      // Remove every copy first, fastest tier first (see the class notes on ordering): once this
      // pass is over no older version of the key is in any tier or on its way into one.
      for (int t = 0; t < tiers.length; t++) {
        deleteFrom(t, hi, lo);
      }
      int target = firstTierFitting(len, 0);
      while (target >= 0) {
        if (tiers[target].put(page)) {
          indexPresent(target, hi, lo, page);
          puts.increment();
          putBytes.add(len);
          return true;
        }
        target = firstTierFitting(len, target + 1);
      }
      putRejects.increment();
      return false;
    } finally {
      lock.unlock();
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
    ensureOpen();
    gets.increment();
    int start = dst.position();
    int n = tiers[0].get(keyHi, keyLo, dst);
    if (n != Tier.MISS) {
      hit(0, n, keyHi, keyLo);
      return n;
    }
    if (tiers.length == 1) {
      misses.increment();
      return -1;
    }
    ReentrantLock lock = locks.lockFor(keyHi, keyLo);
    lock.lock();
    try {
      for (int t = 0; t < tiers.length; t++) {
        n = tiers[t].get(keyHi, keyLo, dst);
        if (n != Tier.MISS) {
          hit(t, n, keyHi, keyLo);
          if (t > 0) {
            promote(t, dst.duplicate().limit(start + n).position(start));
          }
          return n;
        }
      }
    } finally {
      lock.unlock();
    }
    misses.increment();
    return -1;
  }

  /** {@link #get(long, long, ByteBuffer)} for a {@link BlockKey}. */
  public int get(BlockKey key, ByteBuffer dst) {
    return get(key.hi(), key.lo(), dst);
  }

  /**
   * A zero-copy, read-only view of the page, pinned in memory until closed. A page found only on
   * SSD is first promoted into memory. The caller must close the view.
   *
   * <p>{@code null} on a miss (counted as a get and a miss), and also when the page is held but
   * cannot be pinned: no memory tier can take it (a store without memory tiers, a page larger than
   * their pages) or every frame that could is pinned. That {@code null} is not counted: the caller
   * serves the page with {@link #get(long, long, ByteBuffer)}, which counts the get once.
   */
  public PinnedPage getPinned(long keyHi, long keyLo) {
    ensureOpen();
    PinnedPage p = tiers[0].pin(keyHi, keyLo);
    if (p != null) {
      gets.increment();
      hit(0, p.buffer().remaining(), keyHi, keyLo);
      return p;
    }
    boolean held = false;
    ReentrantLock lock = locks.lockFor(keyHi, keyLo);
    lock.lock();
    try {
      for (int t = 0; t < tiers.length; t++) {
        p = tiers[t].pin(keyHi, keyLo);
        if (p != null) {
          gets.increment();
          hit(t, p.buffer().remaining(), keyHi, keyLo);
          return p;
        }
        if (tiers[t].contains(keyHi, keyLo)) {
          held = true;
          // A tier that cannot pin (SSD): bring the page up into the fastest tier, pin it there.
          p = stageUpAndPin(t, keyHi, keyLo);
          if (p != null) {
            gets.increment();
            hit(t, p.buffer().remaining(), keyHi, keyLo);
            return p;
          }
        }
      }
    } finally {
      lock.unlock();
    }
    if (!held) {
      gets.increment();
      misses.increment();
    }
    return null;
  }

  /**
   * Like {@link #getPinned} but for pages already in a memory tier only: pins the page where a
   * memory tier holds it, and returns {@code null} otherwise, without reading the SSD tier, without
   * promoting and without a key lock. Lets a caller on a thread that must not wait for I/O (the
   * daemon's event loop) serve memory hits itself and hand only the rest to a thread that may.
   * It may still wait briefly for a memory tier's own lock (held while a page is copied in, or while
   * that tier demotes a page to the next). A returned page is a whole stored version of the key, as
   * with {@link #getPinned}. Counts a get and a hit when it returns a page, and a get and a miss
   * when no tier holds the key; a {@code null} for a page on SSD is not counted (the caller goes on
   * to {@link #getPinned}, which counts it). The caller must close the view.
   */
  public PinnedPage pinIfInMemory(long keyHi, long keyLo) {
    ensureOpen();
    for (int t = 0; t < tiers.length && tiers[t].kind() != TierKind.SSD; t++) {
      PinnedPage p = tiers[t].pin(keyHi, keyLo);
      if (p != null) {
        gets.increment();
        hit(t, p.buffer().remaining(), keyHi, keyLo);
        return p;
      }
    }
    if (tierHolding(keyHi, keyLo) < 0) {
      gets.increment();
      misses.increment();
    }
    return null;
  }

  /** Length of the page (header + payload) in whichever tier holds it, or -1. */
  public int length(long keyHi, long keyLo) {
    ensureOpen();
    for (Tier t : tiers) {
      int n = t.length(keyHi, keyLo);
      if (n != Tier.MISS) {
        return n;
      }
    }
    return -1;
  }

  /**
   * How many leading keys of a chain the store holds.
   *
   * @param keys the keys as {@code hi, lo} pairs: key i is {@code keys[2i], keys[2i+1]}
   * @param count number of keys
   * @param perTierOut if not null, of length ≥ 3: {@code perTierOut[TierKind.ordinal()]} is set to
   *     how many blocks of the leading run were found in that tier
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
    ensureOpen();
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
      int where = tierHolding(hi, lo);
      if (where < 0
          || (checkNamespace && ownershipFrom(where, hi, lo, namespaceId) != OWN)) {
        break;
      }
      if (perTierOut != null) {
        perTierOut[tiers[where].kind().ordinal()]++;
      }
    }
    return run;
  }

  /**
   * Whether the store holds the key, and under which namespace: {@link #ABSENT}, {@link #OWN} (held
   * under {@code namespaceId}) or {@link #FOREIGN} (held under another namespace). Takes no key
   * lock: the answer is a snapshot. A page held in a memory tier is answered from its header there
   * (pinned for the read, no copy).
   *
   * <p>A page held only on SSD is, for now, read from the SSD tier into a staging buffer to learn its
   * namespace (a disk read: do not call this on a thread that must not wait for I/O). That read goes
   * away once the SSD tier's persisted directory carries the namespace (issue 8, point 5): {@link
   * #ssdOwnership} will then ask the directory ({@code SsdTier#namespaceOf}) instead.
   */
  public int ownership(long keyHi, long keyLo, long namespaceId) {
    ensureOpen();
    return ownershipOf(keyHi, keyLo, namespaceId);
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
    ensureOpen();
    checkCount(keys, count);
    prefetchRequests.increment();
    long[] copy = java.util.Arrays.copyOf(keys, 2 * count);
    CompletableFuture<Integer> result = new CompletableFuture<>();
    try {
      prefetchExecutor.execute(
          () -> {
            try {
              result.complete(prefetchNow(copy, count, deadlineNanos, checkNamespace, namespaceId));
            } catch (Throwable e) {
              result.completeExceptionally(e);
            }
          });
    } catch (RejectedExecutionException e) {
      result.completeExceptionally(
          new RejectedExecutionException("prefetch queue is full (1024 requests); retry later", e));
    }
    return result;
  }

  private int prefetchNow(
      long[] keys, int count, long deadlineNanos, boolean checkNamespace, long namespaceId)
      throws InterruptedException {
    int inMemory = 0;
    for (int i = 0; i < count && !closed; i++) {
      if (System.nanoTime() - deadlineNanos > 0) {
        break;
      }
      long hi = keys[2 * i];
      long lo = keys[2 * i + 1];
      int where = tierHolding(hi, lo);
      if (where < 0) {
        continue;
      }
      if (tiers[where].kind() != TierKind.SSD) {
        if (!checkNamespace || ownershipFrom(where, hi, lo, namespaceId) == OWN) {
          inMemory++;
        }
        continue;
      }
      ReentrantLock lock = locks.lockFor(hi, lo);
      lock.lock();
      try {
        ByteBuffer buf = staging.acquire();
        try {
          int n = tiers[where].get(hi, lo, buf);
          // The page is read anyway: its header says whether it is the caller's to move.
          if (n != Tier.MISS
              && (!checkNamespace || PageFormat.namespaceId(buf, 0) == namespaceId)
              && promote(where, buf.flip())) {
            prefetchedPages.increment();
            inMemory++;
          }
        } finally {
          staging.release(buf);
        }
      } finally {
        lock.unlock();
      }
    }
    return inMemory;
  }

  /**
   * Removes the key from every tier.
   *
   * @return whether any tier held it
   */
  public boolean delete(long keyHi, long keyLo) {
    ensureOpen();
    ReentrantLock lock = locks.lockFor(keyHi, keyLo);
    lock.lock();
    try {
      boolean any = false;
      for (int t = 0; t < tiers.length; t++) {
        any |= deleteFrom(t, keyHi, keyLo);
      }
      if (any) {
        deletes.increment();
      }
      return any;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Removes the key from every tier if the store holds it under {@code namespaceId}; a page of
   * another namespace is left as it was.
   *
   * @return whether a page of this namespace was removed ({@code false} when absent or foreign)
   */
  public boolean delete(long keyHi, long keyLo, long namespaceId) {
    ensureOpen();
    ReentrantLock lock = locks.lockFor(keyHi, keyLo);
    lock.lock();
    try {
      // Under the key lock, so the page checked is the page deleted.
      if (ownershipOf(keyHi, keyLo, namespaceId) != OWN) {
        return false;
      }
      return delete(keyHi, keyLo);
    } finally {
      lock.unlock();
    }
  }

  /** A snapshot of counters and gauges. */
  public StoreStats stats() {
    List<StoreStats.TierStats> ts = new ArrayList<>(tiers.length);
    for (int i = 0; i < tiers.length; i++) {
      Tier t = tiers[i];
      ts.add(
          new StoreStats.TierStats(
              t.kind(),
              t.capacityBytes(),
              t.usedBytes(),
              t.pageCount(),
              hits[i].sum(),
              hitBytes[i].sum(),
              evictions[i].sum(),
              promotions[i].sum(),
              demotions[i].sum(),
              admissionRejects[i].sum()));
    }
    return new StoreStats(
        gets.sum(),
        misses.sum(),
        puts.sum(),
        putBytes.sum(),
        putRejects.sum(),
        deletes.sum(),
        corruptionCounter == null ? 0 : corruptionCounter.corruptions(),
        prefetchRequests.sum(),
        prefetchedPages.sum(),
        List.copyOf(ts));
  }

  /**
   * Stops prefetching, then closes the tiers (memory tiers free their memory; the SSD tier flushes
   * and keeps its pages on disk) and the block index. Idempotent.
   */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    prefetchExecutor.shutdown();
    try {
      if (!prefetchExecutor.awaitTermination(30, TimeUnit.SECONDS)) {
        prefetchExecutor.shutdownNow();
      }
    } catch (InterruptedException e) {
      prefetchExecutor.shutdownNow();
      Thread.currentThread().interrupt();
    }
    RuntimeException failure = null;
    for (Tier t : tiers) {
      try {
        t.close();
      } catch (RuntimeException e) {
        failure = addSuppressed(failure, e);
      }
    }
    staging.close();
    if (index != null) {
      try {
        index.close();
      } catch (RuntimeException e) {
        failure = addSuppressed(failure, e);
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  // ---------------------------------------------------------------------------------------------

  /** Called by tier {@code t} (under its lock) for each page it evicts: write it back one down. */
  private void demote(int t, long hi, long lo, ByteBuffer page) {
    evictions[t].increment();
    indexAbsent(t, hi, lo);
    int next = t + 1;
    if (next >= tiers.length || page.remaining() > tiers[next].maxPageBytes()) {
      return;
    }
    // No key lock here (we hold tier t's lock; see the class notes on ordering for why none is
    // needed): the page is written back unless the admission policy keeps it out of SSD.
    if (tiers[next].kind() == TierKind.SSD && !ssdAdmission.admit(hi, lo)) {
      admissionRejects[next].increment();
      return;
    }
    if (tiers[next].put(page)) {
      indexPresent(next, hi, lo, page);
      demotions[next].increment();
    }
  }

  /** Copies a page found in tier {@code from} into the fastest tier that takes it. */
  private boolean promote(int from, ByteBuffer page) {
    int target = firstTierFitting(page.remaining(), 0);
    while (target >= 0 && target < from) {
      if (tiers[target].put(page)) {
        indexPresent(target, PageFormat.keyHi(page, page.position()), PageFormat.keyLo(page, page.position()), page);
        promotions[target].increment();
        return true;
      }
      target = firstTierFitting(page.remaining(), target + 1);
    }
    return false;
  }

  private PinnedPage stageUpAndPin(int from, long hi, long lo) {
    ByteBuffer buf;
    try {
      buf = staging.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
    try {
      int n = tiers[from].get(hi, lo, buf);
      if (n == Tier.MISS) {
        return null;
      }
      buf.flip();
      for (int t = 0; t < from; t++) {
        if (n <= tiers[t].maxPageBytes() && tiers[t].put(buf)) {
          indexPresent(t, hi, lo, buf);
          promotions[t].increment();
          PinnedPage p = tiers[t].pin(hi, lo);
          if (p != null) {
            return p;
          }
        }
      }
      return null;
    } finally {
      staging.release(buf);
    }
  }

  /** Deletes the key from tier {@code t} and clears its index bit; whether the tier held it. */
  private boolean deleteFrom(int t, long hi, long lo) {
    if (!tiers[t].delete(hi, lo)) {
      return false;
    }
    indexAbsent(t, hi, lo);
    return true;
  }

  /** Records in the index that memory tier {@code t} now holds the page (SSD keeps its own bit). */
  private void indexPresent(int t, long hi, long lo, ByteBuffer page) {
    if (index != null && tiers[t].kind() != TierKind.SSD) {
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

  private void indexAbsent(int t, long hi, long lo) {
    if (index != null && tiers[t].kind() != TierKind.SSD) {
      index.markAbsent(hi, lo, tiers[t].kind());
    }
  }

  /** {@link #ownership} without the open check. */
  private int ownershipOf(long hi, long lo, long namespaceId) {
    int where = tierHolding(hi, lo);
    while (where >= 0) {
      int o = ownershipFrom(where, hi, lo, namespaceId);
      if (o != ABSENT) {
        return o;
      }
      // Gone from that tier since (evicted or moved down): look again below it.
      where = nextTierHolding(where + 1, hi, lo);
    }
    return ABSENT;
  }

  /** Ownership of the copy in tier {@code t} (every copy of a key is of one version). */
  private int ownershipFrom(int t, long hi, long lo, long namespaceId) {
    if (tiers[t].kind() == TierKind.SSD) {
      return ssdOwnership(t, hi, lo, namespaceId);
    }
    try (PinnedPage p = tiers[t].pin(hi, lo)) {
      if (p == null) {
        return ABSENT;
      }
      return PageFormat.namespaceId(p.buffer(), 0) == namespaceId ? OWN : FOREIGN;
    }
  }

  /**
   * Ownership of the SSD tier's copy. Reads the whole page into a staging buffer: the SSD tier has
   * no way yet to give the namespace alone. Replaced by a directory lookup ({@code
   * SsdTier#namespaceOf}) once the persisted SSD directory holds the namespace (issue 8, point 5).
   * A page that cannot be read (corrupt, I/O error) is absent: it could not be served either.
   */
  private int ssdOwnership(int t, long hi, long lo, long namespaceId) {
    ByteBuffer buf;
    try {
      buf = staging.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for a staging buffer", e);
    }
    try {
      if (tiers[t].get(hi, lo, buf) == Tier.MISS) {
        return ABSENT;
      }
      return PageFormat.namespaceId(buf, 0) == namespaceId ? OWN : FOREIGN;
    } catch (RuntimeException e) {
      return ABSENT;
    } finally {
      staging.release(buf);
    }
  }

  private int nextTierHolding(int from, long hi, long lo) {
    for (int t = from; t < tiers.length; t++) {
      if (tiers[t].contains(hi, lo)) {
        return t;
      }
    }
    return -1;
  }

  private static void checkCount(long[] keys, int count) {
    if (count < 0 || 2L * count > keys.length) {
      throw new IllegalArgumentException(
          "count " + count + " does not fit a key array of " + keys.length + " longs");
    }
  }

  private int tierHolding(long hi, long lo) {
    for (int t = 0; t < tiers.length; t++) {
      if (tiers[t].contains(hi, lo)) {
        return t;
      }
    }
    return -1;
  }

  private int firstTierFitting(int length, int from) {
    for (int t = from; t < tiers.length; t++) {
      if (length <= tiers[t].maxPageBytes()) {
        return t;
      }
    }
    return -1;
  }

  private void hit(int t, int bytes, long hi, long lo) {
    hits[t].increment();
    hitBytes[t].add(bytes);
    if (index != null) {
      index.recordAccess(hi, lo);
    }
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("the store is closed");
    }
  }

  private static LongAdder[] adders(int n) {
    LongAdder[] a = new LongAdder[n];
    for (int i = 0; i < n; i++) {
      a[i] = new LongAdder();
    }
    return a;
  }

  private static RuntimeException addSuppressed(RuntimeException first, RuntimeException next) {
    if (first == null) {
      return next;
    }
    first.addSuppressed(next);
    return first;
  }
}
