package io.kvstore.bench.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.BitmapEncoder.BitmapFormat;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler.LegendPosition;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * PNG plots of kvbench runs, drawn with XChart without a display ({@code java.awt.headless} is set
 * before the first chart, so it also works on a server without X).
 */
public final class Plots {

  private static final int WIDTH = 900;
  private static final int HEIGHT = 560;

  static {
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
  }

  private Plots() {}

  /** One named series of a throughput timeline. */
  public record Timeline(String name, double binSeconds, double[] gigabytesPerSecond) {}

  /**
   * Latency CDFs, one line per histogram (nanosecond values), x in microseconds on a log axis.
   *
   * @param series name to histogram, drawn in iteration order; empty histograms are skipped
   */
  public static void latencyCdf(Map<String, Histogram> series, String title, Path file)
      throws IOException {
    XYChart chart = chart(title, "latency (µs, log scale)", "share of calls at or below");
    chart.getStyler().setXAxisLogarithmic(true);
    chart.getStyler().setYAxisMin(0.0);
    chart.getStyler().setYAxisMax(1.0);
    chart.getStyler().setXAxisDecimalPattern("#,##0.#");
    int drawn = 0;
    for (Map.Entry<String, Histogram> e : series.entrySet()) {
      if (e.getValue().getTotalCount() == 0) {
        continue;
      }
      double[][] cdf = Histograms.cdfMicros(e.getValue());
      XYSeries s = chart.addSeries(e.getKey(), cdf[0], cdf[1]);
      s.setMarker(SeriesMarkers.NONE);
      drawn++;
    }
    if (drawn == 0) {
      throw new IllegalArgumentException("no latency samples to plot in " + file);
    }
    save(chart, file);
  }

  /** Throughput over time, one line per timeline, x in seconds since the start of each run. */
  public static void throughput(List<Timeline> timelines, String title, Path file) throws IOException {
    XYChart chart = chart(title, "time (s)", "throughput (GB/s)");
    chart.getStyler().setYAxisMin(0.0);
    chart.getStyler().setYAxisDecimalPattern("0.###");
    for (Timeline t : timelines) {
      double[] y = t.gigabytesPerSecond().length == 0 ? new double[] {0} : t.gigabytesPerSecond();
      double[] x = new double[y.length];
      for (int i = 0; i < x.length; i++) {
        x[i] = (i + 1) * t.binSeconds();
      }
      XYSeries s = chart.addSeries(t.name(), x, y);
      s.setMarker(SeriesMarkers.CIRCLE);
    }
    save(chart, file);
  }

  /**
   * Hit ratio against capacity.
   *
   * @param capacities x values (e.g. MiB of DRAM), ascending
   * @param ratios series name to one hit ratio per capacity
   */
  public static void hitRatio(
      double[] capacities, String capacityUnit, Map<String, double[]> ratios, String title, Path file)
      throws IOException {
    XYChart chart = chart(title, "capacity (" + capacityUnit + ")", "hit ratio");
    chart.getStyler().setYAxisMin(0.0);
    chart.getStyler().setYAxisMax(1.0);
    for (Map.Entry<String, double[]> e : ratios.entrySet()) {
      if (e.getValue().length != capacities.length) {
        throw new IllegalArgumentException(
            e.getKey() + " has " + e.getValue().length + " ratios for " + capacities.length
                + " capacities");
      }
      XYSeries s = chart.addSeries(e.getKey(), capacities, e.getValue());
      s.setMarker(SeriesMarkers.CIRCLE);
    }
    save(chart, file);
  }

  /**
   * Grouped bars: one group per category, one bar per series in each.
   *
   * @param values series name to one value per category
   */
  public static void bars(List<String> categories, Map<String, double[]> values, String title,
      String yTitle, Path file) throws IOException {
    CategoryChart chart = new CategoryChartBuilder().width(Math.max(WIDTH, 90 * categories.size()))
        .height(HEIGHT).title(title).xAxisTitle("").yAxisTitle(yTitle).build();
    chart.getStyler().setLegendPosition(LegendPosition.InsideNW);
    chart.getStyler().setXAxisLabelRotation(45);
    chart.getStyler().setYAxisDecimalPattern("0.###");
    for (Map.Entry<String, double[]> e : values.entrySet()) {
      if (e.getValue().length != categories.size()) {
        throw new IllegalArgumentException(
            e.getKey() + " has " + e.getValue().length + " values for " + categories.size()
                + " categories");
      }
      List<Double> ys = new java.util.ArrayList<>();
      for (double v : e.getValue()) {
        ys.add(v);
      }
      chart.addSeries(e.getKey(), categories, ys);
    }
    save(chart, file);
  }

  private static XYChart chart(String title, String x, String y) {
    XYChart chart =
        new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(x).yAxisTitle(y).build();
    chart.getStyler().setLegendPosition(LegendPosition.InsideSE);
    chart.getStyler().setPlotGridLinesVisible(true);
    chart.getStyler().setAntiAlias(true);
    return chart;
  }

  private static void save(Chart<?, ?> chart, Path file) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    // BitmapEncoder appends the extension itself when the name lacks it.
    BitmapEncoder.saveBitmap(chart, file.toString(), BitmapFormat.PNG);
  }
}
