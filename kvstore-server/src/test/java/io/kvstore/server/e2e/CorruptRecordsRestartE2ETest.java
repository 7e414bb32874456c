package io.kvstore.server.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.GetResult;
import io.kvstore.client.KvStoreClient;
import io.kvstore.client.PutResult;
import io.kvstore.common.PageFormat;
import io.kvstore.server.KvStoreDaemon;
import io.kvstore.server.config.ServerConfigBuilder;
import io.kvstore.server.net.KvStoreNetworkServerFactory;
import io.kvstore.server.net.NetFixtures;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon restarted on a data directory whose RocksDB manifest was damaged after a clean stop
 * (bit rot): with the default {@code ssd.corrupt.records = fail} it does not start and says which
 * records and what to do; with {@code discard} it starts, and every page written before the stop
 * comes back with its exact bytes (the block index is whole after a clean stop, and the records
 * are written anew from it).
 */
class CorruptRecordsRestartE2ETest {

  private static final long NS = 0xC0DDEDL;
  private static final int PAYLOAD = 16 << 10;
  private static final int PAGE = PageFormat.pageLength(PAYLOAD);
  private static final int PAGES = 64;

  @TempDir Path dir;

  private ServerConfigBuilder config(String corruptRecords) {
    return NetFixtures.config()
        .dataDir(dir.resolve("data"))
        .maxPageBytes(PAGE)
        .hotBytes(0)
        .dramBytes(8L * PAGE) // most pages live on SSD only
        .ssdBytes(64L << 20)
        .ssdCorruptRecords(corruptRecords);
  }

  private static ByteBuffer page(long k) {
    return NetFixtures.page(7, k, NS, PAYLOAD);
  }

  private static KvStoreClient client(KvStoreDaemon daemon) {
    return KvStoreClient.builder().address("127.0.0.1", daemon.networkPort()).namespaceId(NS)
        .requestTimeout(Duration.ofSeconds(20)).build();
  }

  @Test
  void shouldRefuseToStartByDefaultAndServeEveryPageWithDiscard() throws Exception {
    KvStoreDaemon first = new KvStoreDaemon(config("fail").build(), new KvStoreNetworkServerFactory());
    first.start();
    try (KvStoreClient client = client(first)) {
      for (long k = 0; k < PAGES; k++) {
        PutResult put = client.put(new ByteBuffer[] {page(k)});
        assertTrue(put.allStored(), "page " + k + ": " + put);
      }
    } finally {
      first.stop(); // clean: the memory pages are written to SSD, the index closed whole
    }
    Path rocks = dir.resolve("data").resolve("ssd").resolve("locations");
    List<Path> manifests;
    try (Stream<Path> files = Files.list(rocks)) {
      manifests = files.filter(p -> p.getFileName().toString().startsWith("MANIFEST-")).toList();
    }
    assertFalse(manifests.isEmpty(), "no manifest in " + rocks);
    for (Path m : manifests) {
      byte[] b = Files.readAllBytes(m);
      for (int at = 0; at < b.length; at += 7) {
        b[at] ^= (byte) 0xA5;
      }
      Files.write(m, b);
    }

    KvStoreDaemon refused =
        new KvStoreDaemon(config("fail").build(), new KvStoreNetworkServerFactory());
    Exception e = assertThrows(Exception.class, refused::start);
    String why = String.valueOf(e.getMessage());
    assertTrue(why.contains("location records in " + rocks) && why.contains("are corrupt"), why);
    assertTrue(why.contains("ssd.corrupt.records"), why);

    KvStoreDaemon daemon =
        new KvStoreDaemon(config("discard").build(), new KvStoreNetworkServerFactory());
    daemon.start();
    try (KvStoreClient client = client(daemon)) {
      for (long k = 0; k < PAGES; k++) {
        ByteBuffer dst = ByteBuffer.allocateDirect(PAGE);
        GetResult got = client.get(new long[] {7, k}, new ByteBuffer[] {dst});
        assertTrue(got.isHit(0), "page " + k + " kept from the whole index");
        assertArrayEquals(NetFixtures.bytes(page(k)), NetFixtures.bytes(dst, got.length(0)),
            "page " + k);
      }
    } finally {
      daemon.stop();
    }
  }
}
