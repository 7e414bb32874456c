package io.kvstore.server.net;

import io.kvstore.core.store.StoreStats;
import io.kvstore.core.store.TieredStore;
import io.kvstore.core.tier.PinnedPage;
import io.kvstore.core.tier.TierKind;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * The store operations the protocol server uses, and nothing else: one seam between the daemon's
 * network path and {@link TieredStore} (which is final), so tests can make any of them fail and
 * check that every request is still answered with the right code. {@link #of(TieredStore)} is the
 * daemon's implementation, a plain delegate.
 *
 * <p>The namespace-taking operations are the store's own isolation checks: a key held under
 * another namespace is treated as absent (LOOKUP, DELETE, PREFETCH) and a PUT that would replace it
 * throws {@link io.kvstore.core.store.ForeignPageException}.
 */
public interface StoreOps {

  /** {@link TieredStore#maxPageBytes()}. */
  int maxPageBytes();

  /** {@link TieredStore#ownership(long, long, long)}: ABSENT, OWN or FOREIGN; may read the SSD. */
  int ownership(long keyHi, long keyLo, long namespaceId);

  /** {@link TieredStore#lookupPrefix(long[], int, int[], long)}; may read the SSD. */
  int lookupPrefix(long[] keys, int count, int[] perTierOut, long namespaceId);

  /** {@link TieredStore#pinIfInMemory(long, long)}: memory tiers only, never the SSD. */
  PinnedPage pinIfInMemory(long keyHi, long keyLo);

  /** {@link TieredStore#length(long, long)}. */
  int length(long keyHi, long keyLo);

  /** {@link TieredStore#getPinned(long, long)}; may read the SSD and promote. */
  PinnedPage getPinned(long keyHi, long keyLo);

  /** {@link TieredStore#get(long, long, ByteBuffer)}. */
  int get(long keyHi, long keyLo, ByteBuffer dst);

  /** {@link TieredStore#put(ByteBuffer)}, refusing to replace another namespace's page. */
  boolean put(ByteBuffer page);

  /**
   * {@link TieredStore#putCopyVerified(ByteBuffer, long)}: stores a page from memory the client
   * may rewrite meanwhile (its shared region), reading it once and checking only the store's copy.
   */
  boolean putCopyVerified(ByteBuffer src, long namespaceId);

  /**
   * Whether {@link #put} never waits and never does I/O, so that the daemon may run it on an event
   * loop: true when the store has no SSD tier. Then there is no write-back queue whose room a put
   * could wait for, and no page on disk to read (ownership), delete (the older copy) or write (a
   * page too large for memory); a put verifies, copies into memory and may move a page between the
   * memory tiers, under a key lock that only other memory-only calls hold. False by default.
   */
  default boolean putNeverBlocks() {
    return false;
  }

  /** {@link TieredStore#delete(long, long, long)}. */
  boolean delete(long keyHi, long keyLo, long namespaceId);

  /** {@link TieredStore#prefetch(long[], int, long, long)}. */
  CompletableFuture<Integer> prefetch(long[] keys, int count, long deadlineNanos, long namespaceId);

  /** {@link TieredStore#stats()}. */
  StoreStats stats();

  /** The daemon's store operations: each one calls the same method of {@code store}. */
  static StoreOps of(TieredStore store) {
    boolean memoryOnly = store.stats().tier(TierKind.SSD) == null;
    return new StoreOps() {
      @Override
      public boolean putNeverBlocks() {
        return memoryOnly;
      }

      @Override
      public int maxPageBytes() {
        return store.maxPageBytes();
      }

      @Override
      public int ownership(long keyHi, long keyLo, long namespaceId) {
        return store.ownership(keyHi, keyLo, namespaceId);
      }

      @Override
      public int lookupPrefix(long[] keys, int count, int[] perTierOut, long namespaceId) {
        return store.lookupPrefix(keys, count, perTierOut, namespaceId);
      }

      @Override
      public PinnedPage pinIfInMemory(long keyHi, long keyLo) {
        return store.pinIfInMemory(keyHi, keyLo);
      }

      @Override
      public int length(long keyHi, long keyLo) {
        return store.length(keyHi, keyLo);
      }

      @Override
      public PinnedPage getPinned(long keyHi, long keyLo) {
        return store.getPinned(keyHi, keyLo);
      }

      @Override
      public int get(long keyHi, long keyLo, ByteBuffer dst) {
        return store.get(keyHi, keyLo, dst);
      }

      @Override
      public boolean put(ByteBuffer page) {
        return store.put(page);
      }

      @Override
      public boolean putCopyVerified(ByteBuffer src, long namespaceId) {
        return store.putCopyVerified(src, namespaceId);
      }

      @Override
      public boolean delete(long keyHi, long keyLo, long namespaceId) {
        return store.delete(keyHi, keyLo, namespaceId);
      }

      @Override
      public CompletableFuture<Integer> prefetch(
          long[] keys, int count, long deadlineNanos, long namespaceId) {
        return store.prefetch(keys, count, deadlineNanos, namespaceId);
      }

      @Override
      public StoreStats stats() {
        return store.stats();
      }
    };
  }
}
