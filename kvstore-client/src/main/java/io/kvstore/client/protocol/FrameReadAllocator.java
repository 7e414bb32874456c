package io.kvstore.client.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelConfig;
import io.netty.channel.MaxMessagesRecvByteBufAllocator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.UncheckedBooleanSupplier;

/**
 * The buffers one connection's socket reads go into: while the body of a frame is arriving, the
 * room left in the buffer that frame accumulates in ({@link
 * FrameDecoder#readTarget(ByteBufAllocator)}), so the kernel copies those bytes straight to where
 * the frame is kept and the decoder takes them in place instead of copying them out of a separate
 * read buffer; otherwise a buffer sized by an {@link
 * AdaptiveRecvByteBufAllocator} (up to {@link #MAX_READ_BYTES}).
 *
 * <p>Per channel (it asks that channel's decoder); set it in the channel initializer with {@code
 * ch.config().setRecvByteBufAllocator(FrameReadAllocator.forDaemon(decoder))} (or {@code
 * forClient}), before the first read.
 */
// Netty's channel read loop takes a RecvByteBufAllocator whose newHandle() is typed by the
// deprecated Handle interface; the handle here implements its non-deprecated ExtendedHandle.
@SuppressWarnings("deprecation")
public final class FrameReadAllocator implements MaxMessagesRecvByteBufAllocator {

  /**
   * Smallest plain read buffer on the SDK side ({@link #forClient}): above 64 KiB, so that a
   * response carrying one 64 KiB page (a little longer than the page) fits the buffer its first
   * bytes are read into, and its last bytes, if they come in a later read, are read in place
   * behind them. With Netty's adaptive sizing alone the buffer shrank to 64 KiB whenever such a
   * frame came in two reads (64 KiB, then the few bytes after), and the next frame's first 64 KiB
   * were then copied into a buffer that could hold it. The daemon keeps Netty's adaptive sizing
   * from 64 bytes ({@link #forDaemon}): there a small request sliced from a read buffer keeps that
   * buffer while it is served, so large buffers for small requests would hold memory the request
   * budget does not see.
   */
  public static final int CLIENT_MIN_READ_BYTES = 128 << 10;
  /** Largest plain read on the SDK side (Netty's default is 64 KiB). */
  public static final int MAX_READ_BYTES = 256 << 10;
  /**
   * Largest plain read on the daemon side: Netty's default, 64 KiB. A request sliced from a read
   * buffer keeps the whole buffer until it is answered, and the daemon's request budget counts
   * frames, not the buffers they sit in; larger reads would let small requests hold more memory
   * than the budget sees. Bodies of large frames are read straight into their frame's buffer
   * ({@link FrameDecoder#readTarget}) whatever this is.
   */
  public static final int DAEMON_MAX_READ_BYTES = 64 << 10;

  private final FrameDecoder decoder;
  private final AdaptiveRecvByteBufAllocator plain;

  private FrameReadAllocator(
      FrameDecoder decoder, int minReadBytes, int initialReadBytes, int maxReadBytes) {
    this.decoder = decoder;
    this.plain = new AdaptiveRecvByteBufAllocator(minReadBytes, initialReadBytes, maxReadBytes);
  }

  /** Reads for a daemon connection whose frames {@code decoder} splits: 64 bytes to 64 KiB. */
  public static FrameReadAllocator forDaemon(FrameDecoder decoder) {
    return new FrameReadAllocator(decoder, 64, 2048, DAEMON_MAX_READ_BYTES);
  }

  /**
   * Reads for an SDK connection whose frames {@code decoder} splits: {@link
   * #CLIENT_MIN_READ_BYTES} to 256 KiB.
   */
  public static FrameReadAllocator forClient(FrameDecoder decoder) {
    return new FrameReadAllocator(
        decoder, CLIENT_MIN_READ_BYTES, CLIENT_MIN_READ_BYTES, MAX_READ_BYTES);
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
