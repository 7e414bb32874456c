package io.kvstore.server.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.store.StoreStats;
import io.kvstore.core.store.StoreStats.TierStats;
import io.kvstore.core.tier.TierKind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** docs/metrics.md lists exactly the families the daemon exposes, each with its type. */
class MetricsDocTest {

  @Test
  void shouldDocumentEveryFamilyWithItsType() throws IOException {
    MetricsRegistry registry = new MetricsRegistry();
    new ServerMetrics(registry);
    StoreMetrics.register(registry, () -> new StoreStats(0, 0, 0, 0, 0, 0, 0, 0, 0,
        List.of(new TierStats(TierKind.HOT, 0, 0, 0, 0, 0, 0, 0, 0, 0))));
    String doc = Files.readString(Path.of("..", "docs", "metrics.md"), StandardCharsets.UTF_8);

    List<String> exposed = new ArrayList<>();
    for (String line : registry.scrape().split("\n")) {
      if (line.startsWith("# TYPE ")) {
        String[] parts = line.split(" ");
        exposed.add(parts[2]);
        assertTrue(doc.contains("| `" + parts[2] + "` | " + parts[3] + " |"),
            parts[2] + " (" + parts[3] + ") is not in docs/metrics.md");
      }
    }
    List<String> documented = new ArrayList<>();
    for (String line : doc.split("\n")) {
      if (line.startsWith("| `kvstore_")) {
        documented.add(line.substring(3, line.indexOf('`', 3)));
      }
    }
    assertEquals(exposed.stream().sorted().toList(), documented.stream().sorted().toList());
  }
}
