package io.kvstore.server.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kvstore.client.GetResult;
import io.kvstore.client.KvStoreClient;
import io.kvstore.client.PutResult;
import io.kvstore.common.Ext4Mount;
import io.kvstore.common.PageFormat;
import io.kvstore.core.store.TieredStoreBuilder;
import io.kvstore.server.KvStoreDaemon;
import io.kvstore.server.config.ServerConfig;
import io.kvstore.server.net.KvStoreNetworkServerFactory;
import io.kvstore.server.net.NetFixtures;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole daemon on its defaults ({@code index.dir = auto}) with its data directory on a real
 * ext4 file system that is frozen ({@code fsfreeze}) while clients use it: {@code /health}
 * answers, HELLO (a new connection) is answered, pages in memory are read exactly and new pages
 * are put, and a GC runs, for as long as the freeze lasts. Before the block index ran from
 * {@code /dev/shm}, the daemon stopped answering anything for the whole freeze (docs/configuration.md,
 * "The block index off the data disk"). Needs root, mkfs.ext4 and fsfreeze; skipped elsewhere, and
 * where {@code /dev/shm} has no room for the index (auto then keeps it on the data disk).
 */
class FrozenDiskE2ETest {

  private static final long NS = 0xF20CE11L;
  private static final int PAYLOAD = 64 << 10;
  private static final int PAGE = PageFormat.pageLength(PAYLOAD);
  /** How long the work may take while the disk stays frozen (liveness, not speed). */
  private static final int FROZEN_SECONDS = 30;

  @TempDir Path tmp;

  @Test
  void shouldAnswerHealthHelloAndMemoryWhileTheDataDiskIsFrozen() throws Exception {
    try (Ext4Mount disk = Ext4Mount.mount(tmp.resolve("disk"), tmp.resolve("disk.img"), 128)) {
      Path data = disk.dir().resolve("data");
      ServerConfig config = ServerConfig.builder()
          .port(0)
          .metricsPort(freePort())
          .dataDir(data)
          .maxPageBytes(PAGE)
          .dramBytes(64L * PAGE)
          .ssdBytes(64L << 20)
          .ssdMinPageBytes(PAGE)
          .shutdownGraceSeconds(5)
          .shutdownFlushGraceSeconds(5)
          .build();
      KvStoreDaemon daemon = new KvStoreDaemon(config, new KvStoreNetworkServerFactory());
      daemon.start();
      Path runtime = TieredStoreBuilder.autoIndexDir(data);
      try {
        assumeTrue(Files.exists(runtime.resolve("block-index-v3.cm3")),
            "index.dir = auto kept the index on the data disk here (no room on /dev/shm?)");
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        try (KvStoreClient client = client(daemon)) {
          for (long k = 0; k < 200; k++) { // most end on SSD only; the last ones stay in DRAM
            assertTrue(client.put(new ByteBuffer[] {page(k)}).allStored());
          }
          String wrong = disk.whileFrozen(FROZEN_SECONDS, () -> {
            for (int round = 0; round < 3; round++) {
              HttpResponse<String> health = http.send(
                  HttpRequest.newBuilder(URI.create(
                          "http://127.0.0.1:" + daemon.metricsPort() + "/health"))
                      .timeout(Duration.ofSeconds(FROZEN_SECONDS)).build(),
                  HttpResponse.BodyHandlers.ofString());
              assertEquals(200, health.statusCode(), health.body());
              for (long k = 190; k < 200; k++) {
                assertExact(client, k);
              }
              System.gc();
            }
            try (KvStoreClient fresh = client(daemon)) { // a HELLO while frozen
              for (long k = 1000; k < 1010; k++) { // new pages go to memory
                PutResult put = fresh.put(new ByteBuffer[] {page(k)});
                assertTrue(put.allStored(), put.toString());
                assertExact(fresh, k);
              }
            }
          });
          assertNull(wrong, "/health, HELLO, memory GETs and PUTs: " + wrong);
          for (long k = 0; k < 200; k++) { // after the thaw: exact or a miss, never other bytes
            ByteBuffer dst = ByteBuffer.allocateDirect(PAGE);
            GetResult got = client.get(new long[] {7, k}, new ByteBuffer[] {dst});
            if (got.isHit(0)) {
              assertArrayEquals(NetFixtures.bytes(page(k)), NetFixtures.bytes(dst, got.length(0)));
            }
          }
        }
      } finally {
        daemon.stop();
      }
    }
  }

  private static KvStoreClient client(KvStoreDaemon daemon) {
    return KvStoreClient.builder().address("127.0.0.1", daemon.networkPort()).namespaceId(NS)
        .requestTimeout(Duration.ofSeconds(FROZEN_SECONDS)).build();
  }

  private static void assertExact(KvStoreClient client, long k) {
    ByteBuffer dst = ByteBuffer.allocateDirect(PAGE);
    GetResult got = client.get(new long[] {7, k}, new ByteBuffer[] {dst});
    assertTrue(got.isHit(0), "page " + k + " is in memory");
    assertArrayEquals(NetFixtures.bytes(page(k)), NetFixtures.bytes(dst, got.length(0)));
  }

  private static ByteBuffer page(long k) {
    return NetFixtures.page(7, k, NS, PAYLOAD);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
