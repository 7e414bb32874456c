package io.kvstore.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.protocol.BatchDoneFlyweight;
import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.GetPageFlyweight;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.common.BlockKey;
import io.kvstore.common.PageFormat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Page views over TCP against {@link FakeDaemon} (no shared memory: the same API, views in the
 * SDK's receive buffers), and the view GET's own bookkeeping fed frames directly: a refused page
 * is an error for its key, a failed GET lets go of what it kept, a released view reads nothing.
 */
class PageViewsTest {

  private static final long NAMESPACE = 0x1234;
  private FakeDaemon daemon;
  private KvStoreClient client;

  @BeforeEach
  void start() throws InterruptedException {
    daemon = new FakeDaemon();
    client = KvStoreClient.builder().address("127.0.0.1", daemon.port()).namespaceId(NAMESPACE)
        .connections(1).ioThreads(1).sharedMemory(false).callerDrivenIo(false)
        .requestTimeout(Duration.ofSeconds(5)).build();
  }

  @AfterEach
  void stop() {
    client.close();
    daemon.close();
  }

  private static byte[] bytes(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }

  @Test
  void shouldViewPagesOverTcpByteForByte() {
    ByteBuffer small = KvStoreClientTest.page(1, 1, NAMESPACE, 3_000, 1);
    ByteBuffer big = KvStoreClientTest.page(1, 2, NAMESPACE, 2 << 20, 2);
    daemon.putPage(small);
    daemon.putPage(big);
    try (PageViews v = client.getViews(new long[] {1, 1, 1, 9, 1, 2})) {
      assertEquals(3, v.keyCount());
      assertEquals(2, v.found());
      assertArrayEquals(bytes(small), bytes(v.page(0)));
      assertArrayEquals(bytes(big), bytes(v.page(2)));
      assertTrue(v.page(0).isReadOnly());
      assertFalse(v.inRegion(0), "no region: the view is in the SDK's receive buffer");
      assertNull(v.page(1));
      assertEquals(GetResult.MISS, v.length(1));
      assertEquals(ErrorCode.OK, v.error(1), "a miss is no error");
      assertEquals(big.remaining(), v.length(2));
      assertTrue(client.lentFrameBuffers() > 0, "the 2 MiB view holds its frame buffer");
    }
    assertEquals(0, client.lentFrameBuffers(), "closing the views gave the frame buffer back");
  }

  @Test
  void shouldLendEachTcpPageOfACallerDrivenGetInAFrameOfItsOwn() {
    ByteBuffer small = KvStoreClientTest.page(4, 1, NAMESPACE, 3_000, 1);
    ByteBuffer big = KvStoreClientTest.page(4, 2, NAMESPACE, 2 << 20, 2);
    daemon.putPage(small);
    daemon.putPage(big);
    PageViews first;
    try (KvStoreClient driven = KvStoreClient.builder().address("127.0.0.1", daemon.port())
        .namespaceId(NAMESPACE).connections(1).ioThreads(1).sharedMemory(false)
        .callerDrivenIo(true).requestTimeout(Duration.ofSeconds(5)).build()) {
      first = driven.getViews(new long[] {4, 1, 4, 2});
      assertEquals(1, driven.callerDrivenConnections(), "on the calling thread");
      // The connection reads the next answers into its reused receive buffer: the views of the
      // first GET must not be in it.
      try (PageViews second = driven.getViews(new long[] {4, 2, 4, 1})) {
        assertArrayEquals(bytes(big), bytes(second.page(0)));
        assertArrayEquals(bytes(small), bytes(second.page(1)));
        assertEquals(0, driven.lookup(new long[] {9, 9}).runLength());
        assertArrayEquals(bytes(small), bytes(first.page(0)), "unchanged by later reads");
        assertArrayEquals(bytes(big), bytes(first.page(1)), "unchanged by later reads");
      }
    }
    assertTrue(first.isClosed(), "the client's close released the views left open");
    assertThrows(IllegalStateException.class, () -> first.page(0));
  }

  @Test
  void shouldReportACorruptedPageAsAnErrorForItsKeyAndHandOutTheOthers() {
    daemon.putPage(KvStoreClientTest.page(7, 7, NAMESPACE, 100, 7));
    daemon.putPage(KvStoreClientTest.page(8, 8, NAMESPACE, 100, 8));
    daemon.corruptOnce.add(new BlockKey(8, 8));
    try (PageViews v = client.getViews(new long[] {7, 7, 8, 8})) {
      assertTrue(v.isHit(0));
      assertFalse(v.isHit(1), "a page failing its CRC is never handed out");
      assertNull(v.page(1));
      assertEquals(ErrorCode.BAD_CHECKSUM, v.error(1));
      assertEquals(1, v.found());
    }
  }

  @Test
  void shouldMakeClosedViewsUnreadableAndTolerateASecondClose() {
    daemon.putPage(KvStoreClientTest.page(3, 3, NAMESPACE, 500, 3));
    PageViews v = client.getViews(new long[] {3, 3});
    ByteBuffer view = v.page(0);
    assertEquals(564, view.remaining());
    v.close();
    v.close();
    assertTrue(v.isClosed());
    assertEquals(0, view.remaining());
    assertThrows(IndexOutOfBoundsException.class, () -> view.get(0));
    assertThrows(IndexOutOfBoundsException.class, () -> view.getLong(PageFormat.KEY_HI_OFFSET));
    assertThrows(IllegalStateException.class, () -> v.page(0));
    // the connection is fine afterwards
    try (PageViews again = client.getViews(new long[] {3, 3})) {
      assertEquals(1, again.found());
    }
  }

  @Test
  void shouldCloseOpenViewsWhenTheClientCloses() {
    daemon.putPage(KvStoreClientTest.page(4, 4, NAMESPACE, 2 << 20, 4));
    PageViews v = client.getViews(new long[] {4, 4});
    ByteBuffer view = v.page(0);
    assertTrue(client.lentFrameBuffers() > 0);
    client.close();
    assertTrue(v.isClosed(), "client.close() releases views the caller did not close");
    assertEquals(0, view.remaining());
    assertEquals(0, client.lentFrameBuffers());
  }

  // ------------------------------------------------------------- the request, fed frames directly

  private static ByteBuf pageFrame(long requestId, int keyIndex, ByteBuffer page) {
    ByteBuf frame = Unpooled.directBuffer(GetPageFlyweight.PAGE_OFFSET + page.remaining());
    GetPageFlyweight.writePrefix(frame, requestId, keyIndex, page.remaining());
    frame.writeBytes(page.duplicate());
    return frame;
  }

  @Test
  void shouldLetGoOfReceivedFramesWhenTheGetFails() {
    Set<PageViews> open = ConcurrentHashMap.newKeySet();
    GetViewsRequest get = new GetViewsRequest(new long[] {5, 5, 6, 6}, false, true, open,
        1_000_000_000L);
    ByteBuf frame = pageFrame(1, 0, KvStoreClientTest.page(5, 5, NAMESPACE, 1000, 5));
    get.handle(frame, Opcode.GET_PAGE, new ResponseFlyweights());
    assertEquals(2, frame.refCnt(), "the page is kept (retained) for its view");
    get.fail(ErrorCode.CONNECTION_CLOSED, "lost");
    assertEquals(1, frame.refCnt(), "a failed GET releases what it kept");
    assertTrue(get.future.isCompletedExceptionally());
    assertTrue(open.isEmpty());
    frame.release();
  }

  @Test
  void shouldRefuseAnotherKeysPageAndReleaseHeldFramesOnClose() {
    Set<PageViews> open = ConcurrentHashMap.newKeySet();
    GetViewsRequest get = new GetViewsRequest(new long[] {5, 5, 6, 6}, false, true, open,
        1_000_000_000L);
    ResponseFlyweights fw = new ResponseFlyweights();
    ByteBuf good = pageFrame(1, 0, KvStoreClientTest.page(5, 5, NAMESPACE, 1000, 5));
    ByteBuf wrongKey = pageFrame(1, 1, KvStoreClientTest.page(7, 7, NAMESPACE, 1000, 7));
    get.handle(good, Opcode.GET_PAGE, fw);
    get.handle(wrongKey, Opcode.GET_PAGE, fw);
    assertEquals(1, wrongKey.refCnt(), "a refused page is not kept");
    ByteBuf done = BatchDoneFlyweight.encode(ByteBufAllocator.DEFAULT, Opcode.GET_DONE, 1, 2,
        new long[] {0});
    get.handle(done, Opcode.GET_DONE, fw);
    done.release();
    PageViews v = get.future.join();
    assertEquals(1, v.found());
    assertEquals(ErrorCode.MALFORMED_PAGE, v.error(1), "another key's page is an error, not bytes");
    assertEquals(1, open.size(), "the client knows the open result");
    v.close();
    assertEquals(1, good.refCnt());
    assertTrue(open.isEmpty());
    good.release();
    wrongKey.release();
  }
}
