package io.kvstore.server.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.core.store.TieredStore;
import io.kvstore.core.tier.TierWriteException;
import io.kvstore.core.tier.TierWriteException.Reason;
import io.kvstore.server.net.FaultyStore;
import io.kvstore.server.net.FaultyStore.Op;
import io.kvstore.server.net.KvStoreNetworkServer;
import io.kvstore.server.net.NetFixtures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Store failures injected into every verb ({@link FaultyStore}): each request still gets one final
 * answer with the code for what failed (NO_SPACE for a tier out of space, STORAGE_ERROR for other
 * storage failures, INTERNAL for anything else, never TIMEOUT), the connection keeps serving, and
 * the accounting is restored (no request in flight, nothing held against the memory budget, no
 * page left pinned).
 */
class StoreFailureE2ETest {

  private static final long NS = 0x5EED;

  @TempDir Path dir;
  private TieredStore store;
  private FaultyStore faulty;
  private KvStoreNetworkServer server;

  private RawClient start(TieredStore s) throws Exception {
    return start(s, true);
  }

  /** {@code putOnLoop} false: the daemon runs PUTs on store threads, as with an SSD tier. */
  private RawClient start(TieredStore s, boolean putOnLoop) throws Exception {
    store = s;
    faulty = new FaultyStore(store);
    if (!putOnLoop) {
      faulty.putMayBlock();
    }
    server = new KvStoreNetworkServer(NetFixtures.config().build(), faulty, NetFixtures.metrics());
    server.start();
    RawClient c = new RawClient(server.port());
    assertEquals(Opcode.HELLO_OK, c.hello(1, 1, 1, NS, "").opcode());
    return c;
  }

  private RawClient startInMemory() throws Exception {
    return startInMemory(true);
  }

  /**
   * A memory-only store: the daemon stores small PUTs on its event loop, unless {@code putOnLoop}
   * is false (then on a store thread, the path of a store with an SSD tier).
   */
  private RawClient startInMemory(boolean putOnLoop) throws Exception {
    return start(TieredStore.builder().maxPageBytes(NetFixtures.MAX_PAGE).hotBytes(0)
        .dramBytes(16L << 20).ssdBytes(0).build(), putOnLoop);
  }

  /** Asserts which kind of thread ran the latest put: an event loop or a store thread. */
  private void assertPutRanOn(boolean eventLoop) {
    String thread = faulty.lastPutThread();
    assertEquals(eventLoop, !thread.startsWith("kvstore-store-"), "put ran on " + thread);
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
    if (store != null) {
      store.close();
    }
  }

  private static Supplier<RuntimeException> noSpace() {
    return () -> new TierWriteException(Reason.NO_SPACE, "injected: device full");
  }

  private static Supplier<RuntimeException> ioError() {
    return () -> new UncheckedIOException(new IOException("injected: EIO"));
  }

  private static Supplier<RuntimeException> bug() {
    return () -> new IllegalStateException("injected: a bug");
  }

  /** The connection still serves, and nothing is held for the failed request. */
  private void assertRecovered(RawClient c, long pingId) throws Exception {
    c.pingPong(pingId);
    eventually(() -> server.requestsInFlight() == 0, "requests in flight: " + server.requestsInFlight());
    eventually(() -> server.requestMemoryUsed() == 0, "budget held: " + server.requestMemoryUsed());
    eventually(() -> faulty.pinnedNow() == 0, "pages pinned: " + faulty.pinnedNow());
  }

  private static void eventually(BooleanSupplier condition, String message) throws InterruptedException {
    for (int i = 0; i < 500 && !condition.getAsBoolean(); i++) {
      Thread.sleep(10);
    }
    assertTrue(condition.getAsBoolean(), message);
  }

  private static void assertError(RawClient.Frame f, long id, int code) {
    assertEquals(Opcode.ERROR, f.opcode(), f.toString());
    assertEquals(id, f.requestId(), f.toString());
    assertEquals(ErrorCode.name(code), ErrorCode.name(f.errorCode()), f.toString());
  }

  @ParameterizedTest(name = "put on the event loop: {0}")
  @ValueSource(booleans = {true, false})
  void shouldAnswerAPutWhoseTierIsOutOfSpaceWithNoSpacePerPage(boolean putOnLoop) throws Exception {
    try (RawClient c = startInMemory(putOnLoop)) {
      faulty.fail(Op.PUT, noSpace());
      c.put(2, NetFixtures.page(1, 1, NS, 1000), NetFixtures.page(1, 2, NS, 1000));
      RawClient.Frame f = c.read();
      assertEquals(Opcode.PUT_OK, f.opcode(), f.toString());
      assertEquals(ErrorCode.NO_SPACE, f.bodyShort(8));
      assertEquals(ErrorCode.NO_SPACE, f.bodyShort(10));
      assertPutRanOn(putOnLoop);
      assertRecovered(c, 3);
      assertEquals(2, server.counters().requestsFailed(ErrorCode.NO_SPACE));
    }
  }

  @ParameterizedTest(name = "put on the event loop: {0}")
  @ValueSource(booleans = {true, false})
  void shouldAnswerAPutWhoseTierFailsWithStorageErrorPerPage(boolean putOnLoop) throws Exception {
    try (RawClient c = startInMemory(putOnLoop)) {
      faulty.fail(Op.PUT, ioError());
      c.put(2, NetFixtures.page(1, 1, NS, 1000));
      RawClient.Frame f = c.read();
      assertEquals(Opcode.PUT_OK, f.opcode(), f.toString());
      assertEquals(ErrorCode.STORAGE_ERROR, f.bodyShort(8));
      assertPutRanOn(putOnLoop);
      assertRecovered(c, 3);
    }
  }

  @ParameterizedTest(name = "put on the event loop: {0}")
  @ValueSource(booleans = {true, false})
  void shouldAnswerAPutThatThrowsAnythingElseWithInternal(boolean putOnLoop) throws Exception {
    try (RawClient c = startInMemory(putOnLoop)) {
      faulty.fail(Op.PUT, bug());
      c.put(2, NetFixtures.page(1, 1, NS, 1000));
      assertError(c.read(), 2, ErrorCode.INTERNAL);
      assertPutRanOn(putOnLoop);
      assertRecovered(c, 3);
      faulty.heal();
      c.put(4, NetFixtures.page(1, 1, NS, 1000));
      assertEquals(ErrorCode.OK, c.read().bodyShort(8), "a later PUT is stored");
    }
  }

  @Test
  void shouldStoreAPutLargerThanTheEventLoopLimitOnAStoreThread() throws Exception {
    try (RawClient c = startInMemory()) {
      c.put(2, NetFixtures.page(1, 1, NS, 1000));
      assertEquals(ErrorCode.OK, c.read().bodyShort(8));
      assertPutRanOn(true);
      // Three 2 MiB pages: above the 4 MiB a loop stores itself.
      c.put(3, NetFixtures.page(2, 1, NS, 2 << 20), NetFixtures.page(2, 2, NS, 2 << 20),
          NetFixtures.page(2, 3, NS, 2 << 20));
      RawClient.Frame f = c.read();
      assertEquals(Opcode.PUT_OK, f.opcode(), f.toString());
      for (int i = 0; i < 3; i++) {
        assertEquals(ErrorCode.OK, f.bodyShort(8 + 2 * i), "page " + i);
      }
      assertPutRanOn(false);
      assertRecovered(c, 4);
    }
  }

  @Test
  void shouldStoreEveryPutOnAStoreThreadWhenTheEventLoopLimitIsZero() throws Exception {
    store = TieredStore.builder().maxPageBytes(NetFixtures.MAX_PAGE).hotBytes(0)
        .dramBytes(16L << 20).ssdBytes(0).build();
    faulty = new FaultyStore(store); // never blocks a put: the loop would take small ones
    server = new KvStoreNetworkServer(NetFixtures.config().putOnLoopMaxBytes(0).build(), faulty,
        NetFixtures.metrics());
    server.start();
    try (RawClient c = new RawClient(server.port())) {
      assertEquals(Opcode.HELLO_OK, c.hello(1, 1, 1, NS, "").opcode());
      c.put(2, NetFixtures.page(1, 1, NS, 1000));
      assertEquals(ErrorCode.OK, c.read().bodyShort(8));
      assertPutRanOn(false);
      assertRecovered(c, 3);
    }
  }

  @Test
  void shouldAnswerALookupThatFails() throws Exception {
    try (RawClient c = startInMemory()) {
      faulty.fail(Op.LOOKUP, ioError());
      c.keyBatch(Opcode.LOOKUP, 0, 2, 0, 1, 1, 1, 2);
      assertError(c.read(), 2, ErrorCode.STORAGE_ERROR);
      assertRecovered(c, 3);
      faulty.fail(Op.LOOKUP, bug());
      c.keyBatch(Opcode.LOOKUP, 0, 4, 0, 1, 1);
      assertError(c.read(), 4, ErrorCode.INTERNAL);
      assertRecovered(c, 5);
    }
  }

  @Test
  void shouldAnswerAGetThatFailsOnTheEventLoop() throws Exception {
    try (RawClient c = startInMemory()) {
      c.put(2, NetFixtures.page(1, 1, NS, 1000));
      assertEquals(ErrorCode.OK, c.read().bodyShort(8));
      faulty.fail(Op.PIN_IF_IN_MEMORY, ioError());
      c.keyBatch(Opcode.GET, 0, 3, 0, 1, 1);
      assertError(c.read(), 3, ErrorCode.STORAGE_ERROR);
      assertRecovered(c, 4);
    }
  }

  @Test
  void shouldAnswerAGetThatFailsOnAStoreThread() throws Exception {
    // Memory tiers of 0: every page is on SSD, so the GET runs on a store thread.
    try (RawClient c = start(NetFixtures.smallStore(dir).hotBytes(0).dramBytes(0).build())) {
      c.put(2, NetFixtures.page(1, 1, NS, 1000), NetFixtures.page(1, 2, NS, 1000));
      assertEquals(Opcode.PUT_OK, c.read().opcode());
      faulty.fail(Op.GET, ioError()); // a page that cannot be pinned is copied: that fails too
      faulty.fail(Op.GET_PINNED, noSpace());
      c.keyBatch(Opcode.GET, 0, 3, 0, 1, 1, 1, 2);
      RawClient.Frame f = c.read();
      assertEquals(Opcode.ERROR, f.opcode(), f.toString());
      assertTrue(f.errorCode() == ErrorCode.NO_SPACE || f.errorCode() == ErrorCode.STORAGE_ERROR,
          f.toString());
      assertRecovered(c, 4);
      faulty.heal();
      c.keyBatch(Opcode.GET, 0, 5, 0, 1, 1);
      assertEquals(Opcode.GET_PAGE, c.read().opcode());
      assertEquals(Opcode.GET_DONE, c.read().opcode());
      assertRecovered(c, 6);
    }
  }

  private static Supplier<InternalError> memoryFault() {
    return () -> new InternalError(
        "injected: a fault occurred in a recent unsafe memory access operation");
  }

  /**
   * A fault in mapped memory that the JVM raises (an {@link InternalError}) past a GET's own
   * handling, on the event loop (pages in memory) or on a store thread (pages on SSD): GetStream's
   * backstop answers that GET with INTERNAL, and the thread and the connection go on serving.
   */
  @ParameterizedTest(name = "pages on SSD: {0}")
  @ValueSource(booleans = {false, true})
  void shouldAnswerAGetThatMeetsAMemoryFaultAndKeepServing(boolean onSsd) throws Exception {
    TieredStore s = onSsd
        ? NetFixtures.smallStore(dir).hotBytes(0).dramBytes(0).build()
        : TieredStore.builder().maxPageBytes(NetFixtures.MAX_PAGE).hotBytes(0)
            .dramBytes(16L << 20).ssdBytes(0).build();
    Thread.UncaughtExceptionHandler before = Thread.getDefaultUncaughtExceptionHandler();
    List<Throwable> uncaught = new CopyOnWriteArrayList<>();
    Thread.setDefaultUncaughtExceptionHandler((t, e) -> uncaught.add(e));
    try (RawClient c = start(s)) {
      c.put(2, NetFixtures.page(1, 1, NS, 1000));
      assertEquals(Opcode.PUT_OK, c.read().opcode());
      if (onSsd) {
        faulty.failWithError(Op.GET, memoryFault());
        faulty.failWithError(Op.GET_PINNED, memoryFault());
      } else {
        faulty.failWithError(Op.PIN_IF_IN_MEMORY, memoryFault());
      }
      for (int id = 3; id < 9; id++) {
        c.keyBatch(Opcode.GET, 0, id, 0, 1, 1);
        RawClient.Frame f = c.read();
        assertError(f, id, ErrorCode.INTERNAL);
        assertTrue(f.toString().contains("injected: a fault"), f.toString());
      }
      assertRecovered(c, 10);
      faulty.heal();
      c.keyBatch(Opcode.GET, 0, 11, 0, 1, 1);
      assertEquals(Opcode.GET_PAGE, c.read().opcode());
      assertEquals(Opcode.GET_DONE, c.read().opcode());
      assertRecovered(c, 12);
      assertTrue(uncaught.isEmpty(), "no thread died: " + uncaught);
    } finally {
      Thread.setDefaultUncaughtExceptionHandler(before);
    }
  }

  @Test
  void shouldAnswerADeleteThatFails() throws Exception {
    try (RawClient c = startInMemory()) {
      faulty.fail(Op.DELETE, ioError());
      c.keyBatch(Opcode.DELETE, 0, 2, 0, 1, 1);
      assertError(c.read(), 2, ErrorCode.STORAGE_ERROR);
      assertRecovered(c, 3);
    }
  }

  @Test
  void shouldAnswerAPrefetchThatThrowsOrFailsLater() throws Exception {
    try (RawClient c = startInMemory()) {
      faulty.fail(Op.PREFETCH, bug());
      c.keyBatch(Opcode.PREFETCH, 0, 2, 100, 1, 1);
      assertError(c.read(), 2, ErrorCode.INTERNAL);
      assertRecovered(c, 3);
      faulty.heal();
      faulty.fail(Op.PREFETCH_ASYNC, ioError());
      c.keyBatch(Opcode.PREFETCH, 0, 4, 100, 1, 1);
      assertError(c.read(), 4, ErrorCode.STORAGE_ERROR);
      assertRecovered(c, 5);
    }
  }

  @Test
  void shouldCountFailedRequestsByCode() throws Exception {
    try (RawClient c = startInMemory()) {
      faulty.fail(Op.DELETE, ioError());
      for (int i = 0; i < 3; i++) {
        c.keyBatch(Opcode.DELETE, 0, 10 + i, 0, 1, 1);
        assertError(c.read(), 10 + i, ErrorCode.STORAGE_ERROR);
      }
      assertEquals(3, server.counters().requestsFailed(ErrorCode.STORAGE_ERROR));
      assertRecovered(c, 20);
    }
  }
}
