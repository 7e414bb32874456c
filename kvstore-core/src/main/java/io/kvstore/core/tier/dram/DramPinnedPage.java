package io.kvstore.core.tier.dram;

import io.kvstore.core.tier.PinnedPage;
import java.nio.ByteBuffer;

/** A pin on one DRAM-tier slot, with a read-only view over the page in its slab. */
final class DramPinnedPage implements PinnedPage {

  private final DramTier tier;
  private final int slotId;
  private final ByteBuffer view;
  private boolean released;

  DramPinnedPage(DramTier tier, int slotId, ByteBuffer view) {
    this.tier = tier;
    this.slotId = slotId;
    this.view = view;
  }

  @Override
  public ByteBuffer buffer() {
    return view;
  }

  int slotId() {
    return slotId;
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
