package io.kvstore.core.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * A store cannot use the directory its block index is to run from ({@code index.dir}): it cannot be
 * made (a file in its place, a missing or read-only parent), locked or written. Thrown before
 * anything in the data directory changed; the message names the directory and the reason, so an
 * operator can act on it without a stack trace.
 */
public final class IndexDirUnusableException extends UncheckedIOException {

  private static final long serialVersionUID = 1L;

  IndexDirUnusableException(Path indexDir, IOException cause) {
    super(
        "cannot use the block index directory "
            + indexDir
            + " (index.dir): "
            + cause
            + "; give index.dir a directory this user can create and write (on a tmpfs), or set"
            + " it to data (the data directory)",
        cause);
  }
}
