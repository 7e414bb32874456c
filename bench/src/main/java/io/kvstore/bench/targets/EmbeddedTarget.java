package io.kvstore.bench.targets;

import io.kvstore.core.store.StoreStats;
import io.kvstore.core.store.TieredStore;
import io.kvstore.core.store.TieredStoreBuilder;
import io.kvstore.core.tier.TierKind;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The embedded {@link TieredStore}, opened in this process. Sessions call the store directly: the
 * lookup is {@code lookupPrefix}, then one {@code get} per key of the run.
 */
public final class EmbeddedTarget implements Target {

  private final TieredStore store;
  private final Path tempDir;
  private volatile boolean closed;

  private EmbeddedTarget(TieredStore store, Path tempDir) {
    this.store = store;
    this.tempDir = tempDir;
  }

  /**
   * Opens a store.
   *
   * @param dataDir the SSD tier's and index's directory; {@code null} for a temp directory that
   *     is deleted on close
   * @param maxPageBytes largest page, header included
   * @param hotBytes hot tier capacity (0: no hot tier)
   * @param dramBytes DRAM tier capacity (0: none)
   * @param ssdBytes SSD tier capacity (0: none)
   * @param policy eviction policy name
   */
  public static EmbeddedTarget open(
      Path dataDir, int maxPageBytes, long hotBytes, long dramBytes, long ssdBytes, String policy) {
    Path temp = dataDir == null ? TempDirs.create("kvbench-store-") : null;
    try {
      TieredStoreBuilder b = TieredStore.builder()
          .dataDir(dataDir == null ? temp : dataDir)
          .maxPageBytes(maxPageBytes)
          .hotBytes(hotBytes)
          .dramBytes(dramBytes)
          .ssdBytes(ssdBytes)
          .policy(policy);
      if (ssdBytes > 0) {
        // Size the SSD tier's id space from this run's page length, not the 16 KiB default guess.
        b.ssdMaxPages(Math.max(1024, ssdBytes / maxPageBytes + 1));
      }
      return new EmbeddedTarget(b.build(), temp);
    } catch (RuntimeException e) {
      TempDirs.deleteRecursively(temp);
      throw e;
    }
  }

  /** The store, for tests. */
  public TieredStore store() {
    return store;
  }

  @Override
  public String name() {
    return "kvstore-embedded";
  }

  @Override
  public Session openSession() {
    return new EmbeddedSession();
  }

  @Override
  public TierCounters counters() {
    return fromStats(store.stats());
  }

  /**
   * The per-tier counters of a store snapshot, tiers named in lower case. A get served from a page
   * waiting in the write-back queue counts as an SSD hit: the page has left memory for the SSD tier
   * (as {@code TieredStore.lookupPrefix} counts it), and every hit is then one tier's.
   */
  static TierCounters fromStats(StoreStats stats) {
    List<TierCounters.Tier> tiers = new ArrayList<>();
    for (StoreStats.TierStats t : stats.tiers()) {
      long hits = t.hits() + (t.kind() == TierKind.SSD ? stats.writeBack().queueHits() : 0);
      tiers.add(new TierCounters.Tier(
          t.kind().name().toLowerCase(Locale.ROOT), hits, t.promotions(), t.demotions()));
    }
    return new TierCounters(tiers);
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      store.close();
    } finally {
      TempDirs.deleteRecursively(tempDir);
    }
  }

  private final class EmbeddedSession implements Session {

    @Override
    public int fetchPrefix(long[] keys, int count, ByteBuffer[] dsts) {
      int run = store.lookupPrefix(keys, count, null);
      for (int i = 0; i < run; i++) {
        ByteBuffer dst = dsts[i];
        dst.clear();
        if (store.get(keys[2 * i], keys[2 * i + 1], dst) < 0) {
          // Evicted between the lookup and the get: the run ends here, as it would for an engine.
          dst.clear();
          return i;
        }
        dst.flip();
      }
      return run;
    }

    @Override
    public int put(ByteBuffer[] pages, int count) {
      int stored = 0;
      for (int i = 0; i < count; i++) {
        if (store.put(pages[i])) {
          stored++;
        }
      }
      return stored;
    }

    @Override
    public void close() {
      // Calls go straight to the store, which the target owns: nothing per session.
    }
  }
}
