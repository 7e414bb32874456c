package io.kvstore.core.tier;

/**
 * A tier could not store a page because its storage failed (not because the page is too large or
 * every slot is pinned: those are a {@code false} from {@link Tier#put}). Nothing was changed by the
 * failed call. The store treats this as a local, counted event: the page is dropped from that tier,
 * other requests go on, and the tier is retried later through {@link Tier#resumeWrites()}.
 */
public class TierWriteException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /** Why a write failed, as far as the tier can tell. */
  public enum Reason {
    /** The file system (or the tier's on-disk budget) has no room: ENOSPC, or RocksDB's NoSpace. */
    NO_SPACE,
    /** Any other I/O or storage-engine error. */
    IO_ERROR,
    /** The tier is closed or closing. */
    CLOSED
  }

  private final Reason reason;

  /** An exception for {@code reason} with a message that says what the tier was doing. */
  public TierWriteException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  /** An exception for {@code reason} with a message only. */
  public TierWriteException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  /** Why the write failed. */
  public Reason reason() {
    return reason;
  }
}
