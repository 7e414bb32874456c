package io.kvstore.core.store;

import java.nio.file.Path;

/**
 * The directory the block index runs from ({@code index.dir}: a memory file system, as a rule)
 * has no room for it: other files fill that file system. Thrown before anything in the data
 * directory changed (its copy of the index stays, for the next start); with {@code index.dir =
 * auto} the store runs the index from the data directory instead and says so.
 */
public final class IndexDirFullException extends IllegalStateException {

  private static final long serialVersionUID = 1L;

  private final String room;

  IndexDirFullException(
      Path indexDir, long needBytes, long freeBytes, long totalBytes, boolean copyKept) {
    this(room(indexDir, needBytes, freeBytes, totalBytes), needBytes > totalBytes, copyKept);
  }

  private IndexDirFullException(String room, boolean tooSmall, boolean copyKept) {
    super(
        room
            + (tooSmall
                ? ": give that file system more room (for /dev/shm: its size= mount option, or"
                    + " docker run --shm-size)"
                : ": other files fill it; free room there")
            + ", or set index.dir to data (the data directory). Nothing was changed"
            + (copyKept ? "; the data directory's copy of the index is kept for the next start" : ""));
    this.room = room;
  }

  private static String room(Path indexDir, long needBytes, long freeBytes, long totalBytes) {
    return "the block index directory "
        + indexDir
        + " (index.dir) has no room for the block index: it needs "
        + String.format("%,d", needBytes)
        + " bytes, its file system has "
        + String.format("%,d", freeBytes)
        + " free of "
        + String.format("%,d", totalBytes);
  }

  /** What is missing, without the advice: the directory, the bytes needed, free and in all. */
  public String room() {
    return room;
  }
}
