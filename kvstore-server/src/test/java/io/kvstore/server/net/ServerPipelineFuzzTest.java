package io.kvstore.server.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.kvstore.client.protocol.FrameDecoder;
import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.client.protocol.HelloFlyweight;
import io.kvstore.client.protocol.InvalidFrame;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.core.store.TieredStore;
import io.kvstore.server.config.AuthGrant;
import io.kvstore.server.config.AuthGrants;
import io.kvstore.server.config.ServerConfig;
import io.kvstore.server.metrics.ServerMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ResourceLeakDetector;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Coverage-guided fuzzing of the daemon's connection pipeline ({@link KvStoreServerInitializer}:
 * frame decoder, flow control, handshake, requests) over a real in-memory {@link TieredStore}, in
 * an {@link EmbeddedChannel} (docs/fuzzing.md). Without {@code JAZZER_FUZZ} JUnit runs the
 * committed inputs under {@code ServerPipelineFuzzTestInputs/} as regression tests.
 *
 * <ul>
 *   <li>{@link #handshake}: the input is the whole connection from its first byte (HELLOs, frames
 *       before HELLO, bad tokens, versions, lengths);
 *   <li>{@link #requests}: a valid HELLO with the fuzz token comes first, the input follows (every
 *       verb on an authenticated connection).
 * </ul>
 *
 * The input's first byte says how its stream is split into reads (as in the client's
 * {@code FuzzStreams}: one read, byte by byte, fixed or random chunks). Oracles, for every input:
 * nothing is thrown out of the pipeline; the work an input queues settles within a bound; every
 * byte the daemon writes back is a well-formed response frame (spec/3); every buffer is released
 * (the channel's allocator holds no memory at the end; Netty's leak detector at PARANOID unless
 * the run sets {@code io.netty.leakDetection.level}); and a page stored before fuzzing, in a
 * namespace the fuzz token is not granted, reads back byte for byte.
 *
 * <p>PREFETCH completes on the store's own threads, which an {@code EmbeddedChannel} (one thread
 * by contract) cannot take: the harness turns each PREFETCH header it finds into a LOOKUP (same
 * layout). PREFETCH's own paths are covered by ServerPipelineTest and the socket tests.
 */
class ServerPipelineFuzzTest {

  private static final String TOKEN = "fuzz-token-0123456789abcdef";
  /** The namespace the fuzz token is granted. */
  private static final long NS = 0x00F0220000000001L;
  /** The namespace of the page that must survive: not granted to the token. */
  private static final long OTHER_NS = 0x00F0220000000002L;
  private static final long SENTINEL_HI = 0x5E5E5E5E5E5E5E5EL;
  private static final long SENTINEL_LO = 0x0123456789ABCDEFL;
  /** Rounds of (store tasks, event-loop tasks) one read may need before its work settles. */
  private static final int SETTLE_ROUNDS = 10_000;

  private static final AtomicLong INPUTS = new AtomicLong();
  private static final AtomicLong FRAMES = new AtomicLong();
  private static final Fixture FIXTURE = new Fixture();

  static {
    if (System.getProperty("io.netty.leakDetection.level") == null) {
      ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      System.err.printf("ServerPipelineFuzzTest: %,d inputs, %,d frames fed%n", INPUTS.get(),
          FRAMES.get());
      FIXTURE.store.close();
    }));
  }

  /** The store, shared by every input (built once: opening a store per input would dominate). */
  private static final class Fixture {
    final TieredStore store = TieredStore.builder().maxPageBytes(NetFixtures.MAX_PAGE).hotBytes(0)
        .dramBytes(8L << 20).ssdBytes(0).prefetchThreads(1).build();
    // Shared memory off: a context per input must not create a run lock and region files per input
    // (SHM_* requests are answered SHM_UNAVAILABLE; SharedMemory*E2ETest cover the regions).
    final ServerConfig config = NetFixtures.config().shmRegionBytes(0)
        .authGrants(AuthGrants.of(List.of(AuthGrant.parse("fuzz", TOKEN + ":" + Long.toHexString(NS)))))
        .build();
    final ServerMetrics metrics = NetFixtures.metrics();
    final byte[] sentinel = NetFixtures.bytes(NetFixtures.page(SENTINEL_HI, SENTINEL_LO, OTHER_NS, 4000));
    final ByteBuffer readBack = ByteBuffer.allocateDirect(sentinel.length);

    Fixture() {
      if (!store.put(ByteBuffer.wrap(sentinel))) {
        throw new IllegalStateException("the sentinel page was not stored");
      }
    }

    /** Reads the sentinel back (which also keeps it the most recently used page). */
    void checkSentinel() {
      readBack.clear();
      int n = store.get(SENTINEL_HI, SENTINEL_LO, readBack);
      assertEquals(sentinel.length, n, "the page stored before fuzzing is gone");
      byte[] got = new byte[n];
      readBack.flip().get(got);
      assertTrue(java.util.Arrays.equals(sentinel, got), "the page stored before fuzzing changed");
    }
  }

  @FuzzTest(maxDuration = "10m")
  void handshake(byte[] data) {
    run(data, false);
  }

  @FuzzTest(maxDuration = "10m")
  void requests(byte[] data) {
    run(data, true);
  }

  private static void run(byte[] data, boolean helloFirst) {
    UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(true, false, false);
    ArrayDeque<Runnable> storeTasks = new ArrayDeque<>();
    Executor executor = storeTasks::add;
    // A context per input, as a fresh daemon: nothing one input does carries over to the next but
    // the store's contents. Its frame buffer pool lends only for frames of 1 MiB and up, which
    // inputs of this size never reach, so it holds nothing to close.
    ServerContext context = new ServerContext(FIXTURE.config, StoreOps.of(FIXTURE.store), FIXTURE.metrics,
        new NetCounters(), executor);
    EmbeddedChannel channel = new EmbeddedChannel(false, false);
    channel.config().setAllocator(alloc);
    channel.pipeline().addLast(new KvStoreServerInitializer(context));
    ByteArrayOutputStream responses = new ByteArrayOutputStream();
    byte[] stream = withoutPrefetch(data);
    try {
      channel.register();
      Runnable settle = () -> settle(channel, storeTasks, responses);
      if (helloFirst) {
        channel.writeInbound(HelloFlyweight.encode(alloc, 1, 1, 1, 64 << 20, NS,
            TOKEN.getBytes(StandardCharsets.US_ASCII)));
        settle.run();
        assertTrue(responses.size() > 4 && (responses.toByteArray()[4] & 0xFF) == Opcode.HELLO_OK,
            "the fuzz HELLO was not accepted");
      }
      feed(stream, data.length == 0 ? 0 : data[0] & 0xFF, channel, alloc, settle);
      channel.close();
      settle.run();
    } catch (Exception e) {
      throw new AssertionError("the pipeline threw", e);
    } finally {
      channel.finishAndReleaseAll();
      settleQuietly(storeTasks);
    }
    checkResponses(responses.toByteArray());
    assertEquals(0, alloc.metric().usedDirectMemory(), "direct memory not released");
    assertEquals(0, alloc.metric().usedHeapMemory(), "heap buffers not released");
    FIXTURE.checkSentinel();
    long inputs = INPUTS.incrementAndGet();
    long frames = FRAMES.addAndGet(countFrames(stream));
    if (Long.bitCount(inputs) == 1 && inputs >= 1 << 12) {
      // Progress for long runs (a fuzzer stopped with Ctrl-C skips the shutdown hook's line).
      System.err.printf("ServerPipelineFuzzTest: %,d inputs, %,d frames fed%n", inputs, frames);
    }
  }

  /** The input's stream with every PREFETCH header the walk finds made a LOOKUP (see above). */
  private static byte[] withoutPrefetch(byte[] data) {
    byte[] s = new byte[Math.max(0, data.length - 1)];
    System.arraycopy(data, Math.min(1, data.length), s, 0, s.length);
    int at = 0;
    while (s.length - at >= FrameDescriptor.HEADER_LENGTH) {
      long length = u32(s, at);
      if ((s[at + FrameDescriptor.OPCODE_OFFSET] & 0xFF) == Opcode.PREFETCH) {
        s[at + FrameDescriptor.OPCODE_OFFSET] = (byte) Opcode.LOOKUP;
      }
      if (length < FrameDescriptor.HEADER_LENGTH) {
        break;
      }
      at += (int) Math.min(length, s.length);
    }
    return s;
  }

  /** Whole frames in the stream, as the headers say (frames that reached the daemon whole). */
  private static long countFrames(byte[] s) {
    long frames = 0;
    int at = 0;
    while (s.length - at >= FrameDescriptor.HEADER_LENGTH) {
      long length = u32(s, at);
      if (length < FrameDescriptor.HEADER_LENGTH || at + length > s.length) {
        break;
      }
      frames++;
      at += (int) length;
    }
    return frames;
  }

  /** Splits the stream into reads as the control byte says; settles after each read. */
  private static void feed(byte[] s, int control, EmbeddedChannel channel,
      UnpooledByteBufAllocator alloc, Runnable settle) {
    int param = control >>> 3;
    SplittableRandom random = new SplittableRandom(param);
    int at = 0;
    while (at < s.length && channel.isOpen()) {
      int n = switch (control & 0x03) {
        case 0 -> s.length - at;
        case 1 -> 1;
        case 2 -> param + 1;
        default -> 1 + random.nextInt(64);
      };
      n = Math.min(n, s.length - at);
      ByteBuf read = alloc.buffer(n);
      read.writeBytes(s, at, n);
      channel.writeInbound(read);
      at += n;
      settle.run();
    }
  }

  /** Runs queued store tasks and event-loop tasks until none are left; collects the responses. */
  private static void settle(EmbeddedChannel channel, ArrayDeque<Runnable> storeTasks,
      ByteArrayOutputStream responses) {
    for (int round = 0; round < SETTLE_ROUNDS; round++) {
      Runnable task;
      boolean ran = false;
      while ((task = storeTasks.poll()) != null) {
        task.run();
        ran = true;
      }
      channel.runPendingTasks();
      Object out;
      while ((out = channel.readOutbound()) != null) {
        ran = true;
        ByteBuf b = (ByteBuf) out;
        try {
          responses.writeBytes(ByteBufUtil.getBytes(b));
        } finally {
          b.release();
        }
      }
      if (!ran && storeTasks.isEmpty()) {
        return;
      }
    }
    throw new AssertionError("the work of one read did not settle in " + SETTLE_ROUNDS + " rounds");
  }

  /** Runs store tasks left after the channel closed (they must cope with a closed channel). */
  private static void settleQuietly(ArrayDeque<Runnable> storeTasks) {
    for (int round = 0; round < SETTLE_ROUNDS && !storeTasks.isEmpty(); round++) {
      storeTasks.poll().run();
    }
  }

  /** Every byte written back must be whole, well-formed response frames. */
  private static void checkResponses(byte[] bytes) {
    EmbeddedChannel decoder = new EmbeddedChannel(FrameDecoder.forClient(Integer.MAX_VALUE - 8));
    try {
      decoder.writeInbound(Unpooled.wrappedBuffer(bytes));
      decoder.finish();
      Object m;
      while ((m = decoder.readInbound()) != null) {
        if (m instanceof InvalidFrame f) {
          throw new AssertionError("the daemon wrote a bad response frame: " + f + "; responses: "
              + ByteBufUtil.hexDump(bytes, 0, Math.min(bytes.length, 512)));
        }
        ((ByteBuf) m).release();
      }
    } finally {
      decoder.finishAndReleaseAll();
    }
  }

  private static long u32(byte[] b, int at) {
    return (b[at] & 0xFFL) | (b[at + 1] & 0xFFL) << 8 | (b[at + 2] & 0xFFL) << 16
        | (b[at + 3] & 0xFFL) << 24;
  }
}
