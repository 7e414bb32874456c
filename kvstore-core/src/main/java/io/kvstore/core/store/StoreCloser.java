package io.kvstore.core.store;

import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.TierWriteException;
import java.lang.System.Logger.Level;
import java.util.concurrent.TimeUnit;

/**
 * The store's graceful close, in order: stop prefetch; wait for calls in progress; drain the
 * write-back queue and write every dirty memory page to SSD ({@code flushOnClose}); stop the
 * writers; close the tiers, the staging buffers, the queue and the block index. Everything before
 * closing the tiers is bounded by one grace period ({@code closeGraceMillis}); dirty pages not
 * written by then are lost and logged.
 */
final class StoreCloser {

  private static final System.Logger LOG = System.getLogger(StoreCloser.class.getName());

  private final boolean flushOnClose;
  private final long graceNanos;

  StoreCloser(boolean flushOnClose, long graceMillis) {
    this.flushOnClose = flushOnClose;
    this.graceNanos = TimeUnit.MILLISECONDS.toNanos(graceMillis);
  }

  void close(TieredStore store) {
    long started = System.nanoTime();
    long deadline = started + graceNanos;
    store.prefetcher().shutdown(deadline);
    boolean quiet = awaitQuiet(store, deadline);
    WriteBack writeBack = store.writeBack();
    boolean writersStopped = true;
    if (writeBack != null) {
      long[] flushed = {0, 0};
      if (flushOnClose) {
        try {
          writeBack.queue().awaitEmpty(Math.max(0, deadline - System.nanoTime()));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        flushed = store.chain().flushDirty(deadline);
      } else {
        flushed[1] = store.chain().dirtyCount(); // left in memory: lost with it
      }
      long queuedDropsBefore = writeBack.drops.sum();
      writersStopped = writeBack.stop(flushOnClose, deadline);
      // Pages queued in their memory slots and never taken go back to their tier now, even if a
      // writer is stuck (then the queue is not closed below, and that writer releases its own).
      writeBack.queue().releaseUntaken();
      long droppedAtStop = writeBack.drops.sum() - queuedDropsBefore;
      long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      // What a restart will not find, all of it: the stop's own losses and the pages the
      // write-back policy dropped while the store ran (kvbench crashtest checks a graceful stop
      // against these counts).
      String ranDrops =
          queuedDropsBefore == 0
              ? ""
              : String.format(
                  java.util.Locale.ROOT,
                  "; %,d dirty pages had been dropped by the write-back policy while the store ran"
                      + " (kvstore_writeback_drops_total)",
                  queuedDropsBefore);
      if (flushed[1] > 0 || droppedAtStop > 0) {
        LOG.log(
            Level.WARNING,
            "store closed in {0} ms: wrote {1} dirty pages to SSD; {2} dirty pages and {3} queued"
                + " pages were not written ({4}) and are lost{5}",
            ms,
            flushed[0],
            flushed[1],
            droppedAtStop,
            flushOnClose
                ? "grace of " + TimeUnit.NANOSECONDS.toMillis(graceNanos)
                    + " ms over, or SSD tier degraded"
                : "shutdown.flush is off",
            ranDrops);
      } else if (flushed[0] > 0 || queuedDropsBefore > 0) {
        LOG.log(
            Level.INFO,
            "store closed in {0} ms: wrote {1} dirty pages to SSD{2}",
            ms,
            flushed[0],
            ranDrops);
      }
    }
    RuntimeException failure = null;
    for (Tier t : store.tiers()) {
      try {
        t.close();
      } catch (TierWriteException e) {
        // A tier that cannot write its last pages down (a full disk) loses them; that is logged,
        // and the close goes on: the store is closed all the same.
        LOG.log(Level.WARNING, "closing the {0} tier: {1}", t.kind(), e.getMessage());
      } catch (RuntimeException e) {
        failure = addSuppressed(failure, e);
      }
    }
    // A call or a writer stuck past the grace (a stalled disk) may still read a staging buffer or
    // a queue entry: their memory is then left to the garbage collector rather than freed under it.
    if (quiet) {
      store.staging().close();
    }
    if (writeBack != null && writersStopped && quiet) {
      writeBack.queue().close();
    }
    if (store.index() != null) {
      try {
        store.index().close();
      } catch (RuntimeException e) {
        failure = addSuppressed(failure, e);
      }
    }
    AutoCloseable dirLock = store.dataDirLock();
    if (dirLock != null) {
      try {
        dirLock.close(); // last: the next store may open the directory now
      } catch (Exception e) {
        failure = addSuppressed(failure, new IllegalStateException("releasing the data directory", e));
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  /**
   * Waits until no call is in progress (new ones are refused already), at most to the deadline.
   *
   * @return whether none is
   */
  private static boolean awaitQuiet(TieredStore store, long deadline) {
    while (store.activeCalls() > 0 && System.nanoTime() - deadline < 0) {
      try {
        Thread.sleep(1);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    return store.activeCalls() == 0;
  }

  private static RuntimeException addSuppressed(RuntimeException first, RuntimeException next) {
    if (first == null) {
      return next;
    }
    first.addSuppressed(next);
    return first;
  }
}
