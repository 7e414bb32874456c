package io.kvstore.server.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.GetResult;
import io.kvstore.client.KvStoreClient;
import io.kvstore.client.PutResult;
import io.kvstore.common.TmpfsMount;
import io.kvstore.core.store.TieredStore;
import io.kvstore.server.net.KvStoreNetworkServer;
import io.kvstore.server.net.NetFixtures;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon's region directory on a tmpfs smaller than its regions add up to, as in a container
 * whose {@code /dev/shm} is Docker's default 64 MiB: the connection whose region does not fit uses
 * TCP, the one whose region fits uses shared memory, and pages that touch every byte of both
 * regions' worth go through without a fault (before regions were reserved whole, the engine or the
 * daemon met SIGBUS once the tmpfs ran out under the sparse region files).
 */
class SharedMemorySmallTmpfsE2ETest {

  private static final long NS = 0x5EED_0000_0000_0002L;

  @TempDir Path dir;
  @TempDir Path tmp;

  private static KvStoreNetworkServer startServer(TmpfsMount fs, TieredStore store,
      long regionBytes) throws Exception {
    KvStoreNetworkServer server =
        new KvStoreNetworkServer(
            NetFixtures.config()
                .shmDir(fs.dir().resolve("regions"))
                .shmRegionBytes(regionBytes)
                .shmTotalBytes(1L << 30)
                .build(),
            store,
            NetFixtures.metrics());
    server.start();
    return server;
  }

  /** A client of {@code connections} pipelined connections, once one of them has its region. */
  private static KvStoreClient clientWithARegion(KvStoreNetworkServer server, int connections)
      throws Exception {
    KvStoreClient client =
        KvStoreClient.builder()
            .address("127.0.0.1", server.port())
            .namespaceId(NS)
            .connections(connections)
            .requestTimeout(Duration.ofSeconds(30))
            .build();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (client.sharedMemoryConnections() < 1 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    return client;
  }

  /**
   * A call's result, tried again once if it failed on a fault in its region's memory: the JVM
   * raises the fault where it notices it, mostly inside the copy (the page then goes over TCP and
   * the call succeeds), sometimes later, past the copy (the call then fails, saying to retry, and
   * the region is not used for that any more).
   */
  private static <T> T atMostOneFault(
      java.util.function.Supplier<java.util.concurrent.CompletableFuture<T>> call) throws Exception {
    try {
      return call.get().get(30, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      String message = String.valueOf(e.getCause().getMessage());
      assertTrue(message.contains("a fault in the connection's shared-memory region"), message);
      return call.get().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void shouldServeOverTcpTheConnectionWhoseRegionTheTmpfsCannotHold() throws Exception {
    try (TmpfsMount fs = TmpfsMount.mount(tmp.resolve("shm"), "size=24m").lazyUnmount()) {
      TieredStore store = NetFixtures.smallStore(dir).build();
      // Two connections want 32 MiB of a 24 MiB tmpfs.
      KvStoreNetworkServer server = startServer(fs, store, 16L << 20);
      try (KvStoreClient client = clientWithARegion(server, 2)) {
        Thread.sleep(300); // the other connection's SHM_OPEN has been refused by now
        assertEquals(1, client.sharedMemoryConnections(), "one region fits, the other does not");
        assertEquals(1, server.sharedMemory().regions());
        assertEquals(16L << 20, server.sharedMemory().usedBytes());
        // 48 pages of 1 MiB and back, blocking (a caller-driven connection, whose region does
        // not fit either: TCP) and async (the pipelined connections, one through its region):
        // more than the two regions' worth, every byte checked.
        ByteBuffer dst = ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE);
        for (int round = 0; round < 2; round++) {
          for (long k = 1; k <= 24; k++) {
            ByteBuffer page = NetFixtures.page(k, round, NS, 1 << 20);
            PutResult put =
                round == 0
                    ? client.put(new ByteBuffer[] {page})
                    : client.putAsync(new ByteBuffer[] {page}).get(30, TimeUnit.SECONDS);
            assertEquals(1, put.stored(), "put " + k);
            dst.clear();
            GetResult got =
                round == 0
                    ? client.get(new long[] {k, round}, new ByteBuffer[] {dst})
                    : client
                        .getAsync(new long[] {k, round}, new ByteBuffer[] {dst})
                        .get(30, TimeUnit.SECONDS);
            assertEquals(1, got.found(), "get " + k);
            assertArrayEquals(NetFixtures.bytes(page), NetFixtures.bytes(dst, got.length(0)));
          }
        }
        assertEquals(1, server.sharedMemory().regions(), "never more regions than the tmpfs holds");
        assertTrue(
            server.sharedMemory().pagesIn() + server.sharedMemory().pagesOut() > 0,
            "the connection with a region moved pages through it");
      } finally {
        server.shutdownGracefully(Duration.ofSeconds(5));
        store.close();
      }
    }
  }

  /**
   * Another program fills the tmpfs after the regions were given: the region files are sparse, so
   * the next copy into a page of a region not touched before faults (SIGBUS). The daemon's copy of
   * a GET page and the SDK's copy of a PUT page meet it; each page still goes through, over TCP,
   * byte for byte, and the daemon keeps serving. Before, the daemon's thread died of an {@code
   * InternalError} and the GET was never answered.
   */
  @Test
  void shouldMovePagesOverTcpWhenAnotherProgramFillsTheTmpfsUnderAGivenRegion() throws Exception {
    try (TmpfsMount fs = TmpfsMount.mount(tmp.resolve("shm"), "size=24m").lazyUnmount()) {
      TieredStore store = NetFixtures.smallStore(dir).build();
      KvStoreNetworkServer server = startServer(fs, store, 8L << 20);
      try (KvStoreClient client = clientWithARegion(server, 1)) {
        assertEquals(1, client.sharedMemoryConnections(), "the region was given");
        // Another program takes every free byte of the tmpfs.
        java.nio.file.Path filler = fs.dir().resolve("filler");
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(filler,
            java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
          for (int chunk : new int[] {1 << 20, 4096}) { // to the last page
            ByteBuffer bytes = ByteBuffer.allocateDirect(chunk);
            try {
              while (true) {
                bytes.clear();
                ch.write(bytes);
              }
            } catch (java.io.IOException full) {
              // No space left on device
            }
          }
        }
        ByteBuffer dst = ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE);
        for (long k = 1; k <= 3; k++) {
          ByteBuffer page = NetFixtures.page(k, 7, NS, 1 << 20);
          PutResult put = atMostOneFault(() -> client.putAsync(new ByteBuffer[] {page}));
          assertEquals(1, put.stored(), "put " + k);
          long key = k;
          GetResult got = atMostOneFault(
              () -> client.getAsync(new long[] {key, 7}, new ByteBuffer[] {dst.clear()}));
          assertEquals(1, got.found(), "get " + k);
          assertArrayEquals(NetFixtures.bytes(page), NetFixtures.bytes(dst, got.length(0)));
        }
        assertTrue(client.ping() >= 0, "the connection still serves");
        assertEquals(1, server.sharedMemory().faults(), "the daemon's GET copy met the fault");
      } finally {
        server.shutdownGracefully(Duration.ofSeconds(5));
        store.close();
      }
    }
  }
}
