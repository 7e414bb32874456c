package io.kvstore.client.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelConfig;
import io.netty.channel.MaxMessagesRecvByteBufAllocator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.UncheckedBooleanSupplier;

/**
 * The buffers one connection's socket reads go into: while the body of a large frame is arriving,
 * the room left in the buffer that frame accumulates in ({@link FrameDecoder#readTarget(ByteBufAllocator)}), so the
 * kernel copies those bytes straight to where the frame is kept and the decoder takes them in place
 * instead of copying them out of a separate read buffer; otherwise a buffer sized by an {@link
 * AdaptiveRecvByteBufAllocator} (up to {@link #MAX_READ_BYTES}).
 *
 * <p>Per channel (it asks that channel's decoder); set it in the channel initializer with {@code
 * ch.config().setRecvByteBufAllocator(new FrameReadAllocator(decoder))}, before the first read.
 */
// Netty's channel read loop takes a RecvByteBufAllocator whose newHandle() is typed by the
// deprecated Handle interface; the handle here implements its non-deprecated ExtendedHandle.
@SuppressWarnings("deprecation")
public final class FrameReadAllocator implements MaxMessagesRecvByteBufAllocator {

  /**
   * Largest plain read: above 64 KiB (Netty's default), so that a response carrying one 64 KiB
   * page (its frame is a little longer than the page) arrives in one read and is decoded in place,
   * not copied into a second buffer to be joined with its last bytes.
   */
  public static final int MAX_READ_BYTES = 256 << 10;

  private final FrameDecoder decoder;
  private final AdaptiveRecvByteBufAllocator plain =
      new AdaptiveRecvByteBufAllocator(64, 2048, MAX_READ_BYTES);

  /** Reads for the channel whose frames {@code decoder} splits. */
  public FrameReadAllocator(FrameDecoder decoder) {
    this.decoder = decoder;
  }

  @Override
  public RecvByteBufAllocator.Handle newHandle() {
    return new Handle((ExtendedHandle) plain.newHandle());
  }

  @Override
  public int maxMessagesPerRead() {
    return plain.maxMessagesPerRead();
  }

  @Override
  public FrameReadAllocator maxMessagesPerRead(int maxMessagesPerRead) {
    plain.maxMessagesPerRead(maxMessagesPerRead);
    return this;
  }

  /** The adaptive handle, except that a frame's own buffer is offered first. */
  private final class Handle implements ExtendedHandle {
    private final ExtendedHandle delegate;

    Handle(ExtendedHandle delegate) {
      this.delegate = delegate;
    }

    @Override
    public ByteBuf allocate(ByteBufAllocator alloc) {
      ByteBuf target = decoder.readTarget(alloc);
      return target != null ? target : delegate.allocate(alloc);
    }

    @Override
    public int guess() {
      return delegate.guess();
    }

    @Override
    public void reset(ChannelConfig config) {
      delegate.reset(config);
    }

    @Override
    public void incMessagesRead(int numMessages) {
      delegate.incMessagesRead(numMessages);
    }

    @Override
    public void lastBytesRead(int bytes) {
      delegate.lastBytesRead(bytes);
    }

    @Override
    public int lastBytesRead() {
      return delegate.lastBytesRead();
    }

    @Override
    public void attemptedBytesRead(int bytes) {
      delegate.attemptedBytesRead(bytes);
    }

    @Override
    public int attemptedBytesRead() {
      return delegate.attemptedBytesRead();
    }

    @Override
    public boolean continueReading() {
      return delegate.continueReading();
    }

    @Override
    public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
      return delegate.continueReading(maybeMoreDataSupplier);
    }

    @Override
    public void readComplete() {
      delegate.readComplete();
    }
  }
}
