package io.kvstore.server.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.ErrorFlyweight;
import io.kvstore.client.protocol.GetPageFlyweight;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.client.protocol.PutFlyweight;
import io.kvstore.core.store.TieredStore;
import io.kvstore.core.store.TieredStoreBuilder;
import io.kvstore.core.tier.TierKind;
import io.kvstore.server.config.ServerConfig;
import io.kvstore.server.metrics.ServerMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.HexFormat;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon's pipeline ({@link KvStoreServerInitializer}) in an {@link EmbeddedChannel}, fed hex
 * fixtures: the handshake, per-request errors, back-pressure and a full store queue. Store calls
 * run on an executor the test drives by hand.
 */
class ServerPipelineTest {

  private static final HexFormat HEX = HexFormat.of();
  /** HELLO id=1, versions 1..1, client max frame 64 MiB, namespace 0x1122334455667788, no token. */
  private static final String HELLO =
      "24000000" + "01" + "00" + "0000" + "0100000000000000"
          + "0100" + "0100" + "00000004" + "8877665544332211" + "0000" + "0000";
  private static final long NS = 0x1122334455667788L;

  @TempDir Path dir;
  private final ArrayDeque<Runnable> storeTasks = new ArrayDeque<>();
  private boolean rejectStoreTasks;
  private final Executor executor = task -> {
    if (rejectStoreTasks) {
      throw new RejectedExecutionException("full");
    }
    storeTasks.add(task);
  };
  private TieredStore store;
  private ServerMetrics metrics;
  private EmbeddedChannel channel;

  private EmbeddedChannel open(ServerConfig config) {
    return open(config, TieredStore.builder().maxPageBytes(NetFixtures.MAX_PAGE).hotBytes(0)
        .dramBytes(8L << 20).ssdBytes(0));
  }

  private EmbeddedChannel open(ServerConfig config, TieredStoreBuilder storeBuilder) {
    store = storeBuilder.build();
    metrics = NetFixtures.metrics();
    channel = new EmbeddedChannel(new KvStoreServerInitializer(
        new ServerContext(config, StoreOps.of(store), metrics, new NetCounters(), executor)));
    return channel;
  }

  @AfterEach
  void close() {
    if (channel != null) {
      channel.finishAndReleaseAll();
    }
    if (store != null) {
      store.close();
    }
  }

  private void send(String hex) {
    channel.writeInbound(Unpooled.wrappedBuffer(HEX.parseHex(hex)));
  }

  private void send(ByteBuf frame) {
    channel.writeInbound(frame);
  }

  /** The next outbound frame as hex (a composite counts as one frame). */
  private String reply() {
    ByteBuf out = channel.readOutbound();
    if (out == null) {
      return null;
    }
    try {
      return HEX.formatHex(ByteBufUtil.getBytes(out));
    } finally {
      out.release();
    }
  }

  private static String error(long requestId, int code, String message) {
    ByteBuf b = ErrorFlyweight.encode(Unpooled.buffer().alloc(), requestId, code, message);
    try {
      return HEX.formatHex(ByteBufUtil.getBytes(b));
    } finally {
      b.release();
    }
  }

  private void runStoreTasks() {
    Runnable r;
    while ((r = storeTasks.poll()) != null) {
      r.run();
    }
    channel.runPendingTasks();
  }

  @Test
  void shouldAnswerHelloWithTheDaemonLimits() {
    open(NetFixtures.config().build());
    send(HELLO);
    assertEquals("30000000" + "81" + "00" + "0000" + "0100000000000000"
        + "0100" + "0000" // version 1
        + "00000004" // max frame 64 MiB
        + "00000100" // max batch 65,536 (ServerConfig.MAX_BATCH_DEFAULT)
        + "40002000" // max page 2 MiB + 64
        + "0000001000000000" // in flight 256 MiB
        + "0100000000000000", // connection id 1
        reply());
    assertNull(channel.pipeline().get(HandshakeHandler.class), "the handshake stage is gone");
    // PING id=2 -> PONG echoing the 8 bytes.
    send("18000000" + "02" + "00" + "0000" + "0200000000000000" + "efcdab8967452301");
    assertEquals("18000000" + "82" + "00" + "0000" + "0200000000000000" + "efcdab8967452301", reply());
    assertEquals(1, metrics.latency(ServerMetrics.Op.PING).count());
  }

  @Test
  void shouldRefuseAnUnsupportedVersionAndClose() {
    open(NetFixtures.config().build());
    send("24000000" + "01" + "00" + "0000" + "0700000000000000"
        + "0300" + "0400" + "00000004" + "8877665544332211" + "0000" + "0000");
    assertEquals(error(7, ErrorCode.UNSUPPORTED_VERSION,
        "client speaks versions 3 to 4, this daemon 1 to 2"), reply());
    channel.runPendingTasks();
    assertFalse(channel.isOpen());
    assertEquals(1, metrics.errors("UNSUPPORTED_VERSION"));
  }

  @Test
  void shouldRefuseARequestBeforeHelloAndClose() {
    open(NetFixtures.config().build());
    send("18000000" + "02" + "00" + "0000" + "0300000000000000" + "0000000000000000");
    assertEquals(error(3, ErrorCode.NOT_AUTHENTICATED, "expected HELLO first, got PING"), reply());
    channel.runPendingTasks();
    assertFalse(channel.isOpen());
  }

  @Test
  void shouldCloseWhenNoHelloArrivesInTime() {
    open(NetFixtures.config().handshakeTimeoutSeconds(2).build());
    channel.advanceTimeBy(1, TimeUnit.SECONDS);
    channel.runScheduledPendingTasks();
    assertTrue(channel.isOpen());
    channel.advanceTimeBy(2, TimeUnit.SECONDS);
    channel.runScheduledPendingTasks();
    assertEquals(error(0, ErrorCode.TIMEOUT, "no HELLO within 2 s; closing"), reply());
    channel.runPendingTasks();
    assertFalse(channel.isOpen());
  }

  @Test
  void shouldAnswerAnUnknownOpcodeAndKeepServing() {
    open(NetFixtures.config().build());
    send(HELLO);
    reply();
    send("18000000" + "0C" + "00" + "0000" + "0900000000000000" + "0000000000000000");
    assertEquals(error(9, ErrorCode.UNKNOWN_OPCODE, "opcode 0x0C is not a request opcode"), reply());
    send("10000000" + "08" + "00" + "0000" + "0A00000000000000"); // STATS
    String stats = reply();
    assertTrue(stats.startsWith("88", 8), stats);
    assertTrue(channel.isOpen());
  }

  @Test
  void shouldStoreASmallPutOnTheEventLoopWhenTheStoreHasNoSsdTier() {
    open(NetFixtures.config().build());
    send(HELLO);
    reply();
    rejectStoreTasks = true; // the executor is not needed
    ByteBuffer page = NetFixtures.page(1, 7, NS, 6000);
    send(PutFlyweight.encode(Unpooled.buffer().alloc(), 10, new ByteBuffer[] {page}, 0, 1));
    String putOk = reply();
    assertTrue(putOk.startsWith("85", 8), putOk);
    assertTrue(storeTasks.isEmpty());
    assertEquals(6064, store.length(1, 7));
  }

  @Test
  void shouldAnswerOverloadedWhenTheStoreQueueIsFull() {
    open(NetFixtures.config().build());
    send(HELLO);
    reply();
    rejectStoreTasks = true;
    // DELETE id=4 of one key (a store call that may write the SSD: always on the executor).
    send("28000000" + "07" + "00" + "0000" + "0400000000000000" + "01000000" + "00000000"
        + "0100000000000000" + "0200000000000000");
    assertEquals(error(4, ErrorCode.OVERLOADED, "the daemon's store queue is full; retry later"), reply());
    assertTrue(channel.isOpen());
  }

  @Test
  void shouldStopReadingAboveTheInFlightLimitAndResumeBelowHalf() {
    // A store with an SSD tier: its PUTs wait on the (hand-driven) store executor.
    open(NetFixtures.config().maxPageBytes(8192).maxFrameBytes(16384).maxInflightBytes(16384).build(),
        NetFixtures.smallStore(dir));
    send(HELLO);
    reply();
    FlowControlHandler flow = channel.pipeline().get(FlowControlHandler.class);
    for (int i = 0; i < 3; i++) {
      ByteBuffer page = NetFixtures.page(1, i, NS, 6000);
      send(PutFlyweight.encode(Unpooled.buffer().alloc(), 10 + i, new ByteBuffer[] {page}, 0, 1));
    }
    assertEquals(3, storeTasks.size(), "three PUTs queued for the store");
    assertTrue(flow.inFlightBytes() > 16384, "in flight: " + flow.inFlightBytes());
    assertFalse(channel.config().isAutoRead(), "reading stops above the limit");

    runStoreTasks();
    for (int i = 0; i < 3; i++) {
      String putOk = reply();
      assertTrue(putOk.startsWith("85", 8), putOk);
    }
    assertEquals(0, flow.inFlightBytes());
    assertTrue(channel.config().isAutoRead(), "reading resumes below half the limit");
    assertEquals(6064, store.length(1, 2));
  }

  @Test
  void shouldStreamGetPagesThenGetDone() {
    open(NetFixtures.config().build());
    send(HELLO);
    reply();
    ByteBuffer page = NetFixtures.page(5, 6, NS, 100);
    assertTrue(store.put(page.duplicate()));
    // GET id=12 of keys (5,6) and (5,7).
    send("38000000" + "04" + "00" + "0000" + "0c00000000000000" + "02000000" + "00000000"
        + "0500000000000000" + "0600000000000000" + "0500000000000000" + "0700000000000000");
    assertTrue(storeTasks.isEmpty(), "a page in memory and a miss are served on the event loop");
    assertEquals("bc000000" + "c4" + "00" + "0000" + "0c00000000000000" + "00000000" + "00000000"
        + HEX.formatHex(NetFixtures.bytes(page)), reply());
    // GET_DONE: 2 keys, 1 hit, bitmap 0b10 (key 1 missed).
    assertEquals("19000000" + "84" + "00" + "0000" + "0c00000000000000" + "02000000" + "01000000"
        + "02", reply());
  }

  @Test
  void shouldServeMemoryPagesOnTheLoopAndHandTheRestToTheExecutorAtTheFirstSsdPage() {
    open(NetFixtures.config().build(), TieredStore.builder().dataDir(dir)
        .maxPageBytes(256 << 10).hotBytes(0).dramBytes(1L << 20).ssdBytes(64L << 20)
        .indexMaxEntries(10_000));
    send(HELLO);
    reply();
    ByteBuffer[] pages = new ByteBuffer[6];
    for (int i = 0; i < pages.length; i++) {
      pages[i] = NetFixtures.page(6, i, NS, 200_000);
      assertTrue(store.put(pages[i].duplicate()));
    }
    assertEquals(TierKind.SSD, NetFixtures.whereIs(store, 6, 0), "the oldest page was demoted");
    assertEquals(TierKind.DRAM, NetFixtures.whereIs(store, 6, 5));
    // GET id=13 of keys (6,5) in memory, (6,0) on SSD, (6,4) in memory.
    send("48000000" + "04" + "00" + "0000" + "0d00000000000000" + "03000000" + "00000000"
        + "0600000000000000" + "0500000000000000" + "0600000000000000" + "0000000000000000"
        + "0600000000000000" + "0400000000000000");
    assertEquals(getPage(13, 0, pages[5]), reply(), "the memory page, sent from the event loop");
    assertNull(reply(), "nothing more until a store thread has read the SSD");
    assertEquals(1, storeTasks.size(), "the rest of the GET went to the executor");
    runStoreTasks();
    assertEquals(getPage(13, 1, pages[0]), reply(), "read from SSD on the store thread");
    assertEquals(getPage(13, 2, pages[4]), reply());
    assertEquals("19000000" + "84" + "00" + "0000" + "0d00000000000000" + "03000000" + "03000000"
        + "00", reply());
  }

  private static String getPage(long requestId, int keyIndex, ByteBuffer page) {
    ByteBuf prefix = Unpooled.buffer(GetPageFlyweight.PAGE_OFFSET);
    GetPageFlyweight.writePrefix(prefix, requestId, keyIndex, page.remaining());
    try {
      return HEX.formatHex(ByteBufUtil.getBytes(prefix)) + HEX.formatHex(NetFixtures.bytes(page));
    } finally {
      prefix.release();
    }
  }
}
