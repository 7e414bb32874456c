package io.kvstore.client.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Splits the inbound byte stream into frames ({@code spec/3-wire-protocol.md} §3.1) with an
 * explicit state machine, and validates each frame before anyone reads it.
 *
 * <p>Emits either a {@link ByteBuf} holding exactly one frame (a retained slice of the inbound
 * buffer, reader index at the frame's first header byte: the receiver wraps a flyweight over it
 * and releases it), or an {@link InvalidFrame}. It never throws for bad input: a bad frame is a
 * message for the handler to answer, as in Netty's binary memcache decoder.
 *
 * <ul>
 *   <li>length below 16 → BAD_FRAME_LENGTH, above the max → FRAME_TOO_LARGE: framing is lost, the
 *       decoder discards everything after and the handler closes the connection;
 *   <li>an opcode not defined for this direction → UNKNOWN_OPCODE, after skipping its body without
 *       buffering it (the connection stays usable);
 *   <li>an undefined flag, a non-zero reserved field or a body not matching the opcode's layout →
 *       MALFORMED_FRAME (the connection stays usable).
 * </ul>
 *
 * <p>If the stream ends inside a frame, a final {@link InvalidFrame} reports the truncation.
 */
public final class FrameDecoder extends ByteToMessageDecoder {

  /** Where the decoder is in the stream. */
  enum State {
    /** Waiting for the 16 bytes of a frame header. */
    READ_HEADER,
    /** Header accepted; waiting for the whole frame. */
    READ_BODY,
    /** Unknown opcode; discarding the body as it arrives. */
    SKIP_BODY,
    /** Framing lost; discarding all input until the connection closes. */
    DISCARD
  }

  private final boolean acceptRequests;
  private final int maxFrameLength;

  private State state = State.READ_HEADER;
  private int frameLength;
  private long bytesToSkip;
  private InvalidFrame skipped;

  private FrameDecoder(boolean acceptRequests, int maxFrameLength) {
    if (maxFrameLength < FrameDescriptor.MIN_MAX_FRAME_LENGTH) {
      throw new IllegalArgumentException(
          "max frame length " + maxFrameLength + " is below " + FrameDescriptor.MIN_MAX_FRAME_LENGTH);
    }
    this.acceptRequests = acceptRequests;
    this.maxFrameLength = maxFrameLength;
  }

  /** A decoder for the daemon side: accepts request opcodes. */
  public static FrameDecoder forDaemon(int maxFrameLength) {
    return new FrameDecoder(true, maxFrameLength);
  }

  /** A decoder for the client side: accepts response opcodes. */
  public static FrameDecoder forClient(int maxFrameLength) {
    return new FrameDecoder(false, maxFrameLength);
  }

  /** The decoder's current state (for tests and diagnostics). */
  State state() {
    return state;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    while (true) {
      switch (state) {
        case READ_HEADER:
          if (!readHeader(in, out)) {
            return;
          }
          break;
        case READ_BODY:
          if (in.readableBytes() < frameLength) {
            return;
          }
          readFrame(in, out);
          break;
        case SKIP_BODY:
          int skip = (int) Math.min(in.readableBytes(), bytesToSkip);
          in.skipBytes(skip);
          bytesToSkip -= skip;
          if (bytesToSkip > 0) {
            return;
          }
          out.add(skipped);
          skipped = null;
          state = State.READ_HEADER;
          break;
        case DISCARD:
          in.skipBytes(in.readableBytes());
          return;
        default:
          throw new IllegalStateException("unknown state " + state);
      }
    }
  }

  /** Returns false when more bytes are needed. */
  private boolean readHeader(ByteBuf in, List<Object> out) {
    if (in.readableBytes() < FrameDescriptor.HEADER_LENGTH) {
      return false;
    }
    int index = in.readerIndex();
    long length = FrameDescriptor.frameLength(in, index);
    int opcode = FrameDescriptor.opcode(in, index);
    long requestId = FrameDescriptor.requestId(in, index);
    if (length < FrameDescriptor.HEADER_LENGTH) {
      fail(in, out, new InvalidFrame(requestId, opcode, ErrorCode.BAD_FRAME_LENGTH,
          "frame length " + length + " is below the 16-byte header", true));
      return false;
    }
    if (length > maxFrameLength) {
      fail(in, out, new InvalidFrame(requestId, opcode, ErrorCode.FRAME_TOO_LARGE,
          "frame length " + length + " exceeds the max frame length " + maxFrameLength, true));
      return false;
    }
    boolean known = acceptRequests ? Opcode.isRequest(opcode) : Opcode.isResponse(opcode);
    if (!known) {
      skipped = new InvalidFrame(requestId, opcode, ErrorCode.UNKNOWN_OPCODE,
          "opcode " + Opcode.name(opcode) + " is not a "
              + (acceptRequests ? "request" : "response") + " opcode",
          false);
      bytesToSkip = length;
      state = State.SKIP_BODY;
      return true;
    }
    frameLength = (int) length;
    state = State.READ_BODY;
    return true;
  }

  private void readFrame(ByteBuf in, List<Object> out) {
    int index = in.readerIndex();
    String problem = checkFrame(in, index, frameLength);
    if (problem == null) {
      out.add(in.readRetainedSlice(frameLength));
    } else {
      out.add(new InvalidFrame(FrameDescriptor.requestId(in, index),
          FrameDescriptor.opcode(in, index), ErrorCode.MALFORMED_FRAME, problem, false));
      in.skipBytes(frameLength);
    }
    state = State.READ_HEADER;
  }

  private void fail(ByteBuf in, List<Object> out, InvalidFrame invalid) {
    out.add(invalid);
    in.skipBytes(in.readableBytes());
    state = State.DISCARD;
  }

  @Override
  protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    decode(ctx, in, out);
    boolean midFrame =
        (state == State.READ_HEADER && in.isReadable())
            || state == State.READ_BODY
            || state == State.SKIP_BODY;
    if (midFrame) {
      long requestId = in.readableBytes() >= FrameDescriptor.HEADER_LENGTH
          ? FrameDescriptor.requestId(in, in.readerIndex()) : FrameDescriptor.CONNECTION_REQUEST_ID;
      out.add(new InvalidFrame(requestId, -1, ErrorCode.MALFORMED_FRAME,
          "stream ended inside a frame with " + in.readableBytes() + " bytes left over", true));
      in.skipBytes(in.readableBytes());
      state = State.DISCARD;
    }
  }

  /**
   * Checks the flags, the reserved field and the body layout of a complete frame whose opcode is
   * known; returns null when it is well formed, or what is wrong.
   */
  static String checkFrame(ByteBuf buf, int index, int length) {
    int opcode = FrameDescriptor.opcode(buf, index);
    int flags = FrameDescriptor.flags(buf, index);
    if ((flags & ~Opcode.definedFlags(opcode)) != 0) {
      return String.format("flags 0x%02X are not defined for %s", flags, Opcode.name(opcode));
    }
    if (FrameDescriptor.reserved(buf, index) != 0) {
      return "frame header reserved field is not 0";
    }
    switch (opcode) {
      case Opcode.HELLO:
        return HelloFlyweight.check(buf, index, length);
      case Opcode.PING:
      case Opcode.PONG:
        return PingFlyweight.check(buf, index, length, opcode);
      case Opcode.LOOKUP:
      case Opcode.GET:
      case Opcode.PREFETCH:
      case Opcode.DELETE:
        return KeyBatchFlyweight.check(buf, index, length, opcode);
      case Opcode.PUT:
        return PutFlyweight.check(buf, index, length);
      case Opcode.STATS:
      case Opcode.STATS_OK:
        return StatsFlyweight.check(buf, index, length, opcode);
      case Opcode.HELLO_OK:
        return HelloOkFlyweight.check(buf, index, length);
      case Opcode.LOOKUP_OK:
        return LookupOkFlyweight.check(buf, index, length);
      case Opcode.GET_PAGE:
        return GetPageFlyweight.check(buf, index, length);
      case Opcode.GET_DONE:
      case Opcode.DELETE_OK:
        return BatchDoneFlyweight.check(buf, index, length, opcode);
      case Opcode.PUT_OK:
        return PutOkFlyweight.check(buf, index, length);
      case Opcode.PREFETCH_OK:
        return PrefetchOkFlyweight.check(buf, index, length);
      case Opcode.ERROR:
        return ErrorFlyweight.check(buf, index, length);
      default:
        return "no layout for opcode " + Opcode.name(opcode);
    }
  }
}
