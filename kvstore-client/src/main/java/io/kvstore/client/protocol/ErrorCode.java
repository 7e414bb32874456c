package io.kvstore.client.protocol;

/**
 * The error codes of {@code spec/3-wire-protocol.md} §3.5, with the scope each one ends.
 *
 * <p>Codes are u16 on the wire. {@link #CONNECTION_CLOSED} and {@link #CLIENT_TIMEOUT} are made by
 * the SDK and never sent.
 */
public final class ErrorCode {

  public static final int OK = 0;
  public static final int MALFORMED_FRAME = 1;
  public static final int FRAME_TOO_LARGE = 2;
  public static final int BAD_FRAME_LENGTH = 3;
  public static final int UNKNOWN_OPCODE = 4;
  public static final int UNSUPPORTED_VERSION = 5;
  public static final int AUTH_FAILED = 6;
  public static final int NAMESPACE_DENIED = 7;
  public static final int NOT_AUTHENTICATED = 8;
  public static final int BATCH_TOO_LARGE = 9;
  public static final int BAD_CHECKSUM = 10;
  public static final int MALFORMED_PAGE = 11;
  public static final int PAGE_TOO_LARGE = 12;
  public static final int NO_SPACE = 13;
  public static final int OVERLOADED = 14;
  public static final int TIMEOUT = 15;
  public static final int INTERNAL = 16;
  public static final int SHUTTING_DOWN = 17;
  /**
   * The store failed for a reason other than space (an I/O error, a closed tier): the request or
   * page was not served; not a timeout, and not retryable as such.
   */
  public static final int STORAGE_ERROR = 18;
  /**
   * The daemon refuses this connection: its token (or, without auth, its namespace) already holds
   * the most connections one client may hold, or the daemon is full. Sent instead of HELLO_OK;
   * the connection closes. Retry later, or with fewer connections.
   */
  public static final int CONNECTION_LIMIT = 19;
  /** No shared memory for this connection: off, out of budget, or no region attached (spec/4). */
  public static final int SHM_UNAVAILABLE = 20;
  /** A shared-memory descriptor outside its area, overlapping, not a live lease, or stale. */
  public static final int BAD_DESCRIPTOR = 21;
  /** SHM_ATTACH with the wrong nonce: the region is unlinked, the connection stays on TCP. */
  public static final int SHM_REFUSED = 22;

  /** SDK only: the connection ended while the request was in flight. */
  public static final int CONNECTION_CLOSED = 100;
  /** SDK only: no final response within the SDK's request timeout. */
  public static final int CLIENT_TIMEOUT = 101;

  private static final String[] NAMES = {
    "OK",
    "MALFORMED_FRAME",
    "FRAME_TOO_LARGE",
    "BAD_FRAME_LENGTH",
    "UNKNOWN_OPCODE",
    "UNSUPPORTED_VERSION",
    "AUTH_FAILED",
    "NAMESPACE_DENIED",
    "NOT_AUTHENTICATED",
    "BATCH_TOO_LARGE",
    "BAD_CHECKSUM",
    "MALFORMED_PAGE",
    "PAGE_TOO_LARGE",
    "NO_SPACE",
    "OVERLOADED",
    "TIMEOUT",
    "INTERNAL",
    "SHUTTING_DOWN",
    "STORAGE_ERROR",
    "CONNECTION_LIMIT",
    "SHM_UNAVAILABLE",
    "BAD_DESCRIPTOR",
    "SHM_REFUSED",
  };

  private ErrorCode() {}

  /** The code's name as in the spec, or {@code ERROR_<n>} for an unknown one. */
  public static String name(int code) {
    if (code >= 0 && code < NAMES.length) {
      return NAMES[code];
    }
    if (code == CONNECTION_CLOSED) {
      return "CONNECTION_CLOSED";
    }
    if (code == CLIENT_TIMEOUT) {
      return "CLIENT_TIMEOUT";
    }
    return "ERROR_" + code;
  }

  /**
   * Whether the daemon closes the connection after sending an ERROR frame with this code: the
   * framing or the session can no longer be trusted (spec §3.5). (NAMESPACE_DENIED as a PUT page
   * status fails only that page; as an ERROR frame it answers HELLO and closes.)
   */
  public static boolean closesConnection(int code) {
    switch (code) {
      case FRAME_TOO_LARGE:
      case BAD_FRAME_LENGTH:
      case UNSUPPORTED_VERSION:
      case AUTH_FAILED:
      case NAMESPACE_DENIED:
      case NOT_AUTHENTICATED:
      case SHUTTING_DOWN:
      case CONNECTION_LIMIT:
      case CONNECTION_CLOSED:
        return true;
      default:
        return false;
    }
  }

  /**
   * Whether a request that failed with this code may be sent again (on another connection) with a
   * chance of success: the failure was about load or transport, not about the request itself.
   */
  public static boolean isRetryable(int code) {
    switch (code) {
      case OVERLOADED:
      case TIMEOUT:
      case SHUTTING_DOWN:
      case CONNECTION_LIMIT:
      case CONNECTION_CLOSED:
      case CLIENT_TIMEOUT:
        return true;
      default:
        return false;
    }
  }
}
