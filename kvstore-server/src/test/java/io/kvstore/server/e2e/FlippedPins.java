package io.kvstore.server.e2e;

import io.kvstore.core.tier.PinnedPage;
import java.nio.ByteBuffer;

/** Test fixture: a pinned memory page as a bad memory cell would serve it. */
final class FlippedPins {

  private FlippedPins() {}

  /**
   * Releases {@code pin} and returns an unpinned copy of its page with the last byte flipped (the
   * payload CRC no longer matches).
   */
  static PinnedPage flippedCopy(PinnedPage pin) {
    ByteBuffer copy = ByteBuffer.allocateDirect(pin.buffer().remaining());
    copy.put(0, pin.buffer(), 0, copy.capacity());
    copy.put(copy.capacity() - 1, (byte) (copy.get(copy.capacity() - 1) ^ 0x5A));
    pin.close();
    return new PinnedPage() {
      @Override
      public ByteBuffer buffer() {
        return copy.asReadOnlyBuffer();
      }

      @Override
      public void close() {}
    };
  }
}
