package io.kvstore.core.tier.ssd;

import io.kvstore.core.tier.TierWriteException;

/**
 * A RocksDB operation of the SSD tier failed (I/O error, full disk, unusable data directory). The
 * {@link #reason()} tells a full disk from other errors, so callers can map it (NO_SPACE on the
 * wire) and the store can go degraded and retry.
 */
public final class SsdStorageException extends TierWriteException {

  private static final long serialVersionUID = 1L;

  /** Whether RocksDB found the location records' own files damaged ({@link #corruptRecords()}). */
  private final boolean corruptRecords;
  /** Whether the tier crashed under another kind of durability ({@link #wrongDurability()}). */
  private final boolean wrongDurability;

  /** An exception with a message that says what the tier was doing, and the RocksDB cause. */
  public SsdStorageException(String message, Throwable cause) {
    super(reasonOf(cause), message, cause);
    this.corruptRecords = false;
    this.wrongDurability = false;
  }

  private SsdStorageException(
      String message, Throwable cause, boolean corruptRecords, boolean wrongDurability) {
    super(Reason.IO_ERROR, message, cause);
    this.corruptRecords = corruptRecords;
    this.wrongDurability = wrongDurability;
  }

  /** RocksDB found the tier's location records damaged on disk (its Corruption status). */
  static SsdStorageException corruptRecords(String message, Throwable cause) {
    return new SsdStorageException(message, cause, true, false);
  }

  /** The tier crashed under a durability of another kind than the open's ({@link SsdTier#claimDurability}). */
  static SsdStorageException wrongDurability(String message) {
    return new SsdStorageException(message, null, false, true);
  }

  /** An exception with a message only. */
  public SsdStorageException(String message) {
    super(Reason.IO_ERROR, message);
    this.corruptRecords = false;
    this.wrongDurability = false;
  }

  /** An exception with an explicit reason. */
  public SsdStorageException(Reason reason, String message, Throwable cause) {
    super(reason, message, cause);
    this.corruptRecords = false;
    this.wrongDurability = false;
  }

  /**
   * Whether RocksDB found the tier's location records damaged on disk (a block or manifest whose
   * checksum does not match): the tier cannot open on them; with {@link
   * SsdTierConfig#discardCorruptRecords()} it discards them and opens again ({@link SsdTier#open}).
   */
  public boolean corruptRecords() {
    return corruptRecords;
  }

  /**
   * Whether the tier did not close cleanly under a durability of another kind than the open's
   * ({@code none} against {@code wal} or {@code sync}): nothing was changed, and the message says
   * which mode to start it with once.
   */
  public boolean wrongDurability() {
    return wrongDurability;
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
