package io.kvstore.core.store;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * A store cannot use its data directory: it is a file, on a read-only file system, not writable,
 * or its lock file cannot be created. Thrown before anything in the directory was opened; the
 * message names the path and the reason, so an operator can act on it without a stack trace.
 */
public final class DataDirUnusableException extends UncheckedIOException {

  private static final long serialVersionUID = 1L;

  DataDirUnusableException(String message, IOException cause) {
    super(message, cause);
  }
}
