package io.kvstore.server.net;

import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of the network path under attack and failure: refused connections by reason, timeouts
 * by kind, failed HELLOs, waits for the request memory budget and failed requests by error code.
 * Plain {@link LongAdder}s read through getters, so that whichever metrics library the daemon uses
 * can export them (this class depends on none). One instance per server, shared by every
 * connection; thread-safe.
 */
public final class NetCounters {

  /** Why a connection was refused or cut before it was served. */
  public enum Refusal {
    /** {@code max.connections} reached and no unauthenticated connection to evict. */
    TOTAL_LIMIT,
    /** The token (or namespace, without auth) holds {@code net.connections.per.token} already. */
    PER_TOKEN_LIMIT,
    /** An unauthenticated connection closed to make room for a newer one. */
    PREAUTH_EVICTED,
    /** A frame announced before HELLO larger than a HELLO can be. */
    PREAUTH_FRAME_TOO_LARGE,
    /** The daemon is shutting down. */
    SHUTTING_DOWN
  }

  /** Which timeout cut a connection. */
  public enum Timeout {
    /** No HELLO within {@code handshake.timeout.seconds}. */
    HANDSHAKE,
    /** A frame begun was not completed within {@code net.read.timeout.seconds}. */
    READ,
    /** Queued responses made no progress within {@code net.write.timeout.seconds}. */
    WRITE,
    /** Nothing read or written, nothing in flight, for {@code net.idle.timeout.seconds}. */
    IDLE
  }

  /** Error codes below this are counted one by one; higher ones share the last slot. */
  static final int CODES = 32;

  private final LongAdder[] refused = adders(Refusal.values().length);
  private final LongAdder[] timeouts = adders(Timeout.values().length);
  private final LongAdder[] failedByCode = adders(CODES);
  private final LongAdder authFailures = new LongAdder();
  private final LongAdder budgetWaits = new LongAdder();
  private final LongAdder acceptFailures = new LongAdder();

  private static LongAdder[] adders(int n) {
    LongAdder[] a = new LongAdder[n];
    for (int i = 0; i < n; i++) {
      a[i] = new LongAdder();
    }
    return a;
  }

  void refused(Refusal reason) {
    refused[reason.ordinal()].increment();
  }

  void timedOut(Timeout kind) {
    timeouts[kind.ordinal()].increment();
  }

  void authFailed() {
    authFailures.increment();
  }

  void budgetWait() {
    budgetWaits.increment();
  }

  void acceptFailed() {
    acceptFailures.increment();
  }

  /** Times {@code accept} failed on the listening socket (out of file descriptors, mostly). */
  public long acceptFailures() {
    return acceptFailures.sum();
  }

  void requestFailed(int code) {
    failedByCode[Math.min(Math.max(code, 0), CODES - 1)].increment();
  }

  /** Connections refused or cut for {@code reason}, since start. */
  public long refusals(Refusal reason) {
    return refused[reason.ordinal()].sum();
  }

  /** Connections cut by the timeout {@code kind}, since start. */
  public long timeouts(Timeout kind) {
    return timeouts[kind.ordinal()].sum();
  }

  /** HELLOs refused with AUTH_FAILED or NAMESPACE_DENIED, since start. */
  public long authFailures() {
    return authFailures.sum();
  }

  /** Times a connection stopped reading because the request memory budget was spent. */
  public long budgetWaits() {
    return budgetWaits.sum();
  }

  /**
   * ERROR frames and failed PUT page statuses sent with {@code code} (an {@code ErrorCode}), since
   * start; codes of {@value #CODES} and above are counted together under {@code CODES - 1}.
   */
  public long requestsFailed(int code) {
    return failedByCode[Math.min(Math.max(code, 0), CODES - 1)].sum();
  }
}
