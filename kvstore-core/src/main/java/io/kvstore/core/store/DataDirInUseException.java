package io.kvstore.core.store;

import java.nio.file.Path;

/**
 * A store was opened on a data directory another store uses (in this process or another): refused
 * before anything in the directory was touched.
 */
public final class DataDirInUseException extends IllegalStateException {

  private static final long serialVersionUID = 1L;

  DataDirInUseException(Path dataDir, String holderPid) {
    super(
        "the data directory "
            + dataDir.toAbsolutePath()
            + " is in use by another store (process "
            + holderPid
            + "): one store per data directory; stop that one or give this one another data"
            + " directory");
  }
}
