package io.kvstore.bench.targets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kvstore.common.PageFormat;
import io.kvstore.server.KvStoreDaemon;
import io.kvstore.server.config.ServerConfig;
import io.kvstore.server.net.KvStoreNetworkServerFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TargetsTest {

  @TempDir Path dir;

  @Test
  void shouldRoundTripVerifiedPagesThroughTheEmbeddedStore() throws Exception {
    try (EmbeddedTarget t = EmbeddedTarget.open(dir, PageFormat.pageLength(16 << 10), 1 << 20,
        4 << 20, 0, "lru")) {
      TargetContract.roundTrip(t, 16 << 10, 8, true);
      TierCounters c = t.counters();
      assertEquals("hot", c.tiers().get(0).name());
      assertTrue(c.tiers().stream().mapToLong(TierCounters.Tier::hits).sum() >= 9);
    }
  }

  @Test
  void shouldDeleteItsTempDirectoryOnClose() throws Exception {
    EmbeddedTarget t = EmbeddedTarget.open(null, 4160, 0, 1 << 20, 1 << 20, "lru");
    Path data = Path.of(System.getProperty("java.io.tmpdir"));
    long before = Files.list(data).filter(p -> p.getFileName().toString().startsWith("kvbench-store-")).count();
    assertTrue(before >= 1);
    t.close();
    long after = Files.list(data).filter(p -> p.getFileName().toString().startsWith("kvbench-store-")).count();
    assertEquals(before - 1, after);
  }

  @Test
  void shouldMoveTheSameBytesOverTheRawSocket() throws Exception {
    try (RawSocketTarget t = RawSocketTarget.start(TargetContract.NAMESPACE)) {
      TargetContract.roundTrip(t, 64 << 10, 4, false);
      assertEquals(TierCounters.NONE, t.counters());
    }
  }

  @Test
  void shouldCopyTheSameBytesInMemory() throws Exception {
    try (MemcpyTarget t = new MemcpyTarget(TargetContract.NAMESPACE)) {
      TargetContract.roundTrip(t, 64 << 10, 4, false);
      assertEquals(TierCounters.NONE, t.counters());
    }
  }

  @Test
  void shouldCopyFromAndIntoAWorkingSetNotInCache() throws Exception {
    // 1 MiB: a 64 KiB page's slot is 68 KiB, so 15 fit and the 20 fetches below wrap around.
    try (MemcpyTarget t = new MemcpyTarget(TargetContract.NAMESPACE, 1 << 20)) {
      assertEquals("memcpy-ws", t.name());
      TargetContract.roundTrip(t, 64 << 10, 20, false);
      TargetContract.roundTrip(t, 1000, 3, false); // a length not a multiple of 4 KiB
      try (Session s = t.openSession()) {
        ByteBuffer big = ByteBuffer.allocateDirect(PageFormat.pageLength(2 << 20));
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> s.fetchPrefix(new long[] {1, 2}, 1, new ByteBuffer[] {big}));
        assertTrue(e.getMessage().contains("larger than the memcpy-ws working set"), e.getMessage());
      }
    }
    assertThrows(IllegalArgumentException.class, () -> new MemcpyTarget(1, 0));
  }

  @Test
  void shouldRoundTripThroughTheDaemonOverSharedMemory() throws Exception {
    ServerConfig config = ServerConfig.builder().host("127.0.0.1").port(0).metricsPort(0)
        .dataDir(dir.resolve("daemon")).hotBytes(1 << 20).dramBytes(8 << 20).ssdBytes(0)
        .shmDir(dir.resolve("shm")).shmRegionBytes(4 << 20)
        .maxPageBytes(PageFormat.pageLength(64 << 10)).shutdownGraceSeconds(1).build();
    KvStoreDaemon daemon = new KvStoreDaemon(config, new KvStoreNetworkServerFactory());
    daemon.start();
    try (SharedMemoryDaemon t = new SharedMemoryDaemon(DaemonTarget.connect("127.0.0.1",
        daemon.networkPort(), "", TargetContract.NAMESPACE))) {
      assertEquals("kvstore-daemon-shm", t.name());
      try (Session s = t.openSession()) {
        assertTrue(s.fetchesInPlace(), "compare measures daemon-shm gets through page views");
      }
      TargetContract.roundTrip(t, 64 << 10, 6, true);
    } finally {
      daemon.stop();
    }
  }

  @Test
  void shouldRoundTripThroughTheDaemon() throws Exception {
    ServerConfig config = ServerConfig.builder().host("127.0.0.1").port(0).metricsPort(0)
        .dataDir(dir.resolve("daemon")).hotBytes(1 << 20).dramBytes(8 << 20).ssdBytes(0)
        .maxPageBytes(PageFormat.pageLength(64 << 10)).shutdownGraceSeconds(1).build();
    KvStoreDaemon daemon = new KvStoreDaemon(config, new KvStoreNetworkServerFactory());
    daemon.start();
    try (DaemonTarget t = DaemonTarget.connect("127.0.0.1", daemon.networkPort(), "",
        TargetContract.NAMESPACE)) {
      TierCounters before = t.counters();
      try (Session s = t.openSession()) {
        assertFalse(s.fetchesInPlace(), "the TCP target copies, as it always did");
      }
      TargetContract.roundTrip(t, 64 << 10, 6, true);
      long hits = t.counters().since(before, 1).stream().mapToLong(r -> r.hits()).sum();
      assertEquals(6 + 6 + 1, hits, "every page fetched is a hit in some tier");
    } finally {
      daemon.stop();
    }
  }

  @Test
  void shouldRoundTripThroughRedis() throws Exception {
    assumeTrue(RedisTarget.serverAvailable(),
        "redis-server is not on the PATH (apt-get install redis-server): Redis target not tested");
    try (RedisTarget t = RedisTarget.start()) {
      TierCounters before = t.counters();
      TargetContract.roundTrip(t, 64 << 10, 5, true);
      // MGET answers every key, so the page after the absent first key is a server-side hit too.
      assertEquals(5 + 5 + 1 + 1, t.counters().since(before, 1).get(0).hits());
    }
  }

  @Test
  void shouldStartRedisAgainWhenAnotherServerHoldsItsPort() throws Exception {
    assumeTrue(RedisTarget.serverAvailable(),
        "redis-server is not on the PATH (apt-get install redis-server): Redis target not tested");
    try (RedisTarget other = RedisTarget.start()) {
      int taken = other.port();
      int[] asked = {0};
      // The first port offered is another Redis server's: that start must not be taken for ours.
      try (RedisTarget t = RedisTarget.start(() -> asked[0]++ == 0 ? taken
          : ExternalProcess.freePort())) {
        assertEquals(2, asked[0], "a second port was tried");
        assertTrue(t.port() != taken);
        assertTrue(RedisTarget.processId("127.0.0.1", t.port())
            != RedisTarget.processId("127.0.0.1", taken), "its own server");
        TargetContract.roundTrip(t, 1000, 2, true);
      }
      try (redis.clients.jedis.Jedis j = new redis.clients.jedis.Jedis("127.0.0.1", taken)) {
        assertEquals("PONG", j.ping(), "the other server was left alone");
      }
    }
  }

  @Test
  void shouldExplainWhatIsMissing() {
    assertFalse(ExternalProcess.onPath("surely-not-a-command-kvbench") != null);
    ByteBuffer b = ByteBuffer.allocateDirect(100);
    assertFalse(BenchPages.verify(b.limit(80), 1, 2, 3, 80), "zeros are not a page");
  }
}
