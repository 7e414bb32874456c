package io.kvstore.core.tier.hot;

import io.kvstore.core.tier.PinnedPage;
import java.nio.ByteBuffer;

/**
 * A pin on a hot-tier frame, with a view either over the frame itself (zero copy) or over a staging
 * buffer the frame was copied into when the backend's frames are not host-visible.
 */
final class HotPinnedPage implements PinnedPage {

  private final HotTier tier;
  private final int frame;
  private final ByteBuffer staging;
  private final ByteBuffer view;
  private boolean released;

  HotPinnedPage(HotTier tier, int frame, ByteBuffer staging, ByteBuffer view) {
    this.tier = tier;
    this.frame = frame;
    this.staging = staging;
    this.view = view;
  }

  @Override
  public ByteBuffer buffer() {
    return view;
  }

  /** The pinned frame. */
  int frame() {
    return frame;
  }

  /** The staging buffer holding the copy, or null for a zero-copy pin. */
  ByteBuffer staging() {
    return staging;
  }

  /** Marks the pin released; true the first time only. Called under the tier's lock. */
  boolean markReleased() {
    if (released) {
      return false;
    }
    released = true;
    return true;
  }

  @Override
  public void close() {
    tier.release(this);
  }
}
