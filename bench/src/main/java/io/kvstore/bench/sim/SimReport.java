package io.kvstore.bench.sim;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.kvstore.bench.trace.Trace;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The hit ratios of a {@link SimSweep}: one result per policy and capacity, plus Belady's MIN per
 * capacity when it was run, written as a text table, JSON or CSV. "Of MIN" is a policy's hit ratio
 * as a share of MIN's at the same capacity.
 */
public final class SimReport {

  private final String traceSummary;
  private final String traceSource;
  private final int requests;
  private final int uniqueBlocks;
  private final long references;
  private final int[] capacities;
  private final String admission;
  private final List<SimResult> results;
  private final List<SimResult> min;

  SimReport(
      Trace trace,
      int[] capacities,
      String admission,
      List<SimResult> results,
      List<SimResult> min) {
    this.traceSummary = trace.toString();
    this.traceSource = trace.source();
    this.requests = trace.requestCount();
    this.uniqueBlocks = trace.uniqueBlocks();
    this.references = trace.blockReferences();
    this.capacities = capacities.clone();
    this.admission = admission;
    this.results = List.copyOf(results);
    this.min = List.copyOf(min);
  }

  /** The policy results, in run order (policy by policy, capacities ascending as given). */
  public List<SimResult> results() {
    return results;
  }

  /** Belady's MIN per capacity, in the order of the capacities (empty if it was not run). */
  public List<SimResult> min() {
    return min;
  }

  /** The capacities, in blocks. */
  public int[] capacities() {
    return capacities.clone();
  }

  /**
   * The result of {@code policy} (or {@link BeladySimulator#NAME}) at {@code capacity} blocks.
   *
   * @throws IllegalArgumentException if the sweep has no such result
   */
  public SimResult result(String policy, int capacity) {
    List<SimResult> all = new ArrayList<>(results);
    all.addAll(min);
    for (SimResult r : all) {
      if (r.policy().equals(policy) && r.capacityBlocks() == capacity) {
        return r;
      }
    }
    throw new IllegalArgumentException("no result for " + policy + " at " + capacity + " blocks");
  }

  /** {@code r}'s hit ratio over MIN's at the same capacity, or {@code NaN} without MIN. */
  public double ofMin(SimResult r) {
    for (SimResult m : min) {
      if (m.capacityBlocks() == r.capacityBlocks()) {
        return m.hitRatio() == 0 ? Double.NaN : r.hitRatio() / m.hitRatio();
      }
    }
    return Double.NaN;
  }

  /** Writes the human-readable table: a row per policy, a column per capacity. */
  public void writeTable(PrintWriter out) {
    out.println("trace: " + traceSummary);
    out.println("admission: " + admission + "; hit ratio = prefix-hit blocks / block references"
        + (min.isEmpty() ? "" : "; (x%) = share of Belady's MIN"));
    Set<String> policies = new LinkedHashSet<>();
    results.forEach(r -> policies.add(r.policy()));
    int nameWidth = Math.max(16, policies.stream().mapToInt(String::length).max().orElse(0) + 2);
    int cell = 17;
    StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "%-" + nameWidth + "s", "capacity"));
    StringBuilder blocks = new StringBuilder(String.format(Locale.ROOT, "%-" + nameWidth + "s", "  (blocks)"));
    for (int c : capacities) {
      head.append(String.format(Locale.ROOT, "%" + cell + "s", percent((double) c / uniqueBlocks)));
      blocks.append(String.format(Locale.ROOT, "%" + cell + "d", c));
    }
    out.println(head);
    out.println(blocks);
    for (String p : policies) {
      StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%-" + nameWidth + "s", p));
      for (int c : capacities) {
        SimResult r = result(p, c);
        double of = ofMin(r);
        String text = Double.isNaN(of)
            ? String.format(Locale.ROOT, "%.4f", r.hitRatio())
            : String.format(Locale.ROOT, "%.4f (%s)", r.hitRatio(), percent(of));
        row.append(String.format(Locale.ROOT, "%" + cell + "s", text));
      }
      out.println(row);
    }
    if (!min.isEmpty()) {
      StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%-" + nameWidth + "s", BeladySimulator.NAME));
      for (SimResult m : min) {
        row.append(String.format(Locale.ROOT, "%" + cell + "s", String.format(Locale.ROOT, "%.4f", m.hitRatio())));
      }
      out.println(row);
    }
    out.flush();
  }

  /** Writes the report as one JSON document. */
  public void writeJson(Path file) throws IOException {
    try (JsonGenerator g = new JsonFactory().createGenerator(file.toFile(), JsonEncoding.UTF8)) {
      g.useDefaultPrettyPrinter();
      g.writeStartObject();
      g.writeObjectFieldStart("trace");
      g.writeStringField("source", traceSource);
      g.writeNumberField("requests", requests);
      g.writeNumberField("uniqueBlocks", uniqueBlocks);
      g.writeNumberField("blockReferences", references);
      g.writeEndObject();
      g.writeStringField("admission", admission);
      g.writeArrayFieldStart("capacities");
      for (int c : capacities) {
        g.writeNumber(c);
      }
      g.writeEndArray();
      g.writeArrayFieldStart("results");
      List<SimResult> all = new ArrayList<>(results);
      all.addAll(min);
      for (SimResult r : all) {
        g.writeStartObject();
        g.writeStringField("policy", r.policy());
        g.writeNumberField("capacityBlocks", r.capacityBlocks());
        g.writeNumberField("capacityShare", (double) r.capacityBlocks() / uniqueBlocks);
        g.writeNumberField("hitBlocks", r.hitBlocks());
        g.writeNumberField("references", r.references());
        g.writeNumberField("hitRatio", r.hitRatio());
        double of = ofMin(r);
        if (!Double.isNaN(of)) {
          g.writeNumberField("ofMin", of);
        }
        g.writeNumberField("insertions", r.insertions());
        g.writeNumberField("evictions", r.evictions());
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    }
  }

  /** Writes one CSV row per result (MIN's rows included), with a header row. */
  public void writeCsv(Path file) throws IOException {
    try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      w.write("policy,capacity_blocks,capacity_share,hit_blocks,references,hit_ratio,of_min,"
          + "insertions,evictions\n");
      List<SimResult> all = new ArrayList<>(results);
      all.addAll(min);
      for (SimResult r : all) {
        double of = ofMin(r);
        w.write(String.format(Locale.ROOT, "%s,%d,%.6f,%d,%d,%.6f,%s,%d,%d\n",
            r.policy(), r.capacityBlocks(), (double) r.capacityBlocks() / uniqueBlocks,
            r.hitBlocks(), r.references(), r.hitRatio(),
            Double.isNaN(of) ? "" : String.format(Locale.ROOT, "%.6f", of),
            r.insertions(), r.evictions()));
      }
    }
  }

  private static String percent(double share) {
    return String.format(Locale.ROOT, "%.1f%%", share * 100);
  }
}
