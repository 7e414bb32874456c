package io.kvstore.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.client.protocol.Opcode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelFuture;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The SDK's backstops for a fault in mapped memory that the JVM raises ({@link InternalError})
 * past the encode's own handling ({@code ClientHandler#write}, {@code SyncConnection#call}): only
 * that request fails, with SHM_UNAVAILABLE, and the connection goes on serving the next one. No
 * region is needed to reach them: the request's encode throws the error as the JVM would.
 */
class EncodeFaultBackstopTest extends FakeDaemonTestBase {

  private static final long NAMESPACE = 0x5EED_0000_0000_0003L;
  private static final long TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);

  /** A request whose encode meets a fault, as a copy from a truncated region file would. */
  private static final class FaultingRequest extends PendingRequest<Long> {
    final AtomicInteger encodes = new AtomicInteger();

    FaultingRequest() {
      super(Opcode.PING, TIMEOUT_NANOS);
    }

    @Override
    ByteBuf encode(ByteBufAllocator alloc, long requestId) {
      encodes.incrementAndGet();
      throw new InternalError(
          "a fault occurred in a recent unsafe memory access operation in compiled Java code");
    }

    @Override
    long inFlightBytes() {
      return 0;
    }

    @Override
    boolean onFrame(ByteBuf frame, int opcode, ResponseFlyweights fw) {
      throw new AssertionError("never sent, so never answered");
    }
  }

  private static void assertFailedWithShmUnavailable(PendingRequest<?> request) {
    assertTrue(request.future.isCompletedExceptionally(), "the request failed");
    CompletionException thrown = assertThrows(CompletionException.class, request.future::join);
    KvStoreException failure = assertInstanceOf(KvStoreException.class, thrown.getCause());
    assertEquals(ErrorCode.SHM_UNAVAILABLE, failure.code(), failure.getMessage());
    assertInstanceOf(InternalError.class, failure.getCause(), "the fault is the cause");
  }

  @Test
  void shouldFailOnlyTheFaultedRequestOnACallerDrivenConnection() {
    SyncConnection c = SyncConnection.open(
        new InetSocketAddress("127.0.0.1", daemon.port()),
        new Requests.Hello(32 << 20, NAMESPACE, new byte[0], TIMEOUT_NANOS),
        UnpooledByteBufAllocator.DEFAULT, 32 << 20, TIMEOUT_NANOS);
    try {
      FaultingRequest faulting = new FaultingRequest();
      c.call(faulting, System.nanoTime() + TIMEOUT_NANOS);
      assertEquals(1, faulting.encodes.get());
      assertFailedWithShmUnavailable(faulting);
      assertTrue(c.isReusable(), "nothing was written: the connection stays usable");

      Requests.Ping ping = new Requests.Ping(TIMEOUT_NANOS);
      c.call(ping, System.nanoTime() + TIMEOUT_NANOS);
      assertTrue(ping.future.join() >= 0, "the next request is answered on the same connection");
      assertEquals(1, daemon.received(Opcode.PING), "only the healthy request reached the daemon");
    } finally {
      c.close();
    }
  }

  @Test
  void shouldFailOnlyTheFaultedRequestOnAPipelinedConnection() {
    ClientHandler handler = new ClientHandler("test", TIMEOUT_NANOS, new AtomicLong());
    EmbeddedChannel channel = new EmbeddedChannel(handler);
    try {
      FaultingRequest faulting = new FaultingRequest();
      ChannelFuture write = channel.writeAndFlush(faulting);
      assertTrue(write.isDone());
      assertFalse(write.isSuccess(), "the write's promise fails too");
      assertFailedWithShmUnavailable(faulting);
      assertSame(faulting.future.handle((v, e) -> e).join(), write.cause(),
          "one failure for the caller and the write");
      assertNull(channel.readOutbound(), "nothing was written for it");
      assertTrue(channel.isActive(), "the connection stays open");

      Requests.Ping ping = new Requests.Ping(TIMEOUT_NANOS);
      assertTrue(channel.writeAndFlush(ping).isSuccess());
      ByteBuf sent = channel.readOutbound();
      assertNotNull(sent, "the next request is written");
      try {
        assertEquals(Opcode.PING, FrameDescriptor.opcode(sent, sent.readerIndex()));
      } finally {
        sent.release();
      }
      assertFalse(ping.future.isDone(), "and waits for its answer");
    } finally {
      channel.finishAndReleaseAll();
    }
  }
}
