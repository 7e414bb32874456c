package io.kvstore.server.metrics;

/**
 * Reads whether the store serves in a degraded state, for {@code /health} and the gauge {@code
 * kvstore_ssd_degraded}. The daemon wires it to the store (the SSD tier goes degraded when it
 * cannot write: disk full, I/O errors; it keeps serving what it can and retries).
 *
 * <p>Called on the metrics server's I/O thread for every health check and at every scrape, so an
 * implementation must be cheap and never block: read a volatile field, no I/O, no lock that a
 * store operation holds.
 */
@FunctionalInterface
public interface HealthProbe {

  /** A probe for a store that is never degraded (no SSD tier, or nothing wired yet). */
  HealthProbe NEVER_DEGRADED = () -> Status.OK;

  /**
   * The store's condition now.
   *
   * @return the status, never null
   */
  Status status();

  /**
   * The store's condition at one moment.
   *
   * @param ssdDegraded whether the SSD tier is degraded (still serving, but not taking writes)
   * @param reason why, e.g. {@code NO_SPACE} or {@code IO_ERROR}; empty when not degraded
   * @param sinceMillis since when it is degraded (epoch milliseconds); 0 when not degraded
   */
  record Status(boolean ssdDegraded, String reason, long sinceMillis) {

    /** Not degraded. */
    public static final Status OK = new Status(false, "", 0);

    /** Checks the parts; a null reason becomes empty. */
    public Status {
      reason = reason == null ? "" : reason;
    }

    /**
     * A degraded SSD tier.
     *
     * @param reason why, e.g. {@code NO_SPACE}
     * @param sinceMillis since when (epoch milliseconds)
     * @return the status
     */
    public static Status ssdDegraded(String reason, long sinceMillis) {
      return new Status(true, reason, sinceMillis);
    }
  }
}
