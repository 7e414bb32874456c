package io.kvstore.server.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.GetResult;
import io.kvstore.client.KvStoreClient;
import io.kvstore.client.PageViews;
import io.kvstore.client.PutResult;
import io.kvstore.common.RegionMapping;
import io.kvstore.common.TmpfsMount;
import io.kvstore.core.store.TieredStore;
import io.kvstore.server.net.KvStoreNetworkServer;
import io.kvstore.server.net.NetFixtures;
import io.kvstore.server.shm.ShmManager;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shared-memory regions give their tmpfs pages (and memory) back when their connection closes,
 * not when a garbage collection finds their mappings: before, six client processes that came and
 * went through a 2 GiB tmpfs left 1.85 GB of it held by the daemon with no region open, and the
 * next client got TCP ("no room for a shared-memory region"); an SDK client closed and opened again
 * in one process held its old regions the same way.
 */
class SharedMemoryUnmapE2ETest {

  private static final long NS = 0x5EED_0000_0000_0003L;
  private static final int PAGE = 1 << 20;

  @TempDir Path dir;
  @TempDir Path tmp;

  private static long used(Path p) throws IOException {
    FileStore fs = Files.getFileStore(p);
    return fs.getTotalSpace() - fs.getUsableSpace();
  }

  private static KvStoreNetworkServer startServer(TmpfsMount fs, TieredStore store)
      throws Exception {
    KvStoreNetworkServer server = new KvStoreNetworkServer(NetFixtures.config()
        .shmDir(fs.dir().resolve("regions")).shmRegionBytes(16L << 20).shmTotalBytes(1L << 30)
        .build(), store, NetFixtures.metrics());
    server.start();
    return server;
  }

  private static KvStoreClient client(KvStoreNetworkServer server) throws Exception {
    KvStoreClient client = KvStoreClient.builder().address("127.0.0.1", server.port())
        .namespaceId(NS).connections(1).requestTimeout(Duration.ofSeconds(30)).build();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (client.sharedMemoryConnections() < 1 && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertEquals(1, client.sharedMemoryConnections(), "the pipelined connection has its region");
    return client;
  }

  /** Waits for every region to be closed (the daemon closes them off the event loop). */
  private static void awaitNoRegion(ShmManager shm, Path fs, boolean pagesBack) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (shm.regions() != 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(0, shm.regions(), "every region closed with its connection");
    assertTrue(RegionMapping.awaitUnmaps(10_000), "the unmaps asked for so far are done");
    while (pagesBack && used(fs) >= 1 << 20 && System.nanoTime() < deadline) {
      Thread.sleep(10); // the unmap follows the close, on a store thread
    }
  }

  @Test
  void shouldGiveTheTmpfsBackEachTimeAClientCloses() throws Exception {
    try (TmpfsMount fs = TmpfsMount.mount(tmp.resolve("shm"), "size=48m")) {
      TieredStore store = NetFixtures.smallStore(dir).build();
      KvStoreNetworkServer server = startServer(fs, store);
      try {
        ShmManager shm = server.sharedMemory();
        // Each round touches about 12 MiB of each of two regions (the pipelined connection's and
        // the blocking calls' own): without the unmap, the 48 MiB tmpfs is held after two rounds.
        for (int round = 0; round < 6; round++) {
          long pagesBefore = shm.pagesIn() + shm.pagesOut();
          try (KvStoreClient client = client(server)) {
            List<CompletableFuture<PutResult>> puts = new ArrayList<>();
            for (long k = 0; k < 6; k++) {
              puts.add(client.putAsync(new ByteBuffer[] {NetFixtures.page(k, round, NS, PAGE)}));
              assertEquals(1, client.put(new ByteBuffer[] {NetFixtures.page(k + 6, round, NS, PAGE)})
                  .stored());
            }
            for (CompletableFuture<PutResult> p : puts) {
              assertEquals(1, p.get(30, TimeUnit.SECONDS).stored());
            }
            ByteBuffer dst = ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE);
            for (long k = 0; k < 12; k++) {
              dst.clear();
              GetResult got = k % 2 == 0
                  ? client.get(new long[] {k, round}, new ByteBuffer[] {dst})
                  : client.getAsync(new long[] {k, round}, new ByteBuffer[] {dst})
                      .get(30, TimeUnit.SECONDS);
              assertEquals(1, got.found(), "round " + round + " key " + k);
              assertArrayEquals(NetFixtures.bytes(NetFixtures.page(k, round, NS, PAGE)),
                  NetFixtures.bytes(dst, got.length(0)));
            }
            // Leases and PUT room are reused first-fit: a few pages' worth of each area is touched.
            assertTrue(used(fs.dir()) >= 2 * PAGE, "pages went through the regions: " + used(fs.dir()));
          }
          awaitNoRegion(shm, fs.dir(), true);
          assertTrue(used(fs.dir()) < 1 << 20,
              "round " + round + ": the closed regions' pages are back: " + used(fs.dir()));
          assertTrue(shm.pagesIn() + shm.pagesOut() >= pagesBefore + 24,
              "round " + round + " moved its pages through shared memory");
        }
      } finally {
        server.shutdownGracefully(Duration.ofSeconds(5));
        store.close();
        RegionMapping.awaitUnmaps(10_000); // before the tmpfs is unmounted
      }
    } // a strict unmount: nothing of the tmpfs is still mapped by either side
  }

  /**
   * GETs in flight when the client closes its connection leave the daemon copying into a region
   * whose connection is gone: the mapping stays until those copies end, then goes, and the daemon
   * keeps serving. A region that lent page views goes when its client closes (which closes the
   * views) where a stale view cannot crash the process (JDK 22+), else with the garbage collector.
   */
  @Test
  void shouldSurviveClientsClosingMidCopyAndUnmapARegionThatLentViews() throws Exception {
    try (TmpfsMount fs = TmpfsMount.mount(tmp.resolve("shm"), "size=64m").lazyUnmount()) {
      TieredStore store = NetFixtures.smallStore(dir).build();
      KvStoreNetworkServer server = startServer(fs, store);
      try {
        ShmManager shm = server.sharedMemory();
        try (KvStoreClient writer = client(server)) {
          for (long k = 0; k < 4; k++) {
            assertEquals(1, writer.put(new ByteBuffer[] {NetFixtures.page(k, 9, NS, PAGE)}).stored());
          }
        }
        awaitNoRegion(shm, fs.dir(), true);
        for (int round = 0; round < 10; round++) {
          KvStoreClient c = client(server);
          List<CompletableFuture<GetResult>> gets = new ArrayList<>();
          for (int g = 0; g < 16; g++) {
            gets.add(c.getAsync(new long[] {g % 4, 9}, new ByteBuffer[] {
                ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE)}));
          }
          c.close(); // GETs still being copied into its region by the daemon
          for (CompletableFuture<GetResult> f : gets) {
            f.handle((r, e) -> null).get(30, TimeUnit.SECONDS);
          }
        }
        awaitNoRegion(shm, fs.dir(), true);
        assertTrue(used(fs.dir()) < 1 << 20, "every closed region is back: " + used(fs.dir()));
        KvStoreClient reader = client(server);
        PageViews views = reader.getViewsAsync(new long[] {0, 9, 1, 9}).get(30, TimeUnit.SECONDS);
        assertEquals(2, views.found());
        assertTrue(views.inRegion(0), "a view into the region");
        for (int i = 0; i < 2; i++) {
          assertArrayEquals(NetFixtures.bytes(NetFixtures.page(i, 9, NS, PAGE)),
              NetFixtures.bytes(views.page(i), views.length(i)), "view " + i);
        }
        reader.close();
        assertTrue(views.isClosed(), "the client's close closes the views it lent");
        awaitNoRegion(shm, fs.dir(), RegionMapping.checkedAccess());
        if (RegionMapping.checkedAccess()) {
          assertTrue(used(fs.dir()) < 1 << 20, "the view's region is back: " + used(fs.dir()));
        }
        try (KvStoreClient after = client(server)) {
          ByteBuffer dst = ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE);
          GetResult got = after.get(new long[] {3, 9}, new ByteBuffer[] {dst});
          assertEquals(1, got.found(), "the daemon keeps serving");
          assertArrayEquals(NetFixtures.bytes(NetFixtures.page(3, 9, NS, PAGE)),
              NetFixtures.bytes(dst, got.length(0)));
        }
      } finally {
        server.shutdownGracefully(Duration.ofSeconds(5));
        store.close();
        RegionMapping.awaitUnmaps(10_000); // before the tmpfs is unmounted
      }
    }
  }

  /**
   * A client SIGKILLed while it holds leases (spec/4 §4.5): its region is closed, its file
   * unlinked, and its pages leave the tmpfs (the killed process's mapping died with it; the
   * daemon's goes with the close). Before, the daemon's mapping kept them until a garbage
   * collection.
   */
  @Test
  void shouldGiveBackTheTmpfsOfASigkilledClientsRegion() throws Exception {
    try (TmpfsMount fs = TmpfsMount.mount(tmp.resolve("shm"), "size=32m")) {
      TieredStore store = NetFixtures.smallStore(dir).build();
      KvStoreNetworkServer server = startServer(fs, store);
      try {
        try (RawClient raw = new RawClient(server.port())) {
          raw.hello(1, 1, 1, NS, "");
          for (int i = 0; i < 4; i++) {
            raw.put(10 + i, NetFixtures.page(i, i, NS, PAGE));
            RawClient.Frame ok = raw.read();
            assertEquals(io.kvstore.client.protocol.Opcode.PUT_OK, ok.opcode(), ok.toString());
          }
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of("-Xmx64m", "-cp", System.getProperty("java.class.path"),
            ShmLeaseHolderMain.class.getName(), Integer.toString(server.port()), Long.toString(NS),
            "4"));
        Process holder = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
          java.io.BufferedReader out = new java.io.BufferedReader(new java.io.InputStreamReader(
              holder.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
          String line;
          while ((line = out.readLine()) != null && !line.startsWith("HOLDING")) {
            // the JVM's own lines
          }
          assertEquals("HOLDING 4", line, "the forked client holds four leases");
          assertTrue(used(fs.dir()) >= 4 * PAGE, "four pages in its region: " + used(fs.dir()));
          holder.destroyForcibly(); // SIGKILL
          assertTrue(holder.waitFor(30, TimeUnit.SECONDS));
          awaitNoRegion(server.sharedMemory(), fs.dir(), true);
          assertTrue(used(fs.dir()) < 64 << 10, "the region's pages are back: " + used(fs.dir()));
        } finally {
          holder.destroyForcibly();
        }
      } finally {
        server.shutdownGracefully(Duration.ofSeconds(5));
        store.close();
        RegionMapping.awaitUnmaps(10_000); // before the tmpfs is unmounted
      }
    } // a strict unmount: nothing of the tmpfs is still mapped
  }

  /**
   * Page views held across a daemon restart: the daemon's side of the region goes with the old
   * run, the engine's views still read their exact bytes (its own mapping keeps the pages), the
   * reconnected connection works through a new region, and once the views are closed the old
   * region leaves the tmpfs where a stale view cannot crash the process (JDK 22+).
   */
  @Test
  void shouldKeepHeldViewsReadableAcrossADaemonRestart() throws Exception {
    try (TmpfsMount fs = TmpfsMount.mount(tmp.resolve("shm"), "size=64m").lazyUnmount()) {
      TieredStore store = NetFixtures.smallStore(dir).build();
      KvStoreNetworkServer server = startServer(fs, store);
      try (KvStoreClient client = KvStoreClient.builder().address("127.0.0.1", server.port())
          .namespaceId(NS).connections(1).callerDrivenIo(false)
          .requestTimeout(Duration.ofSeconds(20)).build()) {
        long by = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (client.sharedMemoryConnections() < 1 && System.nanoTime() < by) {
          Thread.sleep(5);
        }
        for (long k = 0; k < 2; k++) {
          assertEquals(1, client.putAsync(new ByteBuffer[] {NetFixtures.page(k, 5, NS, PAGE)})
              .get(30, TimeUnit.SECONDS).stored());
        }
        PageViews views = client.getViewsAsync(new long[] {0, 5, 1, 5}).get(30, TimeUnit.SECONDS);
        assertTrue(views.inRegion(0) && views.inRegion(1), "both views in the region");
        int port = server.port();
        server.shutdownGracefully(Duration.ofSeconds(5));
        server = new KvStoreNetworkServer(NetFixtures.config().port(port)
            .shmDir(fs.dir().resolve("regions")).shmRegionBytes(16L << 20)
            .shmTotalBytes(1L << 30).build(), store, NetFixtures.metrics());
        server.start();
        for (int i = 0; i < 2; i++) {
          assertArrayEquals(NetFixtures.bytes(NetFixtures.page(i, 5, NS, PAGE)),
              NetFixtures.bytes(views.page(i), views.length(i)), "view " + i + " after the restart");
        }
        by = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (server.sharedMemory().regions() < 1 && System.nanoTime() < by) {
          Thread.sleep(10);
        }
        assertEquals(1, server.sharedMemory().regions(), "the reconnected connection has a region");
        ByteBuffer dst = ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE);
        GetResult got = client.getAsync(new long[] {1, 5}, new ByteBuffer[] {dst})
            .get(30, TimeUnit.SECONDS);
        assertEquals(1, got.found());
        assertArrayEquals(NetFixtures.bytes(NetFixtures.page(1, 5, NS, PAGE)),
            NetFixtures.bytes(dst, got.length(0)));
        views.close();
        if (RegionMapping.checkedAccess()) {
          assertTrue(RegionMapping.awaitUnmaps(10_000));
          long usedWithNewRegion = used(fs.dir());
          assertTrue(usedWithNewRegion < 2 * PAGE, "the old region left the tmpfs once its views"
              + " were closed: " + usedWithNewRegion);
        }
      } finally {
        server.shutdownGracefully(Duration.ofSeconds(5));
        store.close();
        RegionMapping.awaitUnmaps(10_000); // before the tmpfs is unmounted
      }
    }
  }
}
