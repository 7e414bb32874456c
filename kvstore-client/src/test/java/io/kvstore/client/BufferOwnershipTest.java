package io.kvstore.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.common.PageFormat;
import io.netty.channel.Channel;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * Who owns the caller's buffers once a call's future is done: the caller, in every outcome. Each
 * test lets the daemon answer (or read) after the call has ended, overwrites the buffers with a
 * sentinel once the future is done, and checks that nothing of the SDK wrote into them or sent
 * them afterwards.
 */
class BufferOwnershipTest extends FakeDaemonTestBase {

  private static final long NAMESPACE = 0x5EED_0000_0000_0002L;
  private static final byte SENTINEL = 0x7E;

  private KvStoreClientBuilder builder() {
    return KvStoreClient.builder()
        .address("127.0.0.1", daemon.port())
        .namespaceId(NAMESPACE)
        .connections(1)
        .ioThreads(1)
        .callerDrivenIo(false) // the pipelined path (CallerDrivenIoTest covers the other)
        .maxRetries(0)
        .requestTimeout(Duration.ofSeconds(10));
  }

  private static ByteBuffer sentinel(int length) {
    ByteBuffer b = ByteBuffer.allocateDirect(length);
    fill(b);
    return b;
  }

  private static void fill(ByteBuffer b) {
    for (int i = 0; i < b.capacity(); i++) {
      b.put(i, SENTINEL);
    }
  }

  private static void assertUntouched(ByteBuffer b) {
    for (int i = 0; i < b.capacity(); i++) {
      assertEquals(SENTINEL, b.get(i), "byte " + i + " written after the call was over");
    }
  }

  private static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "gave up waiting: " + what);
      Thread.sleep(5);
    }
  }

  /** Two pages held by the daemon, answered late: GET_PAGE ×2 and GET_DONE arrive after the call. */
  private long[] twoLatePages() {
    daemon.putPage(KvStoreClientTest.page(1, 1, NAMESPACE, 1000, 1));
    daemon.putPage(KvStoreClientTest.page(2, 2, NAMESPACE, 1000, 2));
    daemon.responseDelayMs = 400;
    return new long[] {1, 1, 2, 2};
  }

  @Test
  void shouldDiscardLatePagesOfACancelledGet() throws Exception {
    KvStoreClient client = connect(builder());
    long[] keys = twoLatePages();
    ByteBuffer[] dsts = {sentinel(2000), sentinel(2000)};
    CompletableFuture<GetResult> future = client.getAsync(keys, dsts);
    awaitTrue(() -> daemon.received(Opcode.GET) == 1, "GET sent");

    assertTrue(future.cancel(true));
    assertTrue(future.isCancelled());
    assertThrows(CancellationException.class, future::join);
    awaitTrue(() -> client.discardedFrames() >= 3, "the late pages and GET_DONE arrived");
    assertUntouched(dsts[0]);
    assertUntouched(dsts[1]);
    assertTrue(client.ping() >= 0, "the connection still serves");
  }

  @Test
  void shouldDiscardLatePagesOfAnInterruptedGet() throws Exception {
    KvStoreClient client = connect(builder());
    long[] keys = twoLatePages();
    ByteBuffer[] dsts = {sentinel(2000), sentinel(2000)};
    AtomicReference<Throwable> thrown = new AtomicReference<>();
    AtomicBoolean interruptKept = new AtomicBoolean();
    Thread caller = new Thread(() -> {
      try {
        client.get(keys, dsts);
      } catch (Throwable e) {
        interruptKept.set(Thread.currentThread().isInterrupted());
        thrown.set(e);
        fill(dsts[0]); // the buffers are the caller's again: reuse them at once
        fill(dsts[1]);
      }
    }, "interrupted-caller");
    caller.start();
    awaitTrue(() -> daemon.received(Opcode.GET) == 1, "GET sent");
    caller.interrupt();
    caller.join(10_000);

    KvStoreException e = (KvStoreException) thrown.get();
    assertEquals(ErrorCode.CLIENT_TIMEOUT, e.code());
    assertTrue(e.getMessage().contains("interrupted"), e.getMessage());
    assertTrue(interruptKept.get(), "the interrupt flag stays set");
    awaitTrue(() -> client.discardedFrames() >= 3, "the late pages and GET_DONE arrived");
    assertUntouched(dsts[0]);
    assertUntouched(dsts[1]);
  }

  @Test
  void shouldDiscardLatePagesOfATimedOutGet() throws Exception {
    KvStoreClient client = connect(builder().requestTimeout(Duration.ofMillis(150)));
    long[] keys = twoLatePages();
    ByteBuffer[] dsts = {sentinel(2000), sentinel(2000)};
    KvStoreException e = assertThrows(KvStoreException.class, () -> client.get(keys, dsts));
    assertEquals(ErrorCode.CLIENT_TIMEOUT, e.code());
    fill(dsts[0]);
    fill(dsts[1]);
    awaitTrue(() -> client.discardedFrames() >= 3, "the late pages and GET_DONE arrived");
    assertUntouched(dsts[0]);
    assertUntouched(dsts[1]);
  }

  @Test
  void shouldStopTheGetBehindACancelledTokenFetch() throws Exception {
    TestKeyChain chain = new TestKeyChain(NAMESPACE, 4);
    KvStoreClient client = connect(builder().keyChain(chain));
    int[] tokens = {1, 2, 3, 4, 5, 6, 7, 8};
    ByteBuffer[] payloads = {ByteBuffer.allocateDirect(500), ByteBuffer.allocateDirect(500)};
    assertEquals(2, client.store(tokens, 0, payloads));
    daemon.responseDelayMs = 400;
    ByteBuffer[] dsts = {sentinel(1000), sentinel(1000)};
    CompletableFuture<Integer> future = client.fetchAsync(tokens, dsts);
    awaitTrue(() -> daemon.received(Opcode.GET) == 1, "GET sent");

    assertTrue(future.cancel(false), "cancelling the mapped future reaches the GET");
    awaitTrue(() -> client.discardedFrames() >= 3, "the late pages and GET_DONE arrived");
    assertUntouched(dsts[0]);
    assertUntouched(dsts[1]);
  }

  @Test
  void shouldTreatCompletingTheFutureByHandAsACancel() throws Exception {
    KvStoreClient client = connect(builder());
    long[] keys = twoLatePages();
    ByteBuffer[] dsts = {sentinel(2000), sentinel(2000)};
    CompletableFuture<GetResult> future = client.getAsync(keys, dsts).orTimeout(50, TimeUnit.MILLISECONDS);
    // orTimeout completes the SDK's future exceptionally: the request must stop too.
    CompletionException e = assertThrows(CompletionException.class, future::join);
    assertTrue(e.getCause() instanceof java.util.concurrent.TimeoutException, String.valueOf(e));
    awaitTrue(() -> client.discardedFrames() >= 3, "the late pages and GET_DONE arrived");
    assertUntouched(dsts[0]);
    assertUntouched(dsts[1]);
  }

  /** A page far larger than the socket buffers, so its write stalls while the daemon reads nothing. */
  private static ByteBuffer bigPage() {
    return KvStoreClientTest.page(9, 9, NAMESPACE, 24 << 20, 9);
  }

  @Test
  void shouldFinishATimedOutZeroCopyPutOnlyAfterNettyLetGoOfThePage() throws Exception {
    daemon.stallReadsAfterHello = true;
    KvStoreClient client = connect(builder().requestTimeout(Duration.ofMillis(500)));
    ByteBuffer page = bigPage();
    KvStoreException e = assertThrows(KvStoreException.class, () -> client.put(new ByteBuffer[] {page}));
    assertEquals(ErrorCode.CLIENT_TIMEOUT, e.code(), e.getMessage());

    fill(page); // the caller frees or reuses the page at once
    daemon.resumeReads();
    Channel stalled = daemon.stalled.get(0);
    awaitTrue(() -> !stalled.isActive(), "the stalled connection was closed by the client");
    assertEquals(0, daemon.received(Opcode.PUT),
        "the daemon got a whole PUT frame: the client kept writing the caller's page after the timeout");
    assertTrue(daemon.pages.isEmpty());
    assertTrue(client.ping() >= 0, "the pool reconnected");
  }

  @Test
  void shouldReturnFromCancelOfAStalledPutOnlyOnceThePageIsReleased() throws Exception {
    daemon.stallReadsAfterHello = true;
    KvStoreClient client = connect(builder().requestTimeout(Duration.ofMillis(800)));
    ByteBuffer page = bigPage();
    CompletableFuture<PutResult> future = client.putAsync(new ByteBuffer[] {page});
    Thread.sleep(100); // the write is under way and stalled

    assertTrue(future.cancel(true));
    assertTrue(future.isCancelled());
    fill(page);
    daemon.resumeReads();
    Channel stalled = daemon.stalled.get(0);
    awaitTrue(() -> !stalled.isActive(), "the stalled connection was closed by the client");
    assertEquals(0, daemon.received(Opcode.PUT), "a page was sent after cancel returned");
  }

  @Test
  void shouldThrowFromAnInterruptedStalledPutOnlyOnceThePageIsReleased() throws Exception {
    daemon.stallReadsAfterHello = true;
    KvStoreClient client = connect(builder().requestTimeout(Duration.ofMillis(800)));
    ByteBuffer page = bigPage();
    AtomicReference<Throwable> thrown = new AtomicReference<>();
    Thread caller = new Thread(() -> {
      try {
        client.put(new ByteBuffer[] {page});
      } catch (Throwable e) {
        thrown.set(e);
        fill(page); // the page is the caller's again: reuse it at once
      }
    }, "interrupted-put");
    caller.start();
    Thread.sleep(100); // the write is under way and stalled
    caller.interrupt();
    caller.join(10_000);

    assertEquals(ErrorCode.CLIENT_TIMEOUT, ((KvStoreException) thrown.get()).code());
    daemon.resumeReads();
    Channel stalled = daemon.stalled.get(0);
    awaitTrue(() -> !stalled.isActive(), "the stalled connection was closed by the client");
    assertEquals(0, daemon.received(Opcode.PUT), "a page was sent after the interrupted put threw");
  }

  @Test
  void shouldFailAStoreWhenOneOfItsFramesTimesOut() throws Exception {
    TestKeyChain chain = new TestKeyChain(NAMESPACE, 4);
    KvStoreClient client = connect(builder().keyChain(chain)
        .putFrameBytes(PageFormat.HEADER_LENGTH + 100).requestTimeout(Duration.ofMillis(300)));
    daemon.faults.put(Opcode.PUT, FakeDaemon.Fault.SILENT); // the first frame is never answered
    int[] tokens = new int[12];
    ByteBuffer[] payloads = {sentinel(100), sentinel(100), sentinel(100)};
    CompletableFuture<Integer> future = client.storeAsync(tokens, 0, payloads);
    CompletionException e = assertThrows(CompletionException.class, future::join);
    assertEquals(ErrorCode.CLIENT_TIMEOUT, ((KvStoreException) e.getCause()).code());
    assertEquals(3, daemon.received(Opcode.PUT), "three frames, all sent before the call ended");
    assertEquals(2, daemon.pages.size());
  }

  @Test
  void shouldCompleteEveryCallWhenTheClientCloses() throws Exception {
    KvStoreClient client = builder().maxRetries(1).retryBackoff(Duration.ofMinutes(5))
        .requestTimeout(Duration.ofMinutes(10)).build();
    daemon.putPage(KvStoreClientTest.page(1, 1, NAMESPACE, 1000, 1));
    daemon.faults.put(Opcode.GET, FakeDaemon.Fault.SILENT);
    ByteBuffer[] dsts = {sentinel(2000)};
    CompletableFuture<GetResult> inFlight = client.getAsync(new long[] {1, 1}, dsts);
    daemon.errors.put(Opcode.STATS, ErrorCode.OVERLOADED);
    CompletableFuture<String> waitingToRetry = client.statsAsync(); // retried in 5 minutes
    awaitTrue(() -> daemon.received(Opcode.STATS) == 1 && daemon.received(Opcode.GET) == 1, "sent");
    Thread.sleep(200); // the OVERLOADED answer is in: the retry waits

    client.close();
    assertTrue(inFlight.isDone() && waitingToRetry.isDone(), "close() left a call incomplete");
    for (CompletableFuture<?> f : List.of(inFlight, waitingToRetry)) {
      CompletionException e = assertThrows(CompletionException.class, f::join);
      assertEquals(ErrorCode.CONNECTION_CLOSED, ((KvStoreException) e.getCause()).code());
    }
    assertUntouched(dsts[0]);
  }
}
