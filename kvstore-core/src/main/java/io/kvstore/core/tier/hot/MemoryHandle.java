package io.kvstore.core.tier.hot;

/**
 * A handle to one page in the hot tier, packed into a {@code long} so that no object is made per
 * page: the frame that holds the page and the frame's generation when the handle was taken.
 *
 * <pre>
 *   63                              32 31                               0
 *  +----------------------------------+----------------------------------+
 *  |       generation (u32)           |        frame index (u32)         |
 *  +----------------------------------+----------------------------------+
 * </pre>
 *
 * <p>The hot tier bumps a frame's generation every time the frame's content stops being the page a
 * handle was taken for (delete, eviction, replacement, reuse). A handle whose generation differs
 * from the frame's current one is stale: the tier detects it and never reads the frame for it. The
 * generation wraps after 2^32 reuses of one frame; a handle held across that many reuses is the only
 * way a stale handle could pass the check.
 */
public final class MemoryHandle {

  /** No handle (a miss). No real handle equals it: its frame index would be -1. */
  public static final long NONE = -1L;

  private MemoryHandle() {}

  /** Packs a frame index and generation. */
  public static long of(int frame, int generation) {
    if (frame < 0) {
      throw new IllegalArgumentException("frame index must not be negative: " + frame);
    }
    return ((long) generation << 32) | (frame & 0xFFFF_FFFFL);
  }

  /** The frame index of {@code handle}. */
  public static int frame(long handle) {
    return (int) handle;
  }

  /** The generation of {@code handle}. */
  public static int generation(long handle) {
    return (int) (handle >>> 32);
  }

  /** Whether {@code handle} is {@link #NONE}. */
  public static boolean isNone(long handle) {
    return handle == NONE;
  }

  /** A readable form, for messages. */
  public static String toString(long handle) {
    return isNone(handle) ? "none" : "frame " + frame(handle) + " gen " + generation(handle);
  }
}
