package io.kvstore.client.protocol.fuzz;

import io.kvstore.client.protocol.FrameDecoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ResourceLeakDetector;
import java.util.SplittableRandom;

/**
 * How a fuzz input becomes reads on a channel. The input's first byte is the control byte, the rest
 * the byte stream: the same stream can arrive in one read, byte by byte, in chunks of a fixed size
 * or in random chunks, so the fuzzer explores how frames straddle reads as well as what they hold.
 *
 * <pre>
 *   control byte:  bits 0-1  split: 0 one read, 1 byte by byte, 2 chunks of (bits 3-7) + 1 bytes,
 *                            3 random chunks of 1 to 64 bytes (seeded by bits 3-7)
 *                  bit  2    direction or variant, chosen by each fuzz test
 *                  bits 3-7  split parameter
 * </pre>
 */
public final class FuzzStreams {

  private FuzzStreams() {}

  /**
   * Netty's leak detector at PARANOID (every buffer tracked), unless the run chose a level with
   * {@code -Dio.netty.leakDetection.level}: long fuzzing runs turn it off for speed and keep the
   * exact check of the allocator's memory, which catches the same leaks per input.
   */
  public static void leakDetectionParanoidUnlessSet() {
    if (System.getProperty("io.netty.leakDetection.level") == null) {
      ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    }
  }

  /** The control byte of {@code data} (0 for an empty input). */
  public static int control(byte[] data) {
    return data.length == 0 ? 0 : data[0] & 0xFF;
  }

  /** Bit 2 of the control byte. */
  public static boolean variant(byte[] data) {
    return (control(data) & 0x04) != 0;
  }

  /** Length of the byte stream. */
  public static int streamLength(byte[] data) {
    return Math.max(0, data.length - 1);
  }

  /**
   * Writes the stream of {@code data} into {@code channel} as the control byte says, each read a
   * buffer from {@code alloc}; after each read, {@code afterRead} runs (to drain work the read
   * queued).
   */
  public static void feed(byte[] data, EmbeddedChannel channel, ByteBufAllocator alloc,
      Runnable afterRead) {
    feed(data, channel, alloc, null, afterRead);
  }

  /**
   * {@link #feed(byte[], EmbeddedChannel, ByteBufAllocator, Runnable)} as a channel with a {@link
   * io.kvstore.client.protocol.FrameReadAllocator} reads: before each read {@code decoder} is asked
   * for a read target; when it lends one, the read goes into it (at most as many bytes as it has
   * room for). One lent read in eight (seeded like the split) first brings nothing: the target is
   * released unread, as the channel does when a read gets no bytes.
   */
  public static void feed(byte[] data, EmbeddedChannel channel, ByteBufAllocator alloc,
      FrameDecoder decoder, Runnable afterRead) {
    int control = control(data);
    int param = control >>> 3;
    SplittableRandom random = new SplittableRandom(param);
    int at = 1;
    while (at < data.length && channel.isOpen()) {
      int n = switch (control & 0x03) {
        case 0 -> data.length - at;
        case 1 -> 1;
        case 2 -> param + 1;
        default -> 1 + random.nextInt(64);
      };
      n = Math.min(n, data.length - at);
      ByteBuf read = decoder == null ? null : decoder.readTarget(alloc);
      if (read != null && random.nextInt(8) == 0) {
        read.release(); // a read that brought nothing; the next one asks again
        read = decoder.readTarget(alloc);
      }
      if (read != null) {
        n = Math.min(n, read.writableBytes());
      } else {
        read = alloc.buffer(n);
      }
      read.writeBytes(data, at, n);
      channel.writeInbound(read);
      at += n;
      afterRead.run();
    }
  }

  /** {@code data}'s stream as one byte array. */
  public static byte[] stream(byte[] data) {
    byte[] s = new byte[streamLength(data)];
    System.arraycopy(data, Math.min(1, data.length), s, 0, s.length);
    return s;
  }

  /** Unsigned 32-bit little-endian at {@code at}. */
  public static long u32(byte[] b, int at) {
    return (b[at] & 0xFFL) | (b[at + 1] & 0xFFL) << 8 | (b[at + 2] & 0xFFL) << 16
        | (b[at + 3] & 0xFFL) << 24;
  }

  /** Signed 64-bit little-endian at {@code at}. */
  public static long i64(byte[] b, int at) {
    return u32(b, at) | u32(b, at + 4) << 32;
  }
}
