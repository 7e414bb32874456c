package io.kvstore.client.protocol.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.FrameBufferPool;
import io.kvstore.client.protocol.FrameDecoder;
import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.client.protocol.InvalidFrame;
import io.kvstore.client.protocol.Opcode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Coverage-guided fuzzing of {@link FrameDecoder} (docs/fuzzing.md): arbitrary byte streams, split
 * into reads in arbitrary ways ({@link FuzzStreams}), through the daemon's and the client's decoder
 * in an {@link EmbeddedChannel}. Without {@code JAZZER_FUZZ} JUnit runs the committed inputs
 * (src/test/resources/.../FrameDecoderFuzzTestInputs/decode/) as regression tests.
 *
 * <p>Oracles, for every input:
 * <ul>
 *   <li>nothing is thrown out of the pipeline;
 *   <li>the output follows the stream's headers (spec/3 §3.1): each frame whose length is 16 to the
 *       max and whose bytes all arrived comes out as exactly those bytes, or as a non-fatal
 *       MALFORMED_FRAME / UNKNOWN_OPCODE for its request id; a length below 16 or above the max
 *       ends decoding with a fatal BAD_FRAME_LENGTH / FRAME_TOO_LARGE; a stream that ends inside a
 *       frame ends with a fatal MALFORMED_FRAME; nothing else comes out;
 *   <li>the output does not depend on how the stream was split into reads;
 *   <li>every buffer is released: the allocator the channel uses (with Netty's leak detector at
 *       PARANOID) holds no memory once the outputs are released and the channel is closed.
 * </ul>
 */
class FrameDecoderFuzzTest {

  static {
    FuzzStreams.leakDetectionParanoidUnlessSet();
  }

  /** Frames (and invalid-frame records) decoded, over every input of this JVM. */
  private static final AtomicLong FRAMES = new AtomicLong();
  private static final AtomicLong INPUTS = new AtomicLong();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> System.err.printf(
        "FrameDecoderFuzzTest: %,d inputs, %,d frames decoded%n", INPUTS.get(), FRAMES.get())));
  }

  /** One decoded message: a frame's bytes or an invalid-frame record. */
  private record Out(byte[] frame, InvalidFrame invalid) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Out other && java.util.Arrays.equals(frame, other.frame)
          && java.util.Objects.equals(invalid, other.invalid);
    }

    @Override
    public int hashCode() {
      return java.util.Arrays.hashCode(frame) * 31 + java.util.Objects.hashCode(invalid);
    }

    @Override
    public String toString() {
      return frame != null ? "frame " + ByteBufUtil.hexDump(frame) : invalid.toString();
    }
  }

  @FuzzTest(maxDuration = "10m")
  void decode(byte[] data) {
    boolean client = FuzzStreams.variant(data);
    // Bit 3 of the control byte (shared with the split parameter) picks the max frame length: the
    // least allowed makes FRAME_TOO_LARGE reachable by small inputs.
    int maxFrame = (FuzzStreams.control(data) & 0x08) != 0
        ? FrameDescriptor.MIN_MAX_FRAME_LENGTH : 1 << 20;
    List<Out> split = run(data, client, maxFrame);
    byte[] whole = data.clone();
    if (whole.length > 0) {
      whole[0] = (byte) (whole[0] & ~0x03); // the same stream in one read
    }
    List<Out> oneRead = run(whole, client, maxFrame);
    assertEquals(oneRead, split, "the output depends on how the stream was split into reads");
    checkAgainstHeaders(FuzzStreams.stream(data), client, maxFrame, split);
    long inputs = INPUTS.incrementAndGet();
    long n = FRAMES.addAndGet(split.size());
    if (Long.bitCount(inputs) == 1 && inputs >= 1 << 12) {
      // Progress for long runs (a fuzzer stopped with Ctrl-C skips the shutdown hook's line).
      System.err.printf("FrameDecoderFuzzTest: %,d inputs, %,d frames decoded%n", inputs, n);
    }
  }

  /** Decodes the input; returns what came out, all buffers released and checked. */
  private static List<Out> run(byte[] data, boolean client, int maxFrame) {
    UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(true, false, false);
    FrameBufferPool pool = new FrameBufferPool(alloc, 4L << 20);
    EmbeddedChannel channel = new EmbeddedChannel(false, false);
    channel.config().setAllocator(alloc);
    FrameDecoder decoder = client
        ? FrameDecoder.forClient(maxFrame, pool) : FrameDecoder.forDaemon(maxFrame, pool);
    channel.pipeline().addLast(decoder);
    List<Out> out = new ArrayList<>();
    try {
      channel.register();
      // Reads as with the daemon's and the SDK's FrameReadAllocator: into the decoder's read
      // target when it lends one.
      FuzzStreams.feed(data, channel, alloc, decoder, () -> drain(channel, out));
      channel.finish();
      drain(channel, out);
    } catch (Exception e) {
      throw new AssertionError("the decoder threw", e);
    } finally {
      channel.finishAndReleaseAll();
      pool.close();
    }
    assertEquals(0, alloc.metric().usedDirectMemory(), "direct memory not released");
    assertEquals(0, alloc.metric().usedHeapMemory(), "heap buffers not released");
    return out;
  }

  private static void drain(EmbeddedChannel channel, List<Out> out) {
    Object m;
    while ((m = channel.readInbound()) != null) {
      if (m instanceof ByteBuf b) {
        try {
          out.add(new Out(ByteBufUtil.getBytes(b), null));
        } finally {
          b.release();
        }
      } else {
        out.add(new Out(null, assertInstanceOf(InvalidFrame.class, m)));
      }
    }
  }

  /** Walks the stream's headers as spec/3 §3.1 reads them and checks each output against them. */
  private static void checkAgainstHeaders(byte[] s, boolean client, int maxFrame, List<Out> out) {
    int at = 0;
    int i = 0;
    while (true) {
      if (s.length - at < FrameDescriptor.HEADER_LENGTH) {
        if (at < s.length) {
          expectFatal(out, i++, ErrorCode.MALFORMED_FRAME, "a stream ending inside a header");
        }
        break;
      }
      long length = FuzzStreams.u32(s, at);
      int opcode = s[at + FrameDescriptor.OPCODE_OFFSET] & 0xFF;
      long requestId = FuzzStreams.i64(s, at + FrameDescriptor.REQUEST_ID_OFFSET);
      if (length < FrameDescriptor.HEADER_LENGTH) {
        expectFatal(out, i++, ErrorCode.BAD_FRAME_LENGTH, "length " + length);
        break;
      }
      if (length > maxFrame) {
        expectFatal(out, i++, ErrorCode.FRAME_TOO_LARGE, "length " + length);
        break;
      }
      if (at + length > s.length) {
        expectFatal(out, i++, ErrorCode.MALFORMED_FRAME, "a stream ending inside a frame");
        break;
      }
      assertTrue(i < out.size(), "no output for the frame at byte " + at);
      Out o = out.get(i++);
      boolean known = client ? Opcode.isResponse(opcode) : Opcode.isRequest(opcode);
      if (o.frame() != null) {
        assertTrue(known, "a frame of opcode " + opcode + " came out for the wrong direction");
        assertArrayEquals(java.util.Arrays.copyOfRange(s, at, at + (int) length), o.frame(),
            "frame at byte " + at);
      } else {
        InvalidFrame f = o.invalid();
        assertFalse(f.closeConnection(), "a whole frame closed the connection: " + f);
        assertEquals(requestId, f.requestId(), f.toString());
        assertEquals(known ? ErrorCode.MALFORMED_FRAME : ErrorCode.UNKNOWN_OPCODE, f.errorCode(),
            f.toString());
      }
      at += (int) length;
    }
    assertEquals(i, out.size(), "output after the stream's last frame: " + out.subList(i, out.size()));
  }

  private static void expectFatal(List<Out> out, int i, int code, String why) {
    assertTrue(i < out.size(), "no error for " + why);
    InvalidFrame f = out.get(i).invalid();
    assertTrue(f != null && f.errorCode() == code && f.closeConnection(),
        "expected a fatal " + ErrorCode.name(code) + " for " + why + ", got " + out.get(i));
  }
}
