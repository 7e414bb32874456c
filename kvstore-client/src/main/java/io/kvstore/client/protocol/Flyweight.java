package io.kvstore.client.protocol;

import io.netty.buffer.ByteBuf;

/**
 * Base of the frame flyweights: a reusable view over one frame inside a {@link ByteBuf}, read with
 * absolute little-endian accessors. One flyweight per frame type is kept by each handler and
 * re-wrapped for every frame, so decoding allocates nothing per frame (Aeron's flyweight pattern).
 *
 * <p>A flyweight does not own or retain the buffer: the caller keeps the frame alive while it reads.
 */
public abstract class Flyweight {

  /** The buffer the current frame lives in. */
  protected ByteBuf buffer;
  /** Absolute index of the current frame's first byte in {@link #buffer}. */
  protected int offset;

  /** Points this flyweight at the frame starting at absolute index {@code frameIndex}. */
  public Flyweight wrap(ByteBuf buffer, int frameIndex) {
    this.buffer = buffer;
    this.offset = frameIndex;
    return this;
  }

  /** Points this flyweight at the frame starting at the buffer's reader index. */
  public Flyweight wrap(ByteBuf buffer) {
    return wrap(buffer, buffer.readerIndex());
  }

  /** The buffer currently wrapped. */
  public ByteBuf buffer() {
    return buffer;
  }

  /** Absolute index of the current frame in {@link #buffer()}. */
  public int offset() {
    return offset;
  }

  /** The frame length (header included). */
  public int frameLength() {
    return (int) FrameDescriptor.frameLength(buffer, offset);
  }

  /** The frame's opcode. */
  public int opcode() {
    return FrameDescriptor.opcode(buffer, offset);
  }

  /** The frame's flags. */
  public int flags() {
    return FrameDescriptor.flags(buffer, offset);
  }

  /** The frame's request id. */
  public long requestId() {
    return FrameDescriptor.requestId(buffer, offset);
  }
}
