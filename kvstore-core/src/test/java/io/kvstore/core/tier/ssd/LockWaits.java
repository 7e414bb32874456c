package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/** For tests that a call does not wait for a lock another thread holds, decided without a timer. */
final class LockWaits {

  private LockWaits() {}

  /**
   * A thread of its own for each task. The tests run calls that block (a stalled disk) beside calls
   * that must not: on the common pool, which has one thread on a 2-CPU host, the second waits for
   * the first (on JDK 25 CompletableFuture uses it even then, and the test spun forever).
   */
  static final Executor OWN_THREAD = task -> {
    Thread t = new Thread(task, "lock-waits-call");
    t.setDaemon(true);
    t.start();
  };

  /**
   * Runs {@code call} on another thread and waits for its result; fails with {@code what} as soon
   * as that thread is seen queued on {@code lock}, or if the call takes a minute.
   */
  static <T> T withoutWaitingFor(ReentrantLock lock, String what, Supplier<T> call)
      throws Exception {
    AtomicReference<Thread> runner = new AtomicReference<>();
    CompletableFuture<T> f =
        CompletableFuture.supplyAsync(
            () -> {
              runner.set(Thread.currentThread());
              return call.get();
            },
            OWN_THREAD);
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
    while (!f.isDone()) {
      Thread r = runner.get();
      assertFalse(r != null && lock.hasQueuedThread(r), what);
      assertTrue(System.nanoTime() < deadline, what + ": the call did not end within a minute");
      Thread.onSpinWait();
    }
    return f.get();
  }
}
