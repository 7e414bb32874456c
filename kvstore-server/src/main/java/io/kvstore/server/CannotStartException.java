package io.kvstore.server;

import java.io.IOException;

/**
 * The daemon cannot start for a reason its message states in full (a port another process holds,
 * an address this host does not have): a matter for the operator, not a fault of the daemon, so
 * it is reported in one line without a stack trace.
 */
public final class CannotStartException extends IOException {

  private static final long serialVersionUID = 1L;

  public CannotStartException(String message, Throwable cause) {
    super(message, cause);
  }

  /**
   * A listening socket could not be bound. The reason is recognised by the operating system's
   * English text (what the JDK and Netty report on Linux); any other text is kept as it came.
   *
   * @param what what was to listen there (e.g. {@code "the kvstore protocol"})
   * @param setting the setting that chooses the port (named in the hint)
   */
  public static CannotStartException bindFailed(
      String what, String host, int port, Throwable cause, String setting) {
    String detail = cause.getMessage() == null ? cause.toString() : cause.getMessage();
    String hint = "";
    if (detail.contains("Address already in use")) {
      detail = "address already in use";
      hint = ": another process listens there; stop it or choose another port (" + setting + ")";
    } else if (detail.contains("Cannot assign requested address")) {
      detail = "this host has no such address";
    } else if (detail.contains("Permission denied")) {
      detail = "permission denied (ports below 1024 need privileges)";
    }
    String address = host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    return new CannotStartException(
        "cannot listen for " + what + " on " + address + ": " + detail + hint, cause);
  }
}
