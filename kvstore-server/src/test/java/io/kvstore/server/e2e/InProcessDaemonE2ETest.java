package io.kvstore.server.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.GetResult;
import io.kvstore.client.KvStoreClient;
import io.kvstore.client.KvStoreClientBuilder;
import io.kvstore.client.LookupResult;
import io.kvstore.client.PutResult;
import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.common.PageFormat;
import io.kvstore.core.store.TieredStore;
import io.kvstore.core.store.TieredStoreBuilder;
import io.kvstore.core.tier.TierKind;
import io.kvstore.server.metrics.ServerMetrics;
import io.kvstore.server.net.KvStoreNetworkServer;
import io.kvstore.server.net.NetFixtures;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SDK against a real daemon in this JVM: a {@link KvStoreNetworkServer} on a free loopback port
 * over a {@link TieredStore} with all three tiers in a temporary directory.
 */
class InProcessDaemonE2ETest {

  private static final long NS = 0x00C0FFEE_00C0FFEEL;

  @TempDir Path dir;
  private TieredStore store;
  private ServerMetrics metrics;
  private KvStoreNetworkServer server;
  private KvStoreClient client;

  @BeforeEach
  void start() throws Exception {
    start(NetFixtures.smallStore(dir));
  }

  private void start(TieredStoreBuilder storeBuilder) throws Exception {
    stop();
    store = storeBuilder.build();
    metrics = NetFixtures.metrics();
    server = new KvStoreNetworkServer(NetFixtures.config().build(), store, metrics);
    server.start();
    client = clientBuilder(server.port()).build();
  }

  /** The client every test uses (a subclass runs them all on another SDK path). */
  KvStoreClientBuilder clientBuilder(int port) {
    return KvStoreClient.builder().address("127.0.0.1", port).namespaceId(NS)
        .requestTimeout(Duration.ofSeconds(20));
  }

  @AfterEach
  void stop() {
    if (client != null) {
      client.close();
      client = null;
    }
    if (server != null) {
      server.shutdownGracefully(Duration.ofSeconds(5));
      server = null;
    }
    if (store != null) {
      store.close();
      store = null;
    }
  }

  @Test
  void shouldGetTheExactBytesPutFor64KiBAnd2MiBPages() {
    ByteBuffer small = NetFixtures.page(1, 1, NS, 64 << 10);
    ByteBuffer large = NetFixtures.page(1, 2, NS, 2 << 20);
    PutResult put = client.put(new ByteBuffer[] {small, large});
    assertTrue(put.allStored(), put.toString());

    ByteBuffer[] dsts = {ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE),
        ByteBuffer.allocate(NetFixtures.MAX_PAGE)};
    GetResult got = client.get(new long[] {1, 1, 1, 2}, dsts);
    assertEquals(2, got.found());
    assertArrayEquals(NetFixtures.bytes(small), NetFixtures.bytes(dsts[0], got.length(0)));
    assertArrayEquals(NetFixtures.bytes(large), NetFixtures.bytes(dsts[1], got.length(1)));
  }

  @Test
  void shouldAnswerBatchesWithHitsAndMissesInKeyOrder() {
    int n = 64;
    ByteBuffer[] pages = new ByteBuffer[n];
    for (int i = 0; i < n; i++) {
      pages[i] = NetFixtures.page(2, i, NS, 4096 + 97 * i);
    }
    assertEquals(n, client.put(pages).stored());

    // Ask for every stored key, with an unknown key after every fourth one.
    List<Long> keyList = new ArrayList<>();
    List<Integer> pageOf = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      keyList.add(2L);
      keyList.add((long) i);
      pageOf.add(i);
      if (i % 4 == 3) {
        keyList.add(3L);
        keyList.add((long) i);
        pageOf.add(-1);
      }
    }
    long[] keys = keyList.stream().mapToLong(Long::longValue).toArray();
    ByteBuffer[] dsts = new ByteBuffer[keys.length / 2];
    for (int i = 0; i < dsts.length; i++) {
      dsts[i] = ByteBuffer.allocateDirect(64 << 10);
    }
    GetResult got = client.get(keys, dsts);
    assertEquals(n, got.found());
    for (int i = 0; i < dsts.length; i++) {
      int p = pageOf.get(i);
      assertEquals(p >= 0, got.isHit(i), "key " + i);
      if (p >= 0) {
        assertArrayEquals(NetFixtures.bytes(pages[p]), NetFixtures.bytes(dsts[i], got.length(i)));
      }
    }
  }

  @Test
  void shouldReleaseEveryPinSoMemoryIsReclaimedAfterManyGets() throws Exception {
    // Memory only, room for a few pages: a page pinned by a GET is never evicted, so a leaked pin
    // would soon make puts fail with NO_SPACE. Every page is read several times, in batches, in
    // prefix GETs that stop at a miss, and by a GET whose buffer is too small (failed locally).
    start(TieredStore.builder().maxPageBytes(NetFixtures.MAX_PAGE).hotFrameBytes(NetFixtures.MAX_PAGE)
        .hotBytes(2L * NetFixtures.MAX_PAGE).dramBytes(8L << 20).ssdBytes(0));
    ByteBuffer[] dsts = new ByteBuffer[4];
    for (int i = 0; i < dsts.length; i++) {
      dsts[i] = ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE);
    }
    for (int round = 0; round < 40; round++) {
      ByteBuffer[] pages = new ByteBuffer[4];
      long[] keys = new long[8];
      for (int i = 0; i < 4; i++) {
        pages[i] = NetFixtures.page(12, 4L * round + i, NS, i == 0 ? 2 << 20 : 256 << 10);
        keys[2 * i] = 12;
        keys[2 * i + 1] = 4L * round + i;
      }
      PutResult put = client.put(pages);
      assertTrue(put.allStored(), "round " + round + ": " + put);
      for (int r = 0; r < 3; r++) {
        GetResult got = client.get(keys, dsts);
        assertEquals(4, got.found(), "round " + round);
        for (int i = 0; i < 4; i++) {
          assertArrayEquals(NetFixtures.bytes(pages[i]), NetFixtures.bytes(dsts[i], got.length(i)));
        }
      }
      long[] withMiss = {12, 4L * round, 99, 99, 12, 4L * round + 1};
      assertEquals(1, client.get(withMiss, new ByteBuffer[] {dsts[0], dsts[1], dsts[2]}, true).found());
      ByteBuffer tooSmall = ByteBuffer.allocateDirect(1000);
      long[] first = {12, 4L * round};
      Exception e = assertThrows(Exception.class,
          () -> client.get(first, new ByteBuffer[] {tooSmall}));
      assertTrue(String.valueOf(e.getMessage()).contains("remaining"), String.valueOf(e));
    }
    // The SDK fails the too-small GET as soon as it sees the page cannot fit, while the daemon may
    // still be streaming that request's pages: its in-flight count reaches 0 once it is done.
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
    while (server.requestsInFlight() != 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(0, server.requestsInFlight());
  }

  @Test
  void shouldStopAPrefixGetAtTheFirstMiss() {
    client.put(new ByteBuffer[] {NetFixtures.page(4, 0, NS, 1000), NetFixtures.page(4, 2, NS, 1000)});
    ByteBuffer[] dsts = {ByteBuffer.allocate(2000), ByteBuffer.allocate(2000), ByteBuffer.allocate(2000)};
    GetResult got = client.get(new long[] {4, 0, 4, 1, 4, 2}, dsts, true);
    assertEquals(1, got.found());
    assertEquals(1, got.leadingRun());
    assertFalse(got.isHit(2), "a prefix GET reports keys after the first miss as misses");
  }

  @Test
  void shouldReportTheLeadingRunPerTierAsTheStoreSeesIt() {
    int n = 40;
    long[] keys = new long[2 * n];
    ByteBuffer[] pages = new ByteBuffer[n];
    for (int i = 0; i < n; i++) {
      keys[2 * i] = 5;
      keys[2 * i + 1] = i;
      pages[i] = NetFixtures.page(5, i, NS, 512 << 10);
    }
    for (ByteBuffer p : pages) { // one at a time: the later ones push the earlier ones down
      assertTrue(client.put(new ByteBuffer[] {p}).allStored());
    }
    LookupResult remote = client.lookup(keys);
    int[] local = new int[TierKind.values().length];
    int run = store.lookupPrefix(keys, n, local);
    assertEquals(run, remote.runLength());
    for (TierKind k : TierKind.values()) {
      assertEquals(local[k.ordinal()], remote.blocksInTier(k.ordinal()), k.name());
    }
    assertTrue(remote.blocksInTier(TierKind.SSD.ordinal()) > 0, "some pages reached SSD: " + remote);

    // Every page, wherever it is (SSD pages are promoted to be sent), comes back byte for byte.
    ByteBuffer[] dsts = new ByteBuffer[n];
    for (int i = 0; i < n; i++) {
      dsts[i] = ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE);
    }
    GetResult got = client.get(keys, dsts);
    assertEquals(run, got.found());
    for (int i = 0; i < n; i++) {
      if (got.isHit(i)) {
        assertArrayEquals(NetFixtures.bytes(pages[i]), NetFixtures.bytes(dsts[i], got.length(i)));
      }
    }
  }

  @Test
  void shouldPrefetchSsdPagesIntoMemory() {
    // Memory tiers hold pages by size: the 8 MiB hot and 8 MiB DRAM tiers take about 50 pages of
    // 256 KiB, so 120 puts push the older ones down to SSD.
    int n = 120;
    for (int i = 0; i < n; i++) {
      client.put(new ByteBuffer[] {NetFixtures.page(6, i, NS, 256 << 10)});
    }
    long[] onSsd = new long[2 * n];
    int count = 0;
    for (int i = 0; i < n; i++) {
      if (NetFixtures.whereIs(store, 6, i) == TierKind.SSD) {
        onSsd[2 * count] = 6;
        onSsd[2 * count + 1] = i;
        count++;
      }
    }
    assertTrue(count > 0, "no page reached SSD");
    long[] one = {onSsd[0], onSsd[1]};
    assertEquals(1, client.prefetch(one, 5000));
    TierKind after = NetFixtures.whereIs(store, one[0], one[1]);
    assertTrue(after == TierKind.HOT || after == TierKind.DRAM, "prefetched page is in " + after);
  }

  @Test
  void shouldDeleteAndReportWhichKeysWerePresent() {
    client.put(new ByteBuffer[] {NetFixtures.page(7, 1, NS, 100), NetFixtures.page(7, 2, NS, 100)});
    assertEquals(2, client.delete(new long[] {7, 1, 7, 3, 7, 2}));
    assertEquals(0, client.lookup(new long[] {7, 1}).runLength());
    assertEquals(0, client.delete(new long[] {7, 1}));
  }

  @Test
  void shouldReportStatsAndAnswerPings() {
    client.put(new ByteBuffer[] {NetFixtures.page(8, 1, NS, 100)});
    String stats = client.stats();
    long puts = stats.lines().filter(l -> l.startsWith("kvstore_puts_total "))
        .mapToLong(l -> Long.parseLong(l.substring(l.indexOf(' ') + 1))).findFirst().orElse(-1);
    assertEquals(store.stats().puts(), puts, stats);
    assertTrue(stats.lines().noneMatch(l -> l.startsWith("#")), "no comment lines");
    assertTrue(stats.contains("kvstore_connections " + metrics.connections() + "\n"), stats);
    assertTrue(client.ping() > 0);
    assertTrue(metrics.latency(ServerMetrics.Op.PUT).count() >= 1);
  }

  @Test
  void shouldServePipelinedRequestsFromManyThreads() throws Exception {
    // Room for every page in DRAM and no hot tier: no eviction, so every get must hit. (Under
    // eviction the store may legitimately drop a page whose demotion races with a get.)
    start(NetFixtures.smallStore(dir.resolve("roomy")).hotBytes(0).dramBytes(64L << 20));
    int threads = 8;
    int perThread = 40;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        long hi = 100 + t;
        done.add(pool.submit(() -> {
          List<CompletableFuture<PutResult>> puts = new ArrayList<>();
          ByteBuffer[] pages = new ByteBuffer[perThread];
          for (int i = 0; i < perThread; i++) {
            pages[i] = NetFixtures.page(hi, i, NS, 8192 + i);
            puts.add(client.putAsync(new ByteBuffer[] {pages[i]}));
          }
          puts.forEach(f -> assertTrue(f.join().allStored()));
          List<CompletableFuture<GetResult>> gets = new ArrayList<>();
          ByteBuffer[] dsts = new ByteBuffer[perThread];
          for (int i = 0; i < perThread; i++) {
            dsts[i] = ByteBuffer.allocate(16 << 10);
            gets.add(client.getAsync(new long[] {hi, i}, new ByteBuffer[] {dsts[i]}));
          }
          for (int i = 0; i < perThread; i++) {
            GetResult r = gets.get(i).join();
            assertEquals(1, r.found(), "key " + hi + "/" + i);
            assertArrayEquals(NetFixtures.bytes(pages[i]), NetFixtures.bytes(dsts[i], r.length(0)));
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(0, metrics.errors(ErrorCode.name(ErrorCode.OVERLOADED)));
  }

  @Test
  void shouldRejectAPageOfAnotherNamespaceWithoutStoringIt() {
    ByteBuffer foreign = NetFixtures.page(9, 1, NS + 1, 100);
    PutResult put = client.put(new ByteBuffer[] {foreign, NetFixtures.page(9, 2, NS, 100)});
    assertEquals(ErrorCode.NAMESPACE_DENIED, put.status(0));
    assertEquals(ErrorCode.OK, put.status(1));
    assertEquals(-1, store.length(9, 1));
    assertEquals(PageFormat.pageLength(100), store.length(9, 2));
  }
}
