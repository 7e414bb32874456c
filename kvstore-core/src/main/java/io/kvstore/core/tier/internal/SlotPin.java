package io.kvstore.core.tier.internal;

import io.kvstore.core.tier.PinnedPage;
import java.nio.ByteBuffer;

/**
 * A pin on one slot (a hot-tier frame, a DRAM-tier slot) of a memory tier, with a read-only view
 * either over the slot itself (zero copy) or over a staging buffer the slot was copied into (a
 * backend whose memory the host cannot see). The tier counts the pin on the slot; {@link #close()}
 * hands it back to the tier's {@link Releaser}, once.
 */
public final class SlotPin implements PinnedPage {

  /** The tier's side of a pin: undoes it under the tier's lock. */
  @FunctionalInterface
  public interface Releaser {
    /**
     * Releases {@code pin} if {@link SlotPin#markReleased()} says it is the first release.
     *
     * @param pin the pin being closed
     */
    void release(SlotPin pin);
  }

  private final Releaser releaser;
  private final int slot;
  private final ByteBuffer staging;
  private final ByteBuffer view;
  private boolean released;

  /**
   * A pin on {@code slot}.
   *
   * @param releaser the tier's release, called by {@link #close()}
   * @param slot the pinned slot
   * @param staging the staging buffer holding the copy, or null for a zero-copy pin
   * @param view the page, read-only, position 0, limit its length
   */
  public SlotPin(Releaser releaser, int slot, ByteBuffer staging, ByteBuffer view) {
    this.releaser = releaser;
    this.slot = slot;
    this.staging = staging;
    this.view = view;
  }

  @Override
  public ByteBuffer buffer() {
    return view;
  }

  /** The pinned slot. */
  public int slot() {
    return slot;
  }

  /** The staging buffer holding the copy, or null for a zero-copy pin. */
  public ByteBuffer staging() {
    return staging;
  }

  /**
   * Marks the pin released; true the first time only. Called by the releaser under its lock.
   *
   * @return whether this is the first release
   */
  public boolean markReleased() {
    if (released) {
      return false;
    }
    released = true;
    return true;
  }

  @Override
  public void close() {
    releaser.release(this);
  }
}
