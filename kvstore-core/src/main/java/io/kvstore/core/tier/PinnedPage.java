package io.kvstore.core.tier;

import java.nio.ByteBuffer;

/**
 * A zero-copy, read-only view of a page held in memory. While it is open the page's memory is
 * pinned: it is neither evicted nor reused. Close it (once) as soon as the bytes are consumed.
 */
public interface PinnedPage extends AutoCloseable {

  /**
   * The whole page (header + payload, see {@code spec/2-page-format.md}) as a read-only buffer whose
   * position is 0 and limit the page length. Valid only until {@link #close()}.
   */
  ByteBuffer buffer();

  /** Releases the pin. Idempotent. */
  @Override
  void close();
}
