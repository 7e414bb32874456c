package io.kvstore.server.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.KeyBatchFlyweight;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.client.shm.ClientRegion;
import io.kvstore.core.store.TieredStore;
import io.kvstore.server.net.FaultyStore;
import io.kvstore.server.net.KvStoreNetworkServer;
import io.kvstore.server.net.NetFixtures;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client with a shared-memory region goes away while every store thread is busy and the store
 * executor's queue is full: the daemon closes the region on the event loop instead (its file
 * unlinked, its mapping given back at once), rather than leaving it for a task that the executor
 * refused, and keeps serving.
 */
class RegionCloseOnBusyDaemonE2ETest {

  private static final long NS = 0x5AFE_0000_0000_0007L;

  @TempDir Path dir;
  @TempDir Path shmRoot;
  private TieredStore store;
  private FaultyStore faulty;
  private KvStoreNetworkServer server;
  private final CountDownLatch release = new CountDownLatch(1);

  @AfterEach
  void stop() {
    release.countDown();
    if (server != null) {
      server.shutdownGracefully(Duration.ofSeconds(5));
    }
    if (store != null) {
      store.close();
    }
  }

  private static void eventually(BooleanSupplier condition, String message)
      throws InterruptedException {
    for (int i = 0; i < 1000 && !condition.getAsBoolean(); i++) {
      Thread.sleep(10);
    }
    assertTrue(condition.getAsBoolean(), message);
  }

  private List<Path> regionFiles() throws Exception {
    Path regions = shmRoot.resolve("regions");
    if (!Files.exists(regions)) {
      return List.of();
    }
    try (Stream<Path> files = Files.walk(regions)) {
      return files.filter(f -> f.getFileName().toString().endsWith(".region"))
          .collect(Collectors.toList());
    }
  }

  @Test
  void shouldCloseARegionOnTheEventLoopWhenTheStoreExecutorRefusesTheTask() throws Exception {
    store = TieredStore.builder().maxPageBytes(NetFixtures.MAX_PAGE).hotBytes(0)
        .dramBytes(16L << 20).ssdBytes(0).build();
    faulty = new FaultyStore(store);
    server = new KvStoreNetworkServer(NetFixtures.config().shmDir(shmRoot.resolve("regions"))
        .shmRegionBytes(8L << 20).build(), faulty, NetFixtures.metrics());
    server.start();

    try (RawClient busy = new RawClient(server.port())) {
      assertEquals(Opcode.HELLO_OK, busy.hello(1, 1, 1, NS, "").opcode());
      RawClient owner = new RawClient(server.port());
      assertEquals(Opcode.HELLO_OK, owner.hello(1, 1, 1, NS, "").opcode());
      ClientRegion region = ShmRaw.attach(owner, 2);
      List<Path> files = regionFiles();
      assertEquals(1, files.size(), "one region file: " + files);
      Path file = files.get(0);

      // Every store thread waits inside a DELETE and the queue behind them fills: one DELETE
      // more than both hold is refused with OVERLOADED, and that is the first answer to come.
      faulty.pauseDeletes(release);
      int held = KvStoreNetworkServer.STORE_THREADS_DEFAULT + KvStoreNetworkServer.STORE_QUEUE_CAPACITY;
      ByteArrayOutputStream frames = new ByteArrayOutputStream();
      for (int id = 1; id <= held + 1; id++) {
        ByteBuf frame = KeyBatchFlyweight.encode(UnpooledByteBufAllocator.DEFAULT, Opcode.DELETE, 0,
            id, new long[] {id, id}, 0, 1, 0);
        try {
          frames.write(ByteBufUtil.getBytes(frame));
        } finally {
          frame.release();
        }
      }
      busy.send(frames.toByteArray());
      RawClient.Frame refused = busy.read();
      assertEquals(Opcode.ERROR, refused.opcode(), refused.toString());
      assertEquals(ErrorCode.name(ErrorCode.OVERLOADED), ErrorCode.name(refused.errorCode()),
          refused.toString());
      eventually(() -> faulty.deletesWaiting() == KvStoreNetworkServer.STORE_THREADS_DEFAULT,
          "store threads waiting: " + faulty.deletesWaiting());

      // The region's client goes away: its region is closed at once, though no store thread is free.
      owner.close();
      eventually(() -> !Files.exists(file), "the region file is unlinked: " + file);
      assertEquals(KvStoreNetworkServer.STORE_THREADS_DEFAULT, faulty.deletesWaiting(),
          "while every store thread still waits: the close ran on the event loop");
      assertFalse(region.faulted());
      region.close();

      busy.pingPong(held + 2);
      release.countDown();
      for (int i = 0; i < held; i++) {
        RawClient.Frame done = busy.read();
        assertEquals(Opcode.DELETE_OK, done.opcode(), done.toString());
      }
      busy.pingPong(held + 3);
    }
  }
}
