package io.kvstore.server.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kvstore.client.GetResult;
import io.kvstore.client.KvStoreClient;
import io.kvstore.client.PutResult;
import io.kvstore.common.PageFormat;
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
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole daemon (store, protocol server, metrics and health over HTTP) with its data directory
 * on a real file system that fills up: a 64 MiB tmpfs, {@code ssd.bytes} 256 MiB not fitted to it
 * ({@code ssd.fit.disk = false}: the disk fills as when other programs fill it), DRAM of a few
 * pages so that PUTs cause write-back. Once the disk is full the daemon keeps serving: PUTs still
 * succeed (into memory), a GET returns the exact bytes or a miss, {@code /health/ready} says
 * degraded and {@code kvstore_ssd_degraded} is 1, DELETE works. Needs root to mount (CI runs as
 * root); skipped, saying why, elsewhere.
 */
class FullDiskE2ETest {

  private static final long NS = 0xD15CF011L;
  private static final int PAYLOAD = 64 << 10;
  private static final int PAGE = PageFormat.pageLength(PAYLOAD);
  /** Pages put one request at a time: more than the 64 MiB file system holds (about 1.6 times). */
  private static final int MOST_PAGES = 1600;

  @TempDir Path tmp;
  private Path mount;
  private boolean mounted;
  private KvStoreDaemon daemon;
  private KvStoreClient client;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeEach
  void mountTmpfs() throws Exception {
    mount = Files.createDirectory(tmp.resolve("fs"));
    String who = run("id", "-u").trim();
    assumeTrue("0".equals(who),
        "needs root to mount a small tmpfs for a real full disk (CI runs as root); running as uid " + who);
  }

  /**
   * The daemon on a file system of {@code mebibytes} with {@code ssd.bytes} 256 MiB: {@code
   * fitDisk} false keeps that capacity, so the disk fills (as when others fill it); true fits the
   * tier to it.
   */
  private void startDaemon(boolean fitDisk, int mebibytes) throws Exception {
    String out =
        run("mount", "-t", "tmpfs", "-o", "size=" + mebibytes + "m", "tmpfs", mount.toString());
    mounted = Files.getFileStore(mount).type().equals("tmpfs");
    assumeTrue(mounted, "mount -t tmpfs failed here (a container without CAP_SYS_ADMIN?): " + out);
    ServerConfig config = ServerConfig.builder()
        .port(0)
        .metricsPort(freePort())
        .dataDir(mount.resolve("data"))
        .maxPageBytes(PAGE)
        .hotBytes(4L * PAGE)
        .dramBytes(16L * PAGE)
        .ssdBytes(256L << 20)
        .writeBackQueueBytes(8L * PAGE)
        .degradedRetryMinMillis(10)
        .degradedRetryMaxMillis(200)
        .shutdownGraceSeconds(5)
        .shutdownFlushGraceSeconds(5)
        .ssdFitDisk(fitDisk)
        .build();
    daemon = new KvStoreDaemon(config, new KvStoreNetworkServerFactory());
    daemon.start();
    client = KvStoreClient.builder().address("127.0.0.1", daemon.networkPort()).namespaceId(NS)
        .requestTimeout(Duration.ofSeconds(20)).build();
  }

  @AfterEach
  void stopAndUnmount() throws Exception {
    try {
      if (client != null) {
        client.close();
      }
      if (daemon != null) {
        daemon.stop();
      }
    } finally {
      if (mounted) {
        run("umount", "-l", mount.toString());
      }
    }
  }

  private static String run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return out + " (timed out)";
    }
    return out + (p.exitValue() == 0 ? "" : " (exit " + p.exitValue() + ")");
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static ByteBuffer page(long k) {
    return NetFixtures.page(7, k, NS, PAYLOAD);
  }

  private HttpResponse<String> httpGet(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + daemon.metricsPort() + path))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private boolean degraded() throws Exception {
    HttpResponse<String> ready = httpGet("/health/ready");
    assertEquals(200, ready.statusCode(), "a degraded daemon stays ready: " + ready.body());
    return ready.body().contains("\"status\":\"degraded\"");
  }

  /** The value of an unlabelled sample in the daemon's /metrics. */
  private long metric(String name) throws Exception {
    String text = httpGet("/metrics").body();
    Matcher m = Pattern.compile("(?m)^" + name + " ([0-9.eE+]+)$").matcher(text);
    assertTrue(m.find(), name + " not in /metrics:\n" + text);
    return (long) Double.parseDouble(m.group(1));
  }

  private void putOne(long k) {
    PutResult put = client.put(new ByteBuffer[] {page(k)});
    assertTrue(put.allStored(), "PUT of page " + k + " goes to memory even on a full disk: " + put);
  }

  /** Exact bytes (true) or a miss (false); anything else fails the test. */
  private boolean exactOrMiss(long k) {
    ByteBuffer dst = ByteBuffer.allocateDirect(PAGE);
    GetResult got = client.get(new long[] {7, k}, new ByteBuffer[] {dst});
    if (!got.isHit(0)) {
      return false;
    }
    assertArrayEquals(NetFixtures.bytes(page(k)), NetFixtures.bytes(dst, got.length(0)),
        "page " + k + " came back with other bytes");
    return true;
  }

  /** PUTs pages until the daemon reports the SSD tier degraded; returns how many were put. */
  private int fillUntilDegraded() throws Exception {
    int k = 0;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (true) {
      if (k < MOST_PAGES) {
        putOne(k++);
      } else {
        Thread.sleep(50); // every page is put: wait for the writers to reach the full disk
      }
      if ((k % 20 == 0 || k >= MOST_PAGES) && degraded()) {
        return k;
      }
      if (System.nanoTime() > deadline) {
        fail("the SSD tier never went degraded after " + k + " pages of " + PAGE + " B on a 64 MiB"
            + " file system; data dir holds " + run("du", "-sh", mount.toString()));
      }
    }
  }

  @Test
  void shouldKeepServingWhenTheDiskIsFull() throws Exception {
    startDaemon(false, 64);
    int filled = fillUntilDegraded();
    String body = httpGet("/health/ready").body();
    assertTrue(body.contains("NO_SPACE"), body);
    assertEquals(1, metric("kvstore_ssd_degraded"));

    int k = filled;
    for (int i = 0; i < 100; i++) {
      putOne(k++);
    }
    assertTrue(exactOrMiss(k - 1), "the last PUT is served from memory");
    int served = 0;
    for (long i = 0; i < k; i++) {
      if (exactOrMiss(i)) {
        served++;
      }
    }
    assertTrue(served > 100, "pages written before the disk filled are still served: " + served
        + " of " + k);
    assertTrue(metric("kvstore_writeback_failures_total") > 0, "a failed SSD write is counted");
    assertTrue(metric("kvstore_writeback_drops_total") > 0, "dirty pages dropped are counted");
    assertTrue(metric("kvstore_writeback_ssd_writes_total") > 100);

    // DELETE works on a full disk: each page deleted is a miss afterwards.
    for (long i = 0; i < k; i += 64) {
      long[] keys = new long[2 * (int) Math.min(64, k - i)];
      for (int j = 0; j < keys.length / 2; j++) {
        keys[2 * j] = 7;
        keys[2 * j + 1] = i + j;
      }
      client.delete(keys);
      for (int j = 0; j < keys.length / 2; j++) {
        assertFalse(exactOrMiss(i + j), "page " + (i + j) + " is gone after its DELETE");
      }
    }
    // The daemon is still up and serving.
    assertEquals(200, httpGet("/health/live").statusCode());
    putOne(k);
    assertTrue(exactOrMiss(k));
  }

  /**
   * After deletes free space the SSD tier recovers by itself ({@code SsdTier#resumeWrites}, retried
   * by the store on a backoff), within a generous bound: write-back resumes and the daemon is no
   * longer degraded.
   */
  @Test
  void shouldRecoverByItselfOnceDeletesFreeSpace() throws Exception {
    startDaemon(false, 64);
    int k = fillUntilDegraded();
    for (long i = 0; i < k; i += 64) {
      long[] keys = new long[2 * (int) Math.min(64, k - i)];
      for (int j = 0; j < keys.length / 2; j++) {
        keys[2 * j] = 7;
        keys[2 * j + 1] = i + j;
      }
      client.delete(keys);
    }
    long bound = TimeUnit.SECONDS.toNanos(60);
    long start = System.nanoTime();
    long writes = metric("kvstore_writeback_ssd_writes_total");
    while (degraded() && System.nanoTime() - start < bound) {
      for (int i = 0; i < 5; i++) {
        putOne(k++); // dirty pages to write back: the retries need something to write
      }
      Thread.sleep(100);
    }
    assertFalse(degraded(), "still degraded 60 s after deletes freed space: "
        + httpGet("/health/ready").body());
    assertEquals(0, metric("kvstore_ssd_degraded"));
    for (int i = 0; i < 40; i++) {
      putOne(k++);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (metric("kvstore_writeback_ssd_writes_total") <= writes && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertTrue(metric("kvstore_writeback_ssd_writes_total") > writes, "write-back resumed");
  }


  /**
   * The default ({@code ssd.fit.disk = true}): the 256 MiB tier fits itself to the 96 MiB file
   * system at start, so more pages than it holds go through write-back without the disk
   * filling: never degraded, no failed SSD write, the reserve kept free, and the newest pages are
   * served (from SSD once memory has moved on), the oldest evicted as misses, never other bytes.
   */
  @Test
  void shouldFitTheSsdTierToASmallerDiskAndKeepWritingBack() throws Exception {
    // 96 MiB: RocksDB's library (17 MB) and ballast, the 16 MiB reserve and the fitted tier's
    // margin for RocksDB's log space (about 22 MiB) leave the tier about 30 MiB.
    startDaemon(true, 96);
    String text = httpGet("/metrics").body();
    Matcher cap = Pattern.compile("(?m)^kvstore_tier_capacity_bytes\\{tier=\"ssd\"\\} ([0-9.eE+]+)$")
        .matcher(text);
    assertTrue(cap.find(), text);
    long capacity = (long) Double.parseDouble(cap.group(1));
    assertTrue(capacity < 96L << 20 && capacity > 100L * PAGE, "SSD capacity " + capacity);

    for (int k = 0; k < MOST_PAGES; k++) {
      putOne(k);
      if (k % 50 == 0) {
        assertFalse(degraded(), "degraded after " + k + " pages: " + httpGet("/health/ready").body());
      }
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (metric("kvstore_writeback_queue_bytes") > 0 && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertFalse(degraded(), httpGet("/health/ready").body());
    assertEquals(0, metric("kvstore_ssd_degraded"));
    assertEquals(0, metric("kvstore_writeback_failures_total"), "no SSD write failed");
    long writes = metric("kvstore_writeback_ssd_writes_total");
    assertTrue(writes > capacity / PAGE + 400, "more pages written back than the tier holds: " + writes);
    assertTrue(Files.getFileStore(mount).getUsableSpace() >= 16L << 20, "the reserve stays free");

    int served = 0;
    for (int k = 0; k < MOST_PAGES; k++) {
      if (exactOrMiss(k)) {
        served++;
      }
    }
    assertFalse(exactOrMiss(0), "the oldest page was evicted");
    for (int k = MOST_PAGES - 40; k < MOST_PAGES; k++) {
      assertTrue(exactOrMiss(k), "page " + k + ", among the newest, is served");
    }
    assertTrue(served > 20L * 3 && served < MOST_PAGES, "served " + served + " of " + MOST_PAGES);
  }
}
