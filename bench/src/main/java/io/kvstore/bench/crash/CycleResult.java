package io.kvstore.bench.crash;

/**
 * One kill cycle: what was written and acknowledged before the kill, how long the daemon took to
 * come back, and what the verification of every key after the restart found. The last row of a run
 * may be the clean restart (SIGTERM instead of SIGKILL), named by {@code kind}.
 *
 * @param cycle 1-based cycle number
 * @param kind "kill" (SIGKILL at a random moment), "kill2" (the same, and a second SIGKILL during
 *     the restart that followed, {@code --kill-during-restart}), "term2" (the same with SIGTERM,
 *     {@code --term-during-restart}) or "clean" (SIGTERM, the graceful stop)
 * @param killAfterMillis how long the writers ran before the kill
 * @param putsAcked pages whose PUT was acknowledged
 * @param deletesAcked keys whose DELETE was acknowledged
 * @param putsRejected pages refused with an error status (kept as "may be stored")
 * @param uncertainKeys keys with a put of unknown outcome after the kill
 * @param restartMillis from forking the daemon again to its first answered PING
 * @param verified keys ever written, each read back after the restart
 * @param exact pages returned with the exact bytes of an acceptable version
 * @param miss keys with no page
 * @param wrong pages that are no version ever written for the key
 * @param stale older versions returned after a newer put was acknowledged
 * @param resurrected pages returned after a delete was acknowledged
 * @param lost keys whose page was read back exactly after the previous restart, not written since,
 *     and missing now: a page the SSD tier held was lost (-1 where not checked: the first cycle,
 *     or an SSD tier too small to hold every key without evicting)
 * @param liveReads pages read back while the daemon ran
 * @param liveFailures of those, pages that were wrong, stale or resurrected
 * @param errorsBeforeKill requests that failed while the daemon was meant to run
 */
record CycleResult(
    int cycle,
    String kind,
    long killAfterMillis,
    long putsAcked,
    long deletesAcked,
    long putsRejected,
    int uncertainKeys,
    long restartMillis,
    long verified,
    long exact,
    long miss,
    long wrong,
    long stale,
    long resurrected,
    long lost,
    long liveReads,
    long liveFailures,
    long errorsBeforeKill) {

  /**
   * Pages that must never be seen (wrong, stale, resurrected, after the restart or while running)
   * and pages that must never go (lost).
   */
  long failures() {
    return wrong + stale + resurrected + Math.max(0, lost) + liveFailures;
  }
}
