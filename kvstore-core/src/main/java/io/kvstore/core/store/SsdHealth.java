package io.kvstore.core.store;

import io.kvstore.core.tier.TierWriteException;
import java.lang.System.Logger.Level;

/**
 * The SSD tier's write health as the store sees it: healthy, or degraded after a write failed,
 * with the time of the next retry (exponential backoff between {@code minBackoffMillis} and {@code
 * maxBackoffMillis}). Logs one WARN line on entering the degraded state and one INFO line on
 * recovery (confirmed by a successful write, not by the tier's own say-so), so a full disk does not
 * flood the log.
 */
final class SsdHealth {

  private static final System.Logger LOG = System.getLogger(SsdHealth.class.getName());

  private final long minBackoffNanos;
  private final long maxBackoffNanos;
  private volatile StoreHealth state = StoreHealth.OK;
  private long backoffNanos;
  private long nextRetryNanos;
  /**
   * Set when a retry said the tier takes writes again, until a write succeeds: a failure meanwhile
   * continues the same degraded episode (no new WARN, the backoff keeps growing), so a tier whose
   * resume is too hopeful does not flood the log.
   */
  private volatile boolean probation;

  SsdHealth(long minBackoffMillis, long maxBackoffMillis) {
    this.minBackoffNanos = Math.max(1, minBackoffMillis) * 1_000_000L;
    this.maxBackoffNanos = Math.max(minBackoffMillis, maxBackoffMillis) * 1_000_000L;
  }

  /** Whether writes to the SSD tier are paused now (false on probation: writes are tried). */
  boolean degraded() {
    return state.ssdDegraded() && !probation;
  }

  StoreHealth snapshot() {
    return state;
  }

  /** Records a failed SSD write or read-for-write; enters the degraded state if not in it yet. */
  synchronized void failed(RuntimeException e) {
    String reason =
        e instanceof TierWriteException
            ? ((TierWriteException) e).reason().name()
            : TierWriteException.Reason.IO_ERROR.name();
    String message = e.getClass().getSimpleName() + ": " + e.getMessage();
    StoreHealth s = state;
    if (probation) {
      probation = false; // the resume was too hopeful: same episode, writes paused again
      nextRetryNanos = System.nanoTime() + backoffNanos;
    }
    if (s.ssdDegraded()) {
      state = new StoreHealth(true, s.reason(), s.sinceEpochMillis(), message);
      return;
    }
    state = new StoreHealth(true, reason, System.currentTimeMillis(), message);
    backoffNanos = minBackoffNanos;
    nextRetryNanos = System.nanoTime() + backoffNanos;
    LOG.log(
        Level.WARNING,
        "SSD tier degraded ({0}): write-back paused, dirty pages evicted from memory are dropped"
            + " and counted, retrying with backoff; cause: {1}",
        reason,
        message);
  }

  /** Whether a degraded tier is due for a retry now; if so the next retry is pushed back. */
  synchronized boolean retryDue() {
    if (!degraded() || System.nanoTime() - nextRetryNanos < 0) {
      return false;
    }
    backoffNanos = Math.min(maxBackoffNanos, backoffNanos * 2);
    nextRetryNanos = System.nanoTime() + backoffNanos;
    return true;
  }

  /**
   * A retry says the tier takes writes again: writes resume on probation; the store is reported
   * degraded until one succeeds.
   */
  synchronized void resumed() {
    if (state.ssdDegraded()) {
      probation = true;
    }
  }

  /** A write succeeded: ends a probation, logging the recovery once. Cheap when healthy. */
  void writeSucceeded() {
    if (probation) {
      confirmRecovery();
    }
  }

  private synchronized void confirmRecovery() {
    if (!probation) {
      return;
    }
    probation = false;
    StoreHealth s = state;
    state = new StoreHealth(false, null, 0L, s.lastError());
    backoffNanos = minBackoffNanos;
    LOG.log(
        Level.INFO,
        "SSD tier recovered after {0} ms degraded ({1}): write-back resumed",
        System.currentTimeMillis() - s.sinceEpochMillis(),
        s.reason());
  }
}
