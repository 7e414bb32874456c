package io.kvstore.server.net;

import io.kvstore.core.store.StoreStats;
import io.kvstore.core.store.TieredStore;
import io.kvstore.core.tier.PinnedPage;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A {@link StoreOps} over a real {@link TieredStore} that throws on chosen operations (fault
 * injection) and counts the pages it pins and unpins, so tests can check that every request is
 * answered whatever the store does, and that every pin is released.
 */
public final class FaultyStore implements StoreOps {

  /** The operations that can be made to fail. */
  public enum Op {
    OWNERSHIP, LOOKUP, PIN_IF_IN_MEMORY, LENGTH, GET_PINNED, GET, PUT, DELETE, PREFETCH,
    /** PREFETCH accepted, its future completed exceptionally. */
    PREFETCH_ASYNC
  }

  private final StoreOps store;
  private final Map<Op, Supplier<? extends Throwable>> faults = new ConcurrentHashMap<>();
  private final AtomicInteger pinned = new AtomicInteger();
  private final AtomicInteger pins = new AtomicInteger();
  private volatile boolean putMayBlock;
  private volatile long pausedKeyLo;
  private volatile CountDownLatch pauseReached;
  private volatile CountDownLatch pauseRelease;
  private volatile String lastPutThread;
  private volatile CountDownLatch deleteRelease;
  private final AtomicInteger deletesWaiting = new AtomicInteger();

  public FaultyStore(TieredStore store) {
    this.store = StoreOps.of(store);
  }

  /** Makes every later call of {@code op} throw what {@code fault} makes. */
  public FaultyStore fail(Op op, Supplier<RuntimeException> fault) {
    faults.put(op, fault);
    return this;
  }

  /**
   * Reports puts as possibly blocking ({@link #putNeverBlocks()} false) whatever the store, so a
   * daemon made after this call runs every PUT on a store thread, as with an SSD tier.
   */
  public FaultyStore putMayBlock() {
    putMayBlock = true;
    return this;
  }

  /** The name of the thread that made the latest {@link #put} call (null before any). */
  public String lastPutThread() {
    return lastPutThread;
  }

  /**
   * Makes {@link #pinIfInMemory} of keys whose low half is {@code keyLo} wait, on the calling
   * thread (the daemon's event loop), until {@code release} opens (at most 30 s); {@code reached}
   * is counted down when a call starts waiting. Shows what a client has received while the daemon
   * is still in the middle of a GET.
   */
  public FaultyStore pausePinIfInMemory(
      long keyLo, CountDownLatch reached, CountDownLatch release) {
    pausedKeyLo = keyLo;
    pauseReached = reached;
    pauseRelease = release;
    return this;
  }

  /**
   * Makes every later call of {@code op} throw the {@link Error} {@code fault} makes: an {@link
   * InternalError} is how the JVM reports a fault in mapped memory (SIGBUS) met by a copy.
   */
  public FaultyStore failWithError(Op op, Supplier<? extends Error> fault) {
    faults.put(op, fault);
    return this;
  }

  /**
   * Makes every later {@link #delete} wait, on the calling thread (a store thread), until {@code
   * release} opens (at most 30 s): keeps the daemon's store threads busy.
   */
  public FaultyStore pauseDeletes(CountDownLatch release) {
    deleteRelease = release;
    return this;
  }

  /** Calls of {@link #delete} waiting on {@link #pauseDeletes}'s latch now. */
  public int deletesWaiting() {
    return deletesWaiting.get();
  }

  /** Stops injecting faults. */
  public void heal() {
    faults.clear();
  }

  /** Pages pinned through this store and not yet released. */
  public int pinnedNow() {
    return pinned.get();
  }

  /** Pages pinned through this store since it was made. */
  public int pinsTaken() {
    return pins.get();
  }

  private void check(Op op) {
    Supplier<? extends Throwable> f = faults.get(op);
    if (f == null) {
      return;
    }
    Throwable t = f.get();
    if (t instanceof RuntimeException e) {
      throw e;
    }
    if (t instanceof Error e) {
      throw e;
    }
    throw new AssertionError("a fault must be unchecked", t);
  }

  private PinnedPage counted(PinnedPage p) {
    if (p == null) {
      return null;
    }
    pinned.incrementAndGet();
    pins.incrementAndGet();
    return new PinnedPage() {
      private boolean closed;

      @Override
      public ByteBuffer buffer() {
        return p.buffer();
      }

      @Override
      public void close() {
        if (!closed) {
          closed = true;
          pinned.decrementAndGet();
        }
        p.close();
      }
    };
  }

  @Override
  public int maxPageBytes() {
    return store.maxPageBytes();
  }

  @Override
  public int ownership(long keyHi, long keyLo, long namespaceId) {
    check(Op.OWNERSHIP);
    return store.ownership(keyHi, keyLo, namespaceId);
  }

  @Override
  public int lookupPrefix(long[] keys, int count, int[] perTierOut, long namespaceId) {
    check(Op.LOOKUP);
    return store.lookupPrefix(keys, count, perTierOut, namespaceId);
  }

  @Override
  public PinnedPage pinIfInMemory(long keyHi, long keyLo) {
    check(Op.PIN_IF_IN_MEMORY);
    CountDownLatch release = pauseRelease;
    if (release != null && keyLo == pausedKeyLo) {
      pauseReached.countDown();
      try {
        release.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    return counted(store.pinIfInMemory(keyHi, keyLo));
  }

  @Override
  public int length(long keyHi, long keyLo) {
    check(Op.LENGTH);
    return store.length(keyHi, keyLo);
  }

  @Override
  public PinnedPage getPinned(long keyHi, long keyLo) {
    check(Op.GET_PINNED);
    return counted(store.getPinned(keyHi, keyLo));
  }

  @Override
  public int get(long keyHi, long keyLo, ByteBuffer dst) {
    check(Op.GET);
    return store.get(keyHi, keyLo, dst);
  }

  @Override
  public boolean put(ByteBuffer page) {
    lastPutThread = Thread.currentThread().getName();
    check(Op.PUT);
    return store.put(page);
  }

  @Override
  public boolean putCopyVerified(ByteBuffer src, long namespaceId) {
    lastPutThread = Thread.currentThread().getName();
    check(Op.PUT);
    return store.putCopyVerified(src, namespaceId);
  }

  @Override
  public boolean putNeverBlocks() {
    return !putMayBlock && store.putNeverBlocks();
  }

  @Override
  public boolean delete(long keyHi, long keyLo, long namespaceId) {
    check(Op.DELETE);
    CountDownLatch release = deleteRelease;
    if (release != null) {
      deletesWaiting.incrementAndGet();
      try {
        release.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        deletesWaiting.decrementAndGet();
      }
    }
    return store.delete(keyHi, keyLo, namespaceId);
  }

  @Override
  public CompletableFuture<Integer> prefetch(
      long[] keys, int count, long deadlineNanos, long namespaceId) {
    check(Op.PREFETCH);
    Supplier<? extends Throwable> async = faults.get(Op.PREFETCH_ASYNC);
    if (async != null) {
      return CompletableFuture.failedFuture(async.get());
    }
    return store.prefetch(keys, count, deadlineNanos, namespaceId);
  }

  @Override
  public StoreStats stats() {
    return store.stats();
  }
}
