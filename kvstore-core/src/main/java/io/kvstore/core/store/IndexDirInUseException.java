package io.kvstore.core.store;

import java.nio.file.Path;

/**
 * A store was opened with a block index directory ({@code index.dir}) that another running store
 * uses (in this process or another): refused before anything in it was touched.
 */
public final class IndexDirInUseException extends IllegalStateException {

  private static final long serialVersionUID = 1L;

  IndexDirInUseException(Path indexDir, String holderDataDir) {
    super(
        "the block index directory "
            + indexDir
            + " is in use by the store of another data directory ("
            + holderDataDir
            + "): give each store its own index.dir");
  }
}
