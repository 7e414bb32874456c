package io.kvstore.core.tier.ssd;

/** A RocksDB operation of the SSD tier failed (I/O error, full disk, unusable data directory). */
public final class SsdStorageException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /** An exception with a message that says what the tier was doing, and the RocksDB cause. */
  public SsdStorageException(String message, Throwable cause) {
    super(message, cause);
  }

  /** An exception with a message only. */
  public SsdStorageException(String message) {
    super(message);
  }
}
