package io.kvstore.server.net;

import io.kvstore.common.PageFormat;
import io.kvstore.core.store.TieredStore;
import io.kvstore.core.store.TieredStoreBuilder;
import io.kvstore.core.tier.TierKind;
import io.kvstore.server.config.ServerConfig;
import io.kvstore.server.config.ServerConfigBuilder;
import io.kvstore.server.metrics.MetricsRegistry;
import io.kvstore.server.metrics.ServerMetrics;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.SplittableRandom;

/** Pages, stores and servers for the network tests. */
public final class NetFixtures {

  /** Largest page of the test stores: a 2 MiB payload and its header. */
  public static final int MAX_PAGE = PageFormat.pageLength(2 << 20);

  private NetFixtures() {}

  /**
   * A page with a random payload (seeded by the key, so the same key gives the same bytes) and a
   * valid header; a direct buffer, position 0, limit the page length.
   */
  public static ByteBuffer page(long hi, long lo, long namespaceId, int payloadLength) {
    ByteBuffer page = ByteBuffer.allocateDirect(PageFormat.pageLength(payloadLength));
    SplittableRandom random = new SplittableRandom(hi * 31 + lo);
    for (int i = PageFormat.HEADER_LENGTH; i < page.capacity(); i++) {
      page.put(i, (byte) random.nextInt(256));
    }
    PageFormat.writeHeader(page, 0, hi, lo, 0, 0, namespaceId, 16, payloadLength);
    return page;
  }

  /** The page's bytes (position to limit) as an array. */
  public static byte[] bytes(ByteBuffer page) {
    byte[] b = new byte[page.remaining()];
    page.duplicate().get(b);
    return b;
  }

  /** The bytes {@code [0, length)} of {@code buf}. */
  public static byte[] bytes(ByteBuffer buf, int length) {
    byte[] b = new byte[length];
    buf.duplicate().position(0).limit(length).get(b);
    return b;
  }

  /**
   * A store with every tier: hot 8 MiB, DRAM 8 MiB, SSD 256 MiB, pages up to {@link #MAX_PAGE}; a
   * few dozen 512 KiB pages reach the SSD tier.
   */
  public static TieredStoreBuilder smallStore(Path dir) {
    return TieredStore.builder()
        .dataDir(dir)
        .maxPageBytes(MAX_PAGE)
        .hotFrameBytes(MAX_PAGE)
        .hotBytes(4L * MAX_PAGE)
        .dramBytes(8L << 20)
        .ssdBytes(256L << 20)
        .indexMaxEntries(100_000);
  }

  /** A server configuration on a free loopback port, with the given limits left at defaults. */
  public static ServerConfigBuilder config() {
    return ServerConfig.builder().host("127.0.0.1").port(0).metricsPort(0)
        .maxPageBytes(MAX_PAGE).handshakeTimeoutSeconds(10).shutdownGraceSeconds(5);
  }

  /** Fresh server metrics in their own registry. */
  public static ServerMetrics metrics() {
    return new ServerMetrics(new MetricsRegistry());
  }

  /** Which tier holds the key (the fastest one), or null. */
  public static TierKind whereIs(TieredStore store, long hi, long lo) {
    int[] perTier = new int[TierKind.values().length];
    if (store.lookupPrefix(new long[] {hi, lo}, 1, perTier) == 0) {
      return null;
    }
    for (TierKind k : TierKind.values()) {
      if (perTier[k.ordinal()] == 1) {
        return k;
      }
    }
    throw new AssertionError("lookupPrefix found the key in no tier");
  }
}
