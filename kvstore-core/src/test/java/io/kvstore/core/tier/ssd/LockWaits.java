package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/** For tests that a call does not wait for a lock another thread holds, decided without a timer. */
final class LockWaits {

  private LockWaits() {}

  /**
   * Runs {@code call} on another thread and waits for its result; fails with {@code what} as soon
   * as that thread is seen queued on {@code lock}.
   */
  static <T> T withoutWaitingFor(ReentrantLock lock, String what, Supplier<T> call)
      throws Exception {
    AtomicReference<Thread> runner = new AtomicReference<>();
    CompletableFuture<T> f =
        CompletableFuture.supplyAsync(
            () -> {
              runner.set(Thread.currentThread());
              return call.get();
            });
    while (!f.isDone()) {
      Thread r = runner.get();
      assertFalse(r != null && lock.hasQueuedThread(r), what);
      Thread.onSpinWait();
    }
    return f.get();
  }
}
