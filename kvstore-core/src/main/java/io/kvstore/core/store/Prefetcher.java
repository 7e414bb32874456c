package io.kvstore.core.store;

import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The store's background prefetch: a bounded queue of requests (1024) served by {@code
 * kvstore-prefetch-N} daemon threads, each request promoting its keys in order until its deadline.
 * Owned by the store, stopped first by its close.
 */
final class Prefetcher {

  private static final int QUEUE = 1024;

  private final TieredStore store;
  private final ThreadPoolExecutor executor;

  Prefetcher(TieredStore store, int threads) {
    this.store = store;
    AtomicInteger threadNo = new AtomicInteger();
    executor =
        new ThreadPoolExecutor(
            threads,
            threads,
            0L,
            TimeUnit.MILLISECONDS,
            new ArrayBlockingQueue<>(QUEUE),
            r -> {
              Thread th = new Thread(r, "kvstore-prefetch-" + threadNo.incrementAndGet());
              th.setDaemon(true);
              return th;
            });
  }

  CompletableFuture<Integer> submit(
      long[] keys, int count, long deadlineNanos, boolean checkNamespace, long namespaceId) {
    long[] copy = Arrays.copyOf(keys, 2 * count);
    CompletableFuture<Integer> result = new CompletableFuture<>();
    try {
      executor.execute(
          () -> {
            store.enterBackground(); // close frees staging buffers only once this is done
            try {
              result.complete(run(copy, count, deadlineNanos, checkNamespace, namespaceId));
            } catch (Throwable e) {
              result.completeExceptionally(e);
            } finally {
              store.exitBackground();
            }
          });
    } catch (RejectedExecutionException e) {
      result.completeExceptionally(
          new RejectedExecutionException(
              "prefetch queue is full (" + QUEUE + " requests) or the store is closing; retry later",
              e));
    }
    return result;
  }

  private int run(
      long[] keys, int count, long deadlineNanos, boolean checkNamespace, long namespaceId) {
    int inMemory = 0;
    for (int i = 0; i < count && !store.isClosed(); i++) {
      if (System.nanoTime() - deadlineNanos > 0) {
        break;
      }
      if (store.chain().prefetchOne(keys[2 * i], keys[2 * i + 1], checkNamespace, namespaceId)) {
        inMemory++;
      }
    }
    return inMemory;
  }

  /** Stops taking requests and waits for the running ones until the deadline. */
  void shutdown(long deadlineNanos) {
    executor.shutdown();
    try {
      if (!executor.awaitTermination(
          Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS)) {
        executor.shutdownNow();
      }
    } catch (InterruptedException e) {
      executor.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
