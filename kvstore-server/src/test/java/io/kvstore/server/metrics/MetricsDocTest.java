package io.kvstore.server.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.server.cluster.ClusterMetrics;
import io.kvstore.core.store.StoreStats;
import io.kvstore.core.store.StoreStats.TierStats;
import io.kvstore.core.tier.TierKind;
import io.kvstore.server.net.NetCounters;
import io.kvstore.server.net.NetMetrics;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * docs/metrics.md lists exactly the kvstore and Netty families the daemon serves, each with its
 * type, and every JVM and process family this JVM serves (which of those appear depends on the
 * JVM and its flags, so the doc may list more).
 */
class MetricsDocTest {

  @Test
  void shouldDocumentEveryFamilyWithItsType() throws IOException {
    // Registered as KvStoreDaemon.start() does.
    MetricsRegistry registry = new MetricsRegistry();
    ServerMetrics metrics = new ServerMetrics(registry);
    StoreMetrics.register(registry, () -> new StoreStats(0, 0, 0, 0, 0, 0, 0, 0, 0,
        List.of(new TierStats(TierKind.HOT, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))));
    metrics.registerJvmAndNettyMetrics();
    new Health(HealthProbe.NEVER_DEGRADED).register(registry);
    NetMetrics.register(metrics, new NetCounters(), () -> 0, () -> 0);
    NetMetrics.registerSharedMemory(metrics, () -> null);
    // Only with cluster = etcd://...; documented all the same.
    ClusterMetrics.register(metrics, new ClusterMetrics.Source() {
      @Override public boolean registered() {
        return true;
      }

      @Override public long registrations() {
        return 1;
      }

      @Override public long failedAttempts() {
        return 0;
      }

      @Override public long leasesLost() {
        return 0;
      }
    });
    metrics.recordError("OVERLOADED"); // a family without samples is not written
    String doc = Files.readString(Path.of("..", "docs", "metrics.md"), StandardCharsets.UTF_8);

    List<String> exposedOwn = new ArrayList<>();
    for (String line : registry.scrape().split("\n")) {
      if (line.startsWith("# TYPE ")) {
        String[] parts = line.split(" ");
        assertTrue(doc.contains("| `" + parts[2] + "` | " + parts[3] + " |"),
            parts[2] + " (" + parts[3] + ") is not in docs/metrics.md");
        if (parts[2].startsWith("kvstore_") || parts[2].startsWith("netty_")) {
          exposedOwn.add(parts[2]);
        }
      }
    }
    List<String> documentedOwn = new ArrayList<>();
    for (String line : doc.split("\n")) {
      if (line.startsWith("| `kvstore_") || line.startsWith("| `netty_")) {
        documentedOwn.add(line.substring(3, line.indexOf('`', 3)));
      }
    }
    assertEquals(exposedOwn.stream().sorted().toList(), documentedOwn.stream().sorted().toList());
    assertTrue(exposedOwn.size() > 30, exposedOwn.toString());
  }
}
