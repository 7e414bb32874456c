package io.kvstore.bench.replay;

import io.kvstore.bench.report.Plots;
import io.kvstore.bench.report.ReportFormat;
import io.kvstore.bench.report.RunReport;
import io.kvstore.bench.report.TierResult;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;

/** Writes the files of a {@code replay} or {@code load} run (or sweep) into its output directory. */
public final class ReportOutput {

  private ReportOutput() {}

  /**
   * Writes {@code report.json}, {@code report.csv}, {@code latency-cdf.png}, {@code throughput.png}
   * and, when {@code capacities} is not null (a capacity sweep), {@code hit-ratio.png}; prints each
   * file's path to {@code out}.
   *
   * @param capacities the swept capacity of each run, in MiB, or null
   */
  public static void write(List<RunResult> runs, double[] capacities, Path dir, PrintWriter out)
      throws IOException {
    Files.createDirectories(dir);
    List<RunReport> reports = runs.stream().map(RunResult::report).toList();
    List<Path> written = new ArrayList<>();
    written.add(writeString(dir.resolve("report.json"), ReportFormat.toJson(reports)));
    written.add(writeString(dir.resolve("report.csv"), ReportFormat.toCsv(reports)));
    Map<String, Histogram> cdf = new LinkedHashMap<>();
    List<Plots.Timeline> timelines = new ArrayList<>();
    for (RunResult r : runs) {
      String name = name(r.report());
      cdf.put(name + " fetch", r.fetchLatency());
      cdf.put(name + " put", r.putLatency());
      timelines.add(new Plots.Timeline(name, r.report().timelineBinNanos() / 1e9,
          r.report().timelineGigabytesPerSecond()));
    }
    String command = reports.get(0).command();
    Path latency = dir.resolve("latency-cdf.png");
    Plots.latencyCdf(cdf, "kvbench " + command + ": latency per call (CDF)", latency);
    written.add(latency);
    Path throughput = dir.resolve("throughput.png");
    Plots.throughput(timelines, "kvbench " + command + ": throughput over time", throughput);
    written.add(throughput);
    if (capacities != null) {
      Map<String, double[]> ratios = new LinkedHashMap<>();
      ratios.put("all tiers", reports.stream().mapToDouble(RunReport::hitRatio).toArray());
      for (TierResult t : reports.get(0).tiers()) {
        ratios.put(t.tier(), reports.stream().mapToDouble(r -> r.tiers().stream()
            .filter(x -> x.tier().equals(t.tier())).mapToDouble(r::tierHitRatio).sum()).toArray());
      }
      Path hit = dir.resolve("hit-ratio.png");
      Plots.hitRatio(capacities, "MiB of DRAM tier", ratios,
          "kvbench " + command + ": hit ratio vs capacity", hit);
      written.add(hit);
    }
    for (Path p : written) {
      out.println("wrote " + p);
    }
  }

  private static String name(RunReport r) {
    return r.label().isEmpty() ? r.target() : r.target() + " " + r.label();
  }

  private static Path writeString(Path file, String text) throws IOException {
    Files.writeString(file, text, StandardCharsets.UTF_8);
    return file;
  }
}
