package io.kvstore.core.tier.ssd;

import io.kvstore.core.tier.TierWriteException;

/**
 * A RocksDB operation of the SSD tier failed (I/O error, full disk, unusable data directory). The
 * {@link #reason()} tells a full disk from other errors, so callers can map it (NO_SPACE on the
 * wire) and the store can go degraded and retry.
 */
public final class SsdStorageException extends TierWriteException {

  private static final long serialVersionUID = 1L;

  /** An exception with a message that says what the tier was doing, and the RocksDB cause. */
  public SsdStorageException(String message, Throwable cause) {
    super(reasonOf(cause), message, cause);
  }

  /** An exception with a message only. */
  public SsdStorageException(String message) {
    super(Reason.IO_ERROR, message);
  }

  /** An exception with an explicit reason. */
  public SsdStorageException(Reason reason, String message, Throwable cause) {
    super(reason, message, cause);
  }

  /** NO_SPACE when any cause in the chain is RocksDB's NoSpace status or an ENOSPC message. */
  static Reason reasonOf(Throwable cause) {
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t instanceof org.rocksdb.RocksDBException r
          && r.getStatus() != null
          && r.getStatus().getSubCode() == org.rocksdb.Status.SubCode.NoSpace) {
        return Reason.NO_SPACE;
      }
      String m = t.getMessage();
      if (m != null && (m.contains("No space left on device") || m.contains("NoSpace"))) {
        return Reason.NO_SPACE;
      }
    }
    return Reason.IO_ERROR;
  }
}
