package io.kvstore.bench.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Writes {@link RunReport}s as the table printed on stdout, as JSON and as CSV. JSON and CSV have a
 * fixed field order and fixed rounding, so two runs can be compared with a text diff and the formats
 * are pinned by tests. Latencies are in microseconds, TTFT in milliseconds, throughput in GB/s
 * (10^9 bytes per second).
 */
public final class ReportFormat {

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private ReportFormat() {}

  // ------------------------------------------------------------------------------------- table

  /** Prints the human-readable table of one run. */
  public static void writeTable(RunReport r, PrintWriter out) {
    out.printf(Locale.ROOT, "kvbench %s: %s%s%n", r.command(), r.target(),
        r.label().isEmpty() ? "" : " (" + r.label() + ")");
    out.printf(Locale.ROOT, "workload    %s%n", r.workload());
    out.printf(Locale.ROOT, "pages       %s payload + 64 B header, %d workers%n",
        bytes(r.pageBytes()), r.workers());
    out.printf(Locale.ROOT, "elapsed     %.2f s, %,d requests%n", r.elapsedNanos() / 1e9, r.requests());
    out.printf(Locale.ROOT, "throughput  %,.1f requests/s  %,.1f ops/s  %,.1f pages/s  %.3f GB/s%n",
        r.requestsPerSecond(), r.opsPerSecond(), r.pagesPerSecond(), r.gigabytesPerSecond());
    out.printf(Locale.ROOT, "%-11s %9s %10s %10s %10s %10s %10s %10s%n",
        "latency us", "calls", "mean", "p50", "p90", "p99", "p99.9", "max");
    latencyRow(out, "  fetch", r.fetchLatency());
    latencyRow(out, "  put", r.putLatency());
    out.printf(Locale.ROOT, "hit ratio   %.4f (%,d of %,d blocks); prefix-hit tokens %.4f (%,d of %,d)%n",
        r.hitRatio(), r.hitBlocks(), r.blockReferences(), r.prefixHitTokenRatio(), r.hitTokens(),
        r.tokens());
    for (TierResult t : r.tiers()) {
      out.printf(Locale.ROOT, "  %-9s hit ratio %.4f  promoted %s (%,d pages)  demoted %s (%,d pages)%n",
          t.tier(), r.tierHitRatio(t), bytes(t.promotedBytes()), t.promotedPages(),
          bytes(t.demotedBytes()), t.demotedPages());
    }
    out.printf(Locale.ROOT, "TTFT ms     %9s %10s %10s   (model: prefill at %,.0f tokens/s)%n",
        "mean", "p50", "p99", r.prefillTokensPerS());
    ttftRow(out, "  no store", r.ttftWithout());
    ttftRow(out, "  kvstore", r.ttftWith());
    out.printf(Locale.ROOT, "errors      %,d pages failed verification, %,d puts refused%n",
        r.errors(), r.putRejects());
    out.printf(Locale.ROOT, "failed      %,d calls%s%n", r.failedCalls(),
        r.failedCalls() == 0 ? "" : " (" + causes(r) + "; the run went on; their requests are left out of the"
            + " figures above)");
  }

  /** {@code CONNECTION_CLOSED 12, TIMEOUT 1}: failed calls by cause, most first. */
  private static String causes(RunReport r) {
    List<String> parts = new ArrayList<>();
    r.failedCallsByCause().entrySet().stream()
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed()
            .thenComparing(Map.Entry.comparingByKey()))
        .forEach(e -> parts.add(String.format(Locale.ROOT, "%s %,d", e.getKey(), e.getValue())));
    return String.join(", ", parts);
  }

  private static void latencyRow(PrintWriter out, String name, LatencySummary s) {
    out.printf(Locale.ROOT, "%-11s %,9d %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f%n", name, s.count(),
        s.meanNanos() / 1e3, s.p50Nanos() / 1e3, s.p90Nanos() / 1e3, s.p99Nanos() / 1e3,
        s.p999Nanos() / 1e3, s.maxNanos() / 1e3);
  }

  private static void ttftRow(PrintWriter out, String name, LatencySummary s) {
    out.printf(Locale.ROOT, "%-11s %9.2f %10.2f %10.2f%n", name, s.meanNanos() / 1e6,
        s.p50Nanos() / 1e6, s.p99Nanos() / 1e6);
  }

  /** {@code n} bytes in the largest binary unit that keeps it at or above 1 (e.g. 1.50 MiB). */
  public static String bytes(long n) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = n;
    int u = 0;
    while (Math.abs(v) >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    if (u == 0) {
      return n + " B";
    }
    return v == Math.rint(v)
        ? String.format(Locale.ROOT, "%d %s", (long) v, units[u])
        : String.format(Locale.ROOT, "%.2f %s", v, units[u]);
  }

  // -------------------------------------------------------------------------------------- JSON

  /** The runs as a JSON document {@code {"runs": [...]}}, pretty-printed. */
  public static String toJson(List<RunReport> runs) {
    ObjectNode root = JSON.createObjectNode();
    ArrayNode array = root.putArray("runs");
    for (RunReport r : runs) {
      array.add(toJsonNode(r));
    }
    try {
      return JSON.writeValueAsString(root) + "\n";
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      // A tree of numbers and strings always serialises.
      throw new IllegalStateException(e);
    }
  }

  private static ObjectNode toJsonNode(RunReport r) {
    ObjectNode n = JSON.createObjectNode();
    n.put("command", r.command());
    n.put("target", r.target());
    n.put("workload", r.workload());
    n.put("label", r.label());
    n.put("pageBytes", r.pageBytes());
    n.put("workers", r.workers());
    n.put("elapsedSeconds", round(r.elapsedNanos() / 1e9, 6));
    n.put("requests", r.requests());
    ObjectNode tp = n.putObject("throughput");
    tp.put("requestsPerSecond", round(r.requestsPerSecond(), 3));
    tp.put("opsPerSecond", round(r.opsPerSecond(), 3));
    tp.put("pagesPerSecond", round(r.pagesPerSecond(), 3));
    tp.put("gigabytesPerSecond", round(r.gigabytesPerSecond(), 6));
    ObjectNode fetch = n.putObject("fetch");
    fetch.put("calls", r.fetchCalls());
    fetch.put("pages", r.pagesFetched());
    fetch.put("bytes", r.bytesFetched());
    latencyJson(fetch.putObject("latencyMicros"), r.fetchLatency());
    ObjectNode put = n.putObject("put");
    put.put("calls", r.putCalls());
    put.put("pages", r.pagesPut());
    put.put("bytes", r.bytesPut());
    put.put("rejects", r.putRejects());
    latencyJson(put.putObject("latencyMicros"), r.putLatency());
    ObjectNode hits = n.putObject("hits");
    hits.put("blockReferences", r.blockReferences());
    hits.put("hitBlocks", r.hitBlocks());
    hits.put("hitRatio", round(r.hitRatio(), 6));
    hits.put("tokens", r.tokens());
    hits.put("hitTokens", r.hitTokens());
    hits.put("prefixHitTokenRatio", round(r.prefixHitTokenRatio(), 6));
    ArrayNode tiers = n.putArray("tiers");
    for (TierResult t : r.tiers()) {
      ObjectNode tn = tiers.addObject();
      tn.put("tier", t.tier());
      tn.put("hits", t.hits());
      tn.put("hitRatio", round(r.tierHitRatio(t), 6));
      tn.put("promotedPages", t.promotedPages());
      tn.put("promotedBytes", t.promotedBytes());
      tn.put("demotedPages", t.demotedPages());
      tn.put("demotedBytes", t.demotedBytes());
    }
    ObjectNode ttft = n.putObject("ttftMillis");
    ttft.put("prefillTokensPerSecond", r.prefillTokensPerS());
    ttftJson(ttft.putObject("withoutStore"), r.ttftWithout());
    ttftJson(ttft.putObject("withStore"), r.ttftWith());
    n.put("errors", r.errors());
    ObjectNode failed = n.putObject("failedCalls");
    failed.put("total", r.failedCalls());
    ObjectNode byCause = failed.putObject("byCause");
    new TreeMap<>(r.failedCallsByCause()).forEach(byCause::put);
    ObjectNode timeline = n.putObject("timeline");
    timeline.put("binSeconds", round(r.timelineBinNanos() / 1e9, 6));
    ArrayNode gbps = timeline.putArray("gigabytesPerSecond");
    for (double v : r.timelineGigabytesPerSecond()) {
      gbps.add(round(v, 6));
    }
    return n;
  }

  private static void latencyJson(ObjectNode n, LatencySummary s) {
    n.put("count", s.count());
    n.put("mean", round(s.meanNanos() / 1e3, 3));
    n.put("p50", round(s.p50Nanos() / 1e3, 3));
    n.put("p90", round(s.p90Nanos() / 1e3, 3));
    n.put("p99", round(s.p99Nanos() / 1e3, 3));
    n.put("p99.9", round(s.p999Nanos() / 1e3, 3));
    n.put("max", round(s.maxNanos() / 1e3, 3));
  }

  private static void ttftJson(ObjectNode n, LatencySummary s) {
    n.put("mean", round(s.meanNanos() / 1e6, 6));
    n.put("p50", round(s.p50Nanos() / 1e6, 6));
    n.put("p99", round(s.p99Nanos() / 1e6, 6));
  }

  /** {@code v} rounded half-up to {@code decimals} places, as a JSON number without trailing zeros. */
  static BigDecimal round(double v, int decimals) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      return BigDecimal.ZERO;
    }
    BigDecimal d = BigDecimal.valueOf(v).setScale(decimals, RoundingMode.HALF_UP).stripTrailingZeros();
    return d.scale() < 0 ? d.setScale(0) : d;
  }

  // --------------------------------------------------------------------------------------- CSV

  /**
   * The runs as CSV: a header line, then one line per run. Per-tier columns ({@code
   * <tier>_hit_ratio}, {@code <tier>_promoted_bytes}, {@code <tier>_demoted_bytes}) for every tier
   * any run has, in order of first appearance; empty where a run lacks that tier.
   */
  public static String toCsv(List<RunReport> runs) {
    Set<String> tierNames = new LinkedHashSet<>();
    for (RunReport r : runs) {
      r.tiers().forEach(t -> tierNames.add(t.tier()));
    }
    List<String> header = new ArrayList<>(List.of(
        "command", "target", "workload", "label", "page_bytes", "workers", "elapsed_s", "requests",
        "requests_per_s", "ops_per_s", "pages_per_s", "gb_per_s",
        "fetch_calls", "fetch_mean_us", "fetch_p50_us", "fetch_p90_us", "fetch_p99_us",
        "fetch_p999_us", "put_calls", "put_mean_us", "put_p50_us", "put_p90_us", "put_p99_us",
        "put_p999_us", "hit_ratio", "prefix_hit_token_ratio"));
    for (String t : tierNames) {
      header.add(t + "_hit_ratio");
      header.add(t + "_promoted_bytes");
      header.add(t + "_demoted_bytes");
    }
    header.addAll(List.of("ttft_no_store_mean_ms", "ttft_no_store_p50_ms", "ttft_no_store_p99_ms",
        "ttft_kvstore_mean_ms", "ttft_kvstore_p50_ms", "ttft_kvstore_p99_ms", "errors",
        "put_rejects", "failed_calls"));
    StringBuilder sb = new StringBuilder();
    sb.append(String.join(",", header)).append('\n');
    for (RunReport r : runs) {
      List<String> row = new ArrayList<>(List.of(
          csv(r.command()), csv(r.target()), csv(r.workload()), csv(r.label()),
          Integer.toString(r.pageBytes()), Integer.toString(r.workers()),
          fixed(r.elapsedNanos() / 1e9, 3), Long.toString(r.requests()),
          fixed(r.requestsPerSecond(), 1), fixed(r.opsPerSecond(), 1), fixed(r.pagesPerSecond(), 1),
          fixed(r.gigabytesPerSecond(), 4), Long.toString(r.fetchCalls())));
      latencyCsv(row, r.fetchLatency());
      row.add(Long.toString(r.putCalls()));
      latencyCsv(row, r.putLatency());
      row.add(fixed(r.hitRatio(), 4));
      row.add(fixed(r.prefixHitTokenRatio(), 4));
      for (String name : tierNames) {
        TierResult t = r.tiers().stream().filter(x -> x.tier().equals(name)).findFirst().orElse(null);
        row.add(t == null ? "" : fixed(r.tierHitRatio(t), 4));
        row.add(t == null ? "" : Long.toString(t.promotedBytes()));
        row.add(t == null ? "" : Long.toString(t.demotedBytes()));
      }
      for (LatencySummary s : List.of(r.ttftWithout(), r.ttftWith())) {
        row.add(fixed(s.meanNanos() / 1e6, 3));
        row.add(fixed(s.p50Nanos() / 1e6, 3));
        row.add(fixed(s.p99Nanos() / 1e6, 3));
      }
      row.add(Long.toString(r.errors()));
      row.add(Long.toString(r.putRejects()));
      row.add(Long.toString(r.failedCalls()));
      sb.append(String.join(",", row)).append('\n');
    }
    return sb.toString();
  }

  private static void latencyCsv(List<String> row, LatencySummary s) {
    row.add(fixed(s.meanNanos() / 1e3, 1));
    row.add(fixed(s.p50Nanos() / 1e3, 1));
    row.add(fixed(s.p90Nanos() / 1e3, 1));
    row.add(fixed(s.p99Nanos() / 1e3, 1));
    row.add(fixed(s.p999Nanos() / 1e3, 1));
  }

  /** {@code v} with exactly {@code decimals} places (Locale.ROOT: a dot, no grouping). */
  public static String fixed(double v, int decimals) {
    return String.format(Locale.ROOT, "%." + decimals + "f", v);
  }

  /** A CSV field: quoted (with doubled quotes) when it holds a comma, quote or line break. */
  public static String csv(String s) {
    if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) {
      return s;
    }
    return '"' + s.replace("\"", "\"\"") + '"';
  }
}
