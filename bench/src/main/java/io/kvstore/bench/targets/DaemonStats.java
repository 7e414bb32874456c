package io.kvstore.bench.targets;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the per-tier counters out of the daemon's STATS text ({@code spec/3-wire-protocol.md}
 * §3.4.3: {@code name value} lines, the Prometheus text format without comments; names as in {@code
 * docs/metrics.md}), e.g. {@code kvstore_tier_hits_total{tier="dram"} 1234}.
 */
public final class DaemonStats {

  private static final Pattern TIER_SAMPLE = Pattern.compile(
      "(kvstore_tier_(?:hits|promotions|demotions)_total)\\{tier=\"([a-z]+)\"\\}\\s+([0-9.eE+]+)");
  private static final Pattern QUEUE_HITS =
      Pattern.compile("kvstore_writeback_queue_hits_total\\s+([0-9.eE+]+)");
  private static final List<String> TIER_ORDER = List.of("hot", "dram", "ssd");

  private DaemonStats() {}

  /**
   * The value of the sample named exactly {@code name} (labels included, e.g. {@code
   * kvstore_tier_evictions_total{tier="ssd"}}), or -1 if the text has none.
   */
  public static long sample(String text, String name) {
    for (String line : text.split("\n")) {
      String l = line.trim();
      if (l.length() > name.length() && l.startsWith(name)
          && Character.isWhitespace(l.charAt(name.length()))) {
        return (long) Double.parseDouble(l.substring(name.length()).trim());
      }
    }
    return -1;
  }

  /**
   * The tiers that have a {@code kvstore_tier_hits_total} sample, fastest first. Gets served from a
   * page waiting in the write-back queue ({@code kvstore_writeback_queue_hits_total}) count as SSD
   * hits, as {@code EmbeddedTarget} counts them.
   *
   * @throws IllegalArgumentException if the text has no tier at all (not a kvstore daemon's STATS)
   */
  public static TierCounters parse(String text) {
    Map<String, long[]> byTier = new LinkedHashMap<>();
    for (String tier : TIER_ORDER) {
      byTier.put(tier, null);
    }
    long queueHits = 0;
    for (String line : text.split("\n")) {
      Matcher q = QUEUE_HITS.matcher(line.trim());
      if (q.matches()) {
        queueHits = (long) Double.parseDouble(q.group(1));
        continue;
      }
      Matcher m = TIER_SAMPLE.matcher(line.trim());
      if (!m.matches()) {
        continue;
      }
      long[] v = byTier.computeIfAbsent(m.group(2), k -> null);
      if (v == null) {
        v = new long[3];
        byTier.put(m.group(2), v);
      }
      long value = (long) Double.parseDouble(m.group(3));
      switch (m.group(1)) {
        case "kvstore_tier_hits_total" -> v[0] = value;
        case "kvstore_tier_promotions_total" -> v[1] = value;
        default -> v[2] = value;
      }
    }
    long[] ssd = byTier.get("ssd");
    if (ssd != null) {
      ssd[0] += queueHits;
    }
    List<TierCounters.Tier> tiers = new ArrayList<>();
    byTier.forEach((name, v) -> {
      if (v != null) {
        tiers.add(new TierCounters.Tier(name, v[0], v[1], v[2]));
      }
    });
    if (tiers.isEmpty()) {
      throw new IllegalArgumentException(
          "the STATS answer has no kvstore_tier_hits_total samples: is this a kvstore daemon?");
    }
    return new TierCounters(tiers);
  }
}
