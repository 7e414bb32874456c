package io.kvstore.client.protocol;

import io.kvstore.client.shm.ShmFrames;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
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
 *
 * <h2>Accumulating large frames</h2>
 *
 * Netty's default cumulator grows the buffer a frame accumulates in by doubling up to 4 MiB and by 4
 * MiB steps beyond, copying everything received so far at each step. {@link #cumulate} grows it
 * too, but never past what has actually arrived: each step at most doubles the bytes received so
 * far (at least {@link #MIN_GROWTH_BYTES}), and stops at the frame's length (plus {@link
 * #FRAME_SLACK_BYTES}) once that is known. So a header announcing a 64 MiB frame followed by a few
 * bytes costs a few kilobytes, not 64 MiB: memory is never sized from an announced length before
 * the bytes arrive ({@code spec/3-wire-protocol.md} §3.6). Each byte is copied at most about twice
 * (1 + 1/2 + 1/4 ...). With a {@link FrameBufferPool} the large steps are memory already used for
 * an earlier frame, not fresh memory that the kernel must fault in and zero page by page.
 *
 * <p>With a {@link FrameReadAllocator}, socket reads of a frame's body go straight into the room
 * its buffer has left ({@link #readTarget(ByteBufAllocator)}), so the bytes are not copied out of a
 * read buffer; only the growth steps copy. On the client side a frame's buffer is sized for the
 * whole frame once its header is read (the daemon's answers are not the threat §3.6 guards
 * against), so a large page arrives with no copy at all before the SDK copies it into the caller's
 * buffer.
 *
 * <h2>Before the handshake</h2>
 *
 * A daemon-side decoder made with {@link #forDaemon(int, int, FrameBufferPool)} starts with a max
 * frame length of a HELLO ({@link #HANDSHAKE_MAX_FRAME_LENGTH}); a larger announced length is
 * FRAME_TOO_LARGE at once, so an unauthenticated client cannot make the daemon hold more than a
 * HELLO. The handshake raises the limit with {@link #maxFrameLength(int)} once it succeeds.
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

  /**
   * Room left after a large frame in its buffer: the read that completes the frame usually brings
   * the start of the next one too, and with no room for it the whole frame would be copied into a
   * larger buffer. One socket read (64 KiB by default) fits.
   */
  static final int FRAME_SLACK_BYTES = 128 << 10;
  /**
   * Smallest buffer a partial frame is kept in. Small, so that many connections each holding a few
   * kilobytes of a frame hold about that much memory, not a socket read buffer each.
   */
  static final int MIN_GROWTH_BYTES = 4 << 10;
  /**
   * Smallest room in a frame's buffer worth a socket read of its own when the rest of the frame
   * does not fit in it ({@link #readTarget(ByteBufAllocator)}); less than this is left to a plain
   * read and the next growth step.
   */
  static final int MIN_DIRECT_READ_BYTES = 16 << 10;
  /** The largest HELLO frame: its fixed part and the longest token. */
  public static final int HANDSHAKE_MAX_FRAME_LENGTH =
      HelloFlyweight.TOKEN_OFFSET + HelloFlyweight.MAX_TOKEN_LENGTH;

  private final boolean acceptRequests;
  private final FrameBufferPool frameBuffers;
  private int maxFrameLength;
  private boolean handshakeLimit;
  private long framesDecoded;

  /** The slice lent for the socket read under way ({@link #readTarget}), or null. */
  private ByteBuf lentTarget;
  /** The buffer {@link #lentTarget} is a slice of, and where in it. */
  private ByteBuf lentFrom;
  private int lentAt;
  /** A new buffer for a frame, made when {@link #lentTarget} was lent and not yet taken over. */
  private ByteBuf unusedBuffer;

  private State state = State.READ_HEADER;
  private int frameLength;
  private long bytesToSkip;
  private InvalidFrame skipped;

  private FrameDecoder(boolean acceptRequests, int maxFrameLength, FrameBufferPool frameBuffers) {
    checkMaxFrameLength(maxFrameLength);
    this.acceptRequests = acceptRequests;
    this.maxFrameLength = maxFrameLength;
    this.frameBuffers = frameBuffers;
    setCumulator(this::cumulate);
  }

  private static void checkMaxFrameLength(int maxFrameLength) {
    if (maxFrameLength < FrameDescriptor.MIN_MAX_FRAME_LENGTH) {
      throw new IllegalArgumentException(
          "max frame length " + maxFrameLength + " is below " + FrameDescriptor.MIN_MAX_FRAME_LENGTH);
    }
  }

  /**
   * A decoder for the daemon side that accepts only a HELLO-sized frame
   * ({@link #HANDSHAKE_MAX_FRAME_LENGTH}) until {@link #maxFrameLength(int)} raises the limit
   * after the handshake, and accumulates large frames in memory reused from {@code frameBuffers}
   * (may be null).
   *
   * @param maxFrameLength the limit to check now (at least the minimum max frame length); kept
   *     for {@link #maxFrameLength(int)}'s checks only
   */
  public static FrameDecoder forDaemonHandshake(int maxFrameLength, FrameBufferPool frameBuffers) {
    FrameDecoder d = new FrameDecoder(true, maxFrameLength, frameBuffers);
    d.maxFrameLength = HANDSHAKE_MAX_FRAME_LENGTH;
    d.handshakeLimit = true;
    return d;
  }

  /**
   * Sets the max frame length for the frames after the one being decoded (the daemon raises it
   * once the handshake succeeds).
   */
  public void maxFrameLength(int maxFrameLength) {
    checkMaxFrameLength(maxFrameLength);
    this.maxFrameLength = maxFrameLength;
    this.handshakeLimit = false;
  }

  /** The max frame length checked now. */
  public int maxFrameLength() {
    return maxFrameLength;
  }

  /**
   * Bytes received and held here, not yet handed on as a frame: the part of a frame still
   * arriving (the daemon counts them against its request memory budget).
   */
  public int bufferedBytes() {
    return internalBuffer().readableBytes();
  }

  /**
   * Memory held for the bytes not yet handed on: the capacity of the buffer they are in (at most
   * about twice {@link #bufferedBytes()}, see above), 0 when there are none. The daemon counts
   * this against its request memory budget: it is what the partial frame costs.
   */
  public int bufferCapacity() {
    ByteBuf b = internalBuffer();
    return b.isReadable() ? b.capacity() : 0;
  }

  /** Frames (and invalid-frame records) handed on so far; tells a new frame from an old one. */
  public long framesDecoded() {
    return framesDecoded;
  }

  /** A decoder for the daemon side: accepts request opcodes. */
  public static FrameDecoder forDaemon(int maxFrameLength) {
    return new FrameDecoder(true, maxFrameLength, null);
  }

  /**
   * A decoder for the daemon side that accumulates large frames in memory reused from
   * {@code frameBuffers} (shared by the daemon's connections).
   */
  public static FrameDecoder forDaemon(int maxFrameLength, FrameBufferPool frameBuffers) {
    return new FrameDecoder(true, maxFrameLength, frameBuffers);
  }

  /** A decoder for the client side: accepts response opcodes. */
  public static FrameDecoder forClient(int maxFrameLength) {
    return new FrameDecoder(false, maxFrameLength, null);
  }

  /**
   * A decoder for the client side that accumulates large frames in memory reused from
   * {@code frameBuffers} (shared by the client's connections).
   */
  public static FrameDecoder forClient(int maxFrameLength, FrameBufferPool frameBuffers) {
    return new FrameDecoder(false, maxFrameLength, frameBuffers);
  }

  /** The decoder's current state (for tests and diagnostics). */
  State state() {
    return state;
  }

  /**
   * Where the next socket read should put its bytes ({@link FrameReadAllocator}), or null for a
   * plain read buffer. While the body of a frame is arriving:
   *
   * <ul>
   *   <li>if the direct buffer it accumulates in has room for the rest of the frame, or for at
   *       least {@link #MIN_DIRECT_READ_BYTES} of it, that room up to the frame's end: an empty
   *       retained slice starting at the buffer's writer index (a plain read would bring the next
   *       frames too, and they would be copied in behind it);
   *   <li>else, on the client side ({@link #sizesWholeFrames()}), the rest of the frame in a new
   *       buffer sized for all of it, into which the bytes already held (part of one frame) are
   *       moved first: a read that ended inside a frame costs a copy of that part, not of the next
   *       read.
   * </ul>
   *
   * The read then lands where the frame is kept, and {@link #cumulate} takes it in place (moves the
   * writer index) instead of copying it out of a read buffer. The slice never reaches past the
   * frame, so a read cannot bring the start of the next frame into it, and it changes nothing the
   * decoder has handed on. Called on the event loop before each read; the slice is released by the
   * channel (a read that brought nothing) or by {@link #cumulate}.
   */
  public ByteBuf readTarget(ByteBufAllocator alloc) {
    releaseUnusedBuffer();
    lentTarget = null;
    lentFrom = null;
    if (state != State.READ_BODY) {
      return null;
    }
    ByteBuf held = internalBuffer();
    int rest = frameLength - held.readableBytes();
    if (rest <= 0 || held.refCnt() == 0) {
      return null;
    }
    int room = held.capacity() - held.writerIndex();
    if (held.isDirect() && !held.isReadOnly() && (room >= rest || room >= MIN_DIRECT_READ_BYTES)) {
      lentFrom = held;
      lentAt = held.writerIndex();
      lentTarget = held.retainedSlice(lentAt, Math.min(rest, room)).clear();
      return lentTarget;
    }
    if (!sizesWholeFrames() || !held.isReadable()) {
      return null;
    }
    ByteBuf whole = frameBuffer(alloc, frameLength);
    if (!whole.isDirect()) {
      whole.release();
      return null;
    }
    whole.writeBytes(held, held.readerIndex(), held.readableBytes());
    unusedBuffer = whole;
    lentFrom = whole;
    lentAt = whole.writerIndex();
    lentTarget = whole.retainedSlice(lentAt, rest).clear();
    return lentTarget;
  }

  /** Drops a buffer made for a read that brought nothing (the channel released its slice). */
  private void releaseUnusedBuffer() {
    if (unusedBuffer != null) {
      unusedBuffer.release();
      unusedBuffer = null;
    }
  }

  @Override
  protected void handlerRemoved0(ChannelHandlerContext ctx) {
    releaseUnusedBuffer();
  }

  /**
   * Appends the bytes of one read ({@code in}, released here) to the bytes not yet decoded
   * ({@code cumulation}); returns the buffer now holding both. Writes in place when there is room
   * that needs no reallocation; otherwise moves the undecoded bytes into a new buffer large enough
   * for the whole frame being read (or, between frames, grown as Netty grows buffers). A buffer that
   * a decoded frame still shares ({@code refCnt > 1}: a retained slice handed on, perhaps read by
   * another thread) is never reallocated in place, only replaced.
   */
  private ByteBuf cumulate(ByteBufAllocator alloc, ByteBuf cumulation, ByteBuf in) {
    if (in == lentTarget) {
      ByteBuf from = lentFrom;
      lentTarget = null;
      lentFrom = null;
      if (from == unusedBuffer) {
        unusedBuffer = null;
        if (cumulation.readableBytes() == lentAt) {
          // The bytes held were moved to the front of the frame's new buffer when the read was
          // lent, and the read went straight in behind them.
          from.writerIndex(lentAt + in.readableBytes());
          in.release();
          cumulation.release();
          return from;
        }
        from.release(); // the held bytes changed since (not expected): copy as for any read
      } else if (from == cumulation && cumulation.writerIndex() == lentAt) {
        // The socket read went straight into the frame's buffer: the bytes are in place.
        cumulation.writerIndex(lentAt + in.readableBytes());
        in.release();
        return cumulation;
      }
      // The buffer moved since the slice was lent (not expected): copy as for any read.
    }
    if (!cumulation.isReadable() && in.isContiguous()
        && (in.capacity() <= 2L * in.readableBytes() + MIN_GROWTH_BYTES || holdsWholeFrame(in))
        && !(sizesWholeFrames() && startsFrameLongerThan(in))) {
      cumulation.release(); // nothing pending: the read buffer itself holds what there is
      return in;
    }
    try {
      int required = in.readableBytes();
      if (required <= cumulation.maxFastWritableBytes() && !cumulation.isReadOnly()) {
        cumulation.writeBytes(in); // fits the memory it already has: no reallocation
        return cumulation;
      }
      int readable = cumulation.readableBytes();
      long needed = (long) readable + required;
      if (needed > Integer.MAX_VALUE) {
        throw new IllegalStateException("more than 2 GiB of undecoded input");
      }
      long frame = pendingFrameLength(cumulation, in);
      // Grow by what has arrived, never by what a header announces: at most double the bytes
      // held, and no further than the frame's own length once it is known.
      long step = Math.max(2 * needed, MIN_GROWTH_BYTES);
      int capacity;
      if (frame >= needed) {
        // The client sizes a frame's buffer for all of it at once (see sizesWholeFrames).
        capacity = (int) Math.min(Math.min(frame + FRAME_SLACK_BYTES,
            sizesWholeFrames() ? Long.MAX_VALUE : step), Integer.MAX_VALUE);
      } else {
        capacity = (int) Math.min(Math.max(alloc.calculateNewCapacity((int) needed, Integer.MAX_VALUE),
            needed), Math.min(step, Integer.MAX_VALUE));
      }
      ByteBuf grown = frame >= needed ? frameBuffer(alloc, capacity) : alloc.buffer(capacity);
      grown.writeBytes(cumulation, cumulation.readerIndex(), readable);
      grown.writeBytes(in);
      cumulation.release();
      return grown;
    } finally {
      in.release();
    }
  }

  /**
   * Whether a large frame's buffer is sized for the whole frame as soon as its header is read,
   * rather than grown with what arrives: on the client side only. There the frames are answers to
   * the client's own requests from the daemon it chose, bounded by its max frame length; the rule
   * that memory grows only with bytes received protects the daemon from its clients ({@code
   * spec/3-wire-protocol.md} §3.6). Sized at once, the frame's body is read straight into it
   * ({@link #readTarget(ByteBufAllocator)}) and never copied while it arrives.
   */
  private boolean sizesWholeFrames() {
    return !acceptRequests;
  }

  /**
   * Whether {@code in}, the first bytes held, starts with the header of a frame (within the max
   * length) that will not fit in {@code in}'s own memory: then it is not kept as the buffer the
   * frame accumulates in.
   */
  private boolean startsFrameLongerThan(ByteBuf in) {
    if (state != State.READ_HEADER || in.readableBytes() < FrameDescriptor.HEADER_LENGTH) {
      return false;
    }
    long length = FrameDescriptor.frameLength(in, in.readerIndex());
    return length <= maxFrameLength && in.readerIndex() + length > in.capacity();
  }

  /**
   * Whether {@code in} starts with a whole frame (then its frames are handed on as slices of it and
   * it is not kept for long). A read buffer holding only the start of a frame is copied into a
   * buffer sized for what arrived instead: read buffers are sized for the reads to come (up to 64
   * KiB), and a connection that sent a few bytes of a frame must not pin that much.
   */
  private boolean holdsWholeFrame(ByteBuf in) {
    return state == State.READ_HEADER && in.readableBytes() >= FrameDescriptor.HEADER_LENGTH
        && FrameDescriptor.frameLength(in, in.readerIndex()) <= in.readableBytes();
  }

  /** A buffer for a whole frame: reused memory from the pool when it has some, else fresh. */
  private ByteBuf frameBuffer(ByteBufAllocator alloc, int capacity) {
    ByteBuf lent = frameBuffers == null ? null : frameBuffers.lend(capacity);
    return lent != null ? lent : alloc.buffer(capacity);
  }

  /**
   * Length of the frame whose start is first among the undecoded bytes, when its header is known
   * and within the max frame length; 0 otherwise (then the buffer grows as Netty grows buffers).
   */
  private long pendingFrameLength(ByteBuf cumulation, ByteBuf in) {
    if (state == State.READ_BODY) {
      return frameLength;
    }
    if (state != State.READ_HEADER) {
      return 0;
    }
    long length;
    if (cumulation.readableBytes() >= FrameDescriptor.HEADER_LENGTH) {
      length = FrameDescriptor.frameLength(cumulation, cumulation.readerIndex());
    } else if (!cumulation.isReadable() && in.readableBytes() >= FrameDescriptor.HEADER_LENGTH) {
      length = FrameDescriptor.frameLength(in, in.readerIndex());
    } else {
      return 0;
    }
    return length <= maxFrameLength ? length : 0;
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
          framesDecoded++;
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
          "frame length " + length + " exceeds the max frame length "
              + (handshakeLimit ? "before HELLO_OK (a HELLO), " : "") + maxFrameLength, true));
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
    framesDecoded++;
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
        return (flags & Opcode.FLAG_PUT_SHM) != 0
            ? ShmFrames.checkPutShm(buf, index, length)
            : PutFlyweight.check(buf, index, length);
      case Opcode.STATS:
      case Opcode.STATS_OK:
        return StatsFlyweight.check(buf, index, length, opcode);
      case Opcode.HELLO_OK:
        return HelloOkFlyweight.check(buf, index, length);
      case Opcode.LOOKUP_OK:
        return LookupOkFlyweight.check(buf, index, length);
      case Opcode.GET_PAGE:
        return (flags & Opcode.FLAG_GET_PAGE_SHM) != 0
            ? ShmFrames.checkGetPageShm(buf, index, length)
            : GetPageFlyweight.check(buf, index, length);
      case Opcode.GET_DONE:
      case Opcode.DELETE_OK:
        return BatchDoneFlyweight.check(buf, index, length, opcode);
      case Opcode.PUT_OK:
        return PutOkFlyweight.check(buf, index, length);
      case Opcode.PREFETCH_OK:
        return PrefetchOkFlyweight.check(buf, index, length);
      case Opcode.ERROR:
        return ErrorFlyweight.check(buf, index, length);
      case Opcode.SHM_OPEN:
      case Opcode.SHM_OPEN_OK:
      case Opcode.SHM_ATTACH:
      case Opcode.SHM_ATTACH_OK:
      case Opcode.SHM_RELEASE:
      case Opcode.SHM_RELEASE_OK:
        return ShmFrames.check(buf, index, length, opcode);
      default:
        return "no layout for opcode " + Opcode.name(opcode);
    }
  }
}
