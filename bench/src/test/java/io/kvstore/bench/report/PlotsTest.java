package io.kvstore.bench.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlotsTest {

  @TempDir Path dir;

  @Test
  void shouldWriteReadablePngs() throws IOException {
    Histogram a = Histograms.newLatencyHistogram();
    Histogram b = Histograms.newLatencyHistogram();
    for (int i = 1; i <= 1000; i++) {
      a.recordValue(i * 1_000L);
      b.recordValue(i * 3_000L);
    }
    Map<String, Histogram> series = new LinkedHashMap<>();
    series.put("fetch", a);
    series.put("put", b);
    series.put("empty", Histograms.newLatencyHistogram());
    Path cdf = dir.resolve("latency-cdf.png");
    Plots.latencyCdf(series, "latency", cdf);
    assertPng(cdf);

    Path tp = dir.resolve("out/throughput.png");
    Plots.throughput(List.of(new Plots.Timeline("run", 0.25, new double[] {0.1, 0.3, 0.2})),
        "throughput", tp);
    assertPng(tp);

    Path hit = dir.resolve("hit-ratio.png");
    Plots.hitRatio(new double[] {64, 128, 256}, "MiB", Map.of("all", new double[] {0.1, 0.2, 0.4}),
        "hit ratio", hit);
    assertPng(hit);

    Path bars = dir.resolve("bars.png");
    Plots.bars(List.of("get", "put"), Map.of("redis", new double[] {1, 2}), "bars", "GB/s", bars);
    assertPng(bars);
  }

  @Test
  void shouldRefuseMismatchedSeries() {
    assertThrows(IllegalArgumentException.class, () -> Plots.hitRatio(new double[] {1, 2}, "MiB",
        Map.of("x", new double[] {0.1}), "t", dir.resolve("x.png")));
    assertThrows(IllegalArgumentException.class, () -> Plots.latencyCdf(
        Map.of("none", Histograms.newLatencyHistogram()), "t", dir.resolve("y.png")));
  }

  private static void assertPng(Path file) throws IOException {
    byte[] magic = Arrays.copyOf(java.nio.file.Files.readAllBytes(file), 8);
    assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, magic);
    BufferedImage img = ImageIO.read(file.toFile());
    assertEquals(560, img.getHeight());
  }
}
