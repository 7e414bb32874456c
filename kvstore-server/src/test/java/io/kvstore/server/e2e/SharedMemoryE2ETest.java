package io.kvstore.server.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.GetResult;
import io.kvstore.client.KvStoreClient;
import io.kvstore.client.PutResult;
import io.kvstore.core.store.TieredStore;
import io.kvstore.server.net.KvStoreNetworkServer;
import io.kvstore.server.net.NetFixtures;
import io.kvstore.server.shm.ShmManager;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SDK through shared memory ({@code spec/4-shared-memory.md}) against a daemon in this JVM:
 * every byte checked with concurrent readers and writers, regions gone when clients go, fallback to
 * TCP when opted out, when the daemon offers none, and when the region is too small.
 */
class SharedMemoryE2ETest {

  private static final long NS = 0x5EED_0000_0000_0001L;

  @TempDir Path dir;
  @TempDir Path shmDir;
  private TieredStore store;
  private KvStoreNetworkServer server;

  private KvStoreNetworkServer start(long regionBytes) throws Exception {
    return start(regionBytes, 1L << 30);
  }

  private KvStoreNetworkServer start(long regionBytes, long totalBytes) throws Exception {
    store = NetFixtures.smallStore(dir).build();
    server = new KvStoreNetworkServer(NetFixtures.config().shmDir(shmDir.resolve("regions"))
        .shmRegionBytes(regionBytes).shmTotalBytes(totalBytes).build(), store,
        NetFixtures.metrics());
    server.start();
    return server;
  }

  private KvStoreClient client(boolean sharedMemory) {
    return KvStoreClient.builder().address("127.0.0.1", server.port()).namespaceId(NS)
        .connections(2).sharedMemory(sharedMemory).requestTimeout(Duration.ofSeconds(30)).build();
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.shutdownGracefully(Duration.ofSeconds(5));
    }
    if (store != null) {
      store.close();
    }
  }

  private long regionFiles() throws Exception {
    try (Stream<Path> files = Files.list(shmDir.resolve("regions"))) {
      return files.filter(p -> p.toString().endsWith(".region")).count();
    }
  }

  @Test
  void shouldMoveEveryByteThroughSharedMemoryWithConcurrentReadersAndWriters() throws Exception {
    start(16L << 20);
    ShmManager shm = server.sharedMemory();
    int writers = 3;
    int pagesPerWriter = 12;
    try (KvStoreClient client = client(true)) {
      awaitAttached(client, 2);
      assertEquals(2, shm.regions(), "each connection attached a region");
      assertEquals(2, regionFiles());
      ExecutorService pool = Executors.newFixedThreadPool(2 * writers);
      try {
        List<Future<?>> work = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
          int writer = w;
          work.add(pool.submit(() -> {
            for (int i = 0; i < pagesPerWriter; i++) {
              // Sizes from 1 KiB to 1 MiB + a little: several units, unaligned tails.
              ByteBuffer page = NetFixtures.page(writer, i, NS, 1024 + ((i * 91_171) % (1 << 20)));
              PutResult put = client.put(new ByteBuffer[] {page});
              assertEquals(1, put.stored(), "stored");
            }
            return null;
          }));
          work.add(pool.submit(() -> {
            ByteBuffer dst = ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE);
            for (int round = 0; round < 3; round++) {
              for (int i = 0; i < pagesPerWriter; i++) {
                dst.clear();
                GetResult got = client.get(new long[] {writer, i}, new ByteBuffer[] {dst});
                if (got.found() == 1) {
                  ByteBuffer expected = NetFixtures.page(writer, i, NS,
                      1024 + ((i * 91_171) % (1 << 20)));
                  assertArrayEquals(NetFixtures.bytes(expected), NetFixtures.bytes(dst,
                      got.length(0)), "exact bytes of page " + writer + "/" + i);
                }
              }
            }
            return null;
          }));
        }
        for (Future<?> f : work) {
          f.get(120, TimeUnit.SECONDS);
        }
      } finally {
        pool.shutdownNow();
      }
      // Every page read back once more, all at once, through the region.
      long[] keys = new long[2 * writers * pagesPerWriter];
      ByteBuffer[] dsts = new ByteBuffer[writers * pagesPerWriter];
      for (int w = 0; w < writers; w++) {
        for (int i = 0; i < pagesPerWriter; i++) {
          int k = w * pagesPerWriter + i;
          keys[2 * k] = w;
          keys[2 * k + 1] = i;
          dsts[k] = ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE);
        }
      }
      GetResult all = client.get(keys, dsts);
      for (int k = 0; k < dsts.length; k++) {
        if (all.length(k) >= 0) {
          ByteBuffer expected = NetFixtures.page(keys[2 * k], keys[2 * k + 1], NS,
              1024 + (((int) keys[2 * k + 1] * 91_171) % (1 << 20)));
          assertArrayEquals(NetFixtures.bytes(expected), NetFixtures.bytes(dsts[k], all.length(k)));
        }
      }
      assertTrue(all.found() > 0, "some pages are still held");
      assertEquals(writers * pagesPerWriter, shm.pagesIn(), "every PUT page came through a region");
      assertTrue(shm.pagesOut() > 0, "GET pages came through a region");
    }
    awaitNoRegions(shm);
  }

  @Test
  void shouldBoundRegionsInTotalAndServeTheRestOverTcp() throws Exception {
    start(16L << 20, 16L << 20); // room for one region only
    try (KvStoreClient client = client(true)) {
      awaitAttached(client, 1);
      Thread.sleep(200); // the second connection's SHM_OPEN has been refused by now
      assertEquals(1, client.sharedMemoryConnections(), "the total allows one region");
      assertEquals(1, server.sharedMemory().regions());
      assertEquals(16L << 20, server.sharedMemory().usedBytes());
      for (int k = 20; k < 26; k++) {
        roundTrip(client, k); // on either connection: through the region or over TCP
      }
    }
    awaitNoRegions(server.sharedMemory());
  }

  @Test
  void shouldUseTcpWhenTheClientOptsOut() throws Exception {
    start(16L << 20);
    try (KvStoreClient client = client(false)) {
      roundTrip(client, 7);
      assertEquals(0, client.sharedMemoryConnections());
      assertEquals(0, server.sharedMemory().regions());
      assertEquals(0, server.sharedMemory().pagesIn() + server.sharedMemory().pagesOut());
    }
  }

  @Test
  void shouldUseTcpWhenTheDaemonOffersNoSharedMemory() throws Exception {
    start(0);
    assertFalse(server.sharedMemory().enabled());
    try (KvStoreClient client = client(true)) {
      roundTrip(client, 8);
      assertEquals(0, server.sharedMemory().regions());
    }
  }

  @Test
  void shouldUseTcpWhenTheRegionIsSmallerThanAPage() throws Exception {
    start(256L << 10); // areas of 124 KiB, pages up to 2 MiB: the SDK does not attach
    try (KvStoreClient client = client(true)) {
      roundTrip(client, 9);
      assertEquals(0, client.sharedMemoryConnections());
      assertEquals(0, server.sharedMemory().pagesIn() + server.sharedMemory().pagesOut());
    }
    awaitNoRegions(server.sharedMemory()); // offered, not attached: unlinked with the connection
  }

  private static void awaitAttached(KvStoreClient client, int connections) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (client.sharedMemoryConnections() < connections && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(connections, client.sharedMemoryConnections(), "regions attached after HELLO");
  }

  private void roundTrip(KvStoreClient client, long key) {
    ByteBuffer page = NetFixtures.page(key, key, NS, 300_000);
    assertEquals(1, client.put(new ByteBuffer[] {page}).stored());
    ByteBuffer dst = ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE);
    GetResult got = client.get(new long[] {key, key}, new ByteBuffer[] {dst});
    assertEquals(1, got.found());
    assertArrayEquals(NetFixtures.bytes(page), NetFixtures.bytes(dst, got.length(0)));
  }

  private void awaitNoRegions(ShmManager shm) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while ((shm.regions() != 0 || regionFiles() != 0) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertEquals(0, shm.regions(), "regions closed with their connections");
    assertEquals(0, shm.usedBytes(), "their bytes back in the budget");
    assertEquals(0, regionFiles(), "their files unlinked");
  }
}
