package io.kvstore.server.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.client.protocol.HelloFlyweight;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.core.store.TieredStore;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.helpers.NOPLogger;

/**
 * The daemon-wide request memory budget: what each connection holds is counted as it arrives and
 * returned when answered or closed; a connection holding more than the reserve stops reading while
 * the budget is spent and resumes when it is freed. Also the bounded helpers of the attack paths
 * (auth throttle, rate-limited log lines). Runs the real pipeline in {@link EmbeddedChannel}s.
 */
class RequestBudgetTest {

  private static final long NS = 0xB4D6E7L;
  private static final long BUDGET = 1 << 20;

  private final List<EmbeddedChannel> channels = new ArrayList<>();
  private TieredStore store;
  private ServerContext context;

  private ServerContext context(long budget) {
    store = TieredStore.builder().maxPageBytes(NetFixtures.MAX_PAGE).hotBytes(0)
        .dramBytes(8L << 20).ssdBytes(0).build();
    context = new ServerContext(NetFixtures.config().requestMemoryBytes(budget).build(),
        StoreOps.of(store), NetFixtures.metrics(), new NetCounters(), Runnable::run);
    return context;
  }

  private EmbeddedChannel connect() {
    EmbeddedChannel ch = new EmbeddedChannel(new KvStoreServerInitializer(context));
    channels.add(ch);
    ch.writeInbound(HelloFlyweight.encode(UnpooledByteBufAllocator.DEFAULT, 1, 1, 1, 64 << 20, NS,
        new byte[0]));
    ByteBuf ok = ch.readOutbound();
    assertEquals(Opcode.HELLO_OK, FrameDescriptor.opcode(ok, ok.readerIndex()));
    ok.release();
    return ch;
  }

  @AfterEach
  void close() {
    for (EmbeddedChannel ch : channels) {
      ch.finishAndReleaseAll();
    }
    if (store != null) {
      store.close();
    }
  }

  private static ByteBuf header(int length, int opcode, long requestId) {
    ByteBuffer b = ByteBuffer.allocate(FrameDescriptor.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(length).put((byte) opcode).put((byte) 0).putShort((short) 0).putLong(requestId);
    return Unpooled.wrappedBuffer(b.array());
  }

  @Test
  void shouldCountTheBytesOfAFrameAsTheyArriveNotAsAnnounced() {
    context(BUDGET);
    EmbeddedChannel ch = connect();
    ch.writeInbound(header(64 << 20, Opcode.PUT, 2));
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[10_000]));
    long used = context.budget.used();
    assertTrue(used >= 16 + 10_000 && used <= 2 * (16 + 10_000) + (4 << 10),
        "the memory of what arrived, not the 64 MiB announced: " + used);
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[50_000]));
    used = context.budget.used();
    assertTrue(used >= 16 + 60_000 && used <= 2 * (16 + 60_000) + (4 << 10), "used " + used);
    ch.close();
    assertEquals(0, context.budget.used(), "returned when the connection closes");
  }

  @Test
  void shouldStopReadingAConnectionAboveTheReserveWhileTheBudgetIsSpentAndResumeWhenFreed() {
    context(BUDGET);
    EmbeddedChannel big = connect();
    EmbeddedChannel other = connect();
    EmbeddedChannel small = connect();
    big.writeInbound(header(1 << 20, Opcode.PUT, 2));
    big.writeInbound(Unpooled.wrappedBuffer(new byte[300_000]));
    assertTrue(big.config().isAutoRead(), "within the budget: " + context.budget.used());
    other.writeInbound(header(1 << 20, Opcode.PUT, 2));
    other.writeInbound(Unpooled.wrappedBuffer(new byte[300_000]));
    assertTrue(context.budget.exhausted());
    assertFalse(other.config().isAutoRead(), "the connection that spent the budget waits");
    assertEquals(1, context.counters.budgetWaits());
    // A connection holding less than the reserve is still served: a PING is answered.
    small.writeInbound(Unpooled.wrappedBuffer(io.kvstore.client.protocol.PingFlyweight.encode(
        UnpooledByteBufAllocator.DEFAULT, Opcode.PING, 9, 9)));
    ByteBuf pong = small.readOutbound();
    assertEquals(Opcode.PONG, FrameDescriptor.opcode(pong, pong.readerIndex()));
    pong.release();

    big.close(); // frees its partial frame: the budget has room again
    other.runPendingTasks();
    assertTrue(other.config().isAutoRead(), "resumed once the budget had room");
    assertTrue(context.budget.used() >= 16 + 300_000 && context.budget.used() < BUDGET,
        "only the other's partial frame: " + context.budget.used());
  }

  @Test
  void shouldReturnTheBytesOfARequestWhenItIsAnswered() {
    context(BUDGET);
    EmbeddedChannel ch = connect();
    ByteBuffer page = NetFixtures.page(1, 1, NS, 50_000);
    ch.writeInbound(io.kvstore.client.protocol.PutFlyweight.encode(UnpooledByteBufAllocator.DEFAULT,
        2, new ByteBuffer[] {page}, 0, 1));
    ByteBuf ok = ch.readOutbound(); // the store executor runs tasks at once here
    assertEquals(Opcode.PUT_OK, FrameDescriptor.opcode(ok, ok.readerIndex()));
    ok.release();
    assertEquals(0, context.budget.used());
  }

  @Test
  void shouldWakeAWaiterAtOnceIfTheBudgetWasFreedBeforeItWaited() {
    RequestBudget budget = new RequestBudget(100);
    AtomicInteger woken = new AtomicInteger();
    budget.add(150);
    budget.add(-60);
    budget.await(woken::incrementAndGet);
    assertEquals(1, woken.get());
    budget.add(50);
    budget.await(woken::incrementAndGet);
    assertEquals(1, woken.get(), "still spent: waits");
    assertEquals(1, budget.waiting());
    budget.add(-40);
    assertEquals(2, woken.get());
    assertEquals(0, budget.waiting());
  }

  @Test
  void shouldGrowTheFailedHelloDelayPerAddressAndForgetAddressesBeyondTheBound() throws Exception {
    AuthThrottle throttle = new AuthThrottle();
    InetAddress a = InetAddress.getByAddress(new byte[] {10, 0, 0, 1});
    long now = 1_000_000_000L;
    assertEquals(0, throttle.delayMillis(a, now));
    throttle.failed(a, now);
    assertEquals(AuthThrottle.BASE_DELAY_MILLIS, throttle.delayMillis(a, now));
    throttle.failed(a, now);
    assertEquals(2 * AuthThrottle.BASE_DELAY_MILLIS, throttle.delayMillis(a, now));
    for (int i = 0; i < 30; i++) {
      throttle.failed(a, now);
    }
    assertEquals(AuthThrottle.MAX_DELAY_MILLIS, throttle.delayMillis(a, now));
    assertEquals(0, throttle.delayMillis(a, now + AuthThrottle.FORGET_AFTER_NANOS + 1));
    throttle.failed(a, now);
    throttle.succeeded(a);
    assertEquals(0, throttle.delayMillis(a, now));
    for (int i = 0; i < AuthThrottle.MAX_ADDRESSES + 100; i++) {
      throttle.failed(InetAddress.getByAddress(new byte[] {11, (byte) (i >> 16), (byte) (i >> 8),
          (byte) i}), now);
    }
    assertEquals(AuthThrottle.MAX_ADDRESSES, throttle.addresses(), "bounded memory");
  }

  @Test
  void shouldWriteOneLineOfAKindPerIntervalAndCountTheRest() {
    RateLimitedLog log = new RateLimitedLog(NOPLogger.NOP_LOGGER, 60_000_000_000L);
    assertTrue(log.warn("refused {} {}", 1, 2));
    for (int i = 0; i < 5; i++) {
      assertFalse(log.warn("refused {} {}", 1, 2));
    }
    assertEquals(5, log.suppressed());
    RateLimitedLog fast = new RateLimitedLog(NOPLogger.NOP_LOGGER, 0);
    assertTrue(fast.warn("a {} {}", 1, 2));
    assertTrue(fast.warn("a {} {}", 1, 2));
  }
}
