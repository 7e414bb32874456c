package io.kvstore.client;

import io.kvstore.client.protocol.ErrorCode;

/**
 * A request failed: the daemon answered with an ERROR, or the SDK gave up on it (timeout, closed
 * connection, no room under the in-flight limit). {@link #code()} is an {@link ErrorCode}.
 */
public class KvStoreException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final int code;

  /** A failure with an {@link ErrorCode} and a message. */
  public KvStoreException(int code, String message) {
    super(ErrorCode.name(code) + ": " + message);
    this.code = code;
  }

  /** A failure with an {@link ErrorCode}, a message and a cause. */
  public KvStoreException(int code, String message, Throwable cause) {
    super(ErrorCode.name(code) + ": " + message, cause);
    this.code = code;
  }

  /** The {@link ErrorCode}. */
  public int code() {
    return code;
  }

  /** Whether sending the request again (elsewhere, later) may succeed. */
  public boolean isRetryable() {
    return ErrorCode.isRetryable(code);
  }
}
