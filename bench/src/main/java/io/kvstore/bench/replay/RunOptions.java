package io.kvstore.bench.replay;

import io.kvstore.bench.report.ProgressBar;
import io.kvstore.bench.targets.ByteSize;
import io.kvstore.common.Namespace;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * Options every workload command shares (a picocli mixin): page size, batch, the TTFT model's
 * prefill rate, where to write the report, the progress bar, and the namespace of the pages.
 */
public final class RunOptions {

  @Option(names = "--page-size", paramLabel = "SIZE", defaultValue = "64KiB",
      description = "Payload bytes per page, e.g. 64KiB or 2MiB; each page also has a 64-byte"
          + " header (default: ${DEFAULT-VALUE}).")
  String pageSize;

  @Option(names = "--batch", paramLabel = "N", defaultValue = "32",
      description = "Most keys or pages per call (default: ${DEFAULT-VALUE}).")
  int batch;

  @Option(names = "--prefill-tokens-per-s", paramLabel = "RATE", defaultValue = "10000",
      description = "TTFT model: prompt tokens the engine computes per second (default:"
          + " ${DEFAULT-VALUE}).")
  double prefillTokensPerS;

  @Option(names = "--out", paramLabel = "DIR",
      description = "Write report.json, report.csv, latency-cdf.png and throughput.png (and"
          + " hit-ratio.png for a sweep) here.")
  Path out;

  @Option(names = "--progress", negatable = true,
      description = "Show a progress bar on stderr (default: when it is a terminal).")
  Boolean progress;

  @Option(names = "--model-id", paramLabel = "ID", defaultValue = "kvbench/synthetic",
      description = "Model id of the pages' namespace (default: ${DEFAULT-VALUE}).")
  String modelId;

  @Option(names = "--stop-on-failure",
      description = "End the run at the first failed call (a connection closed, a timeout, a"
          + " refusal) with its error, instead of counting it and going on. Either way a page whose"
          + " bytes do not verify is counted as an error and never used.")
  boolean stopOnFailure;

  /** Whether the first failed call ends the run. */
  public boolean stopOnFailure() {
    return stopOnFailure;
  }

  /** Payload bytes per page. */
  public int payloadBytes() {
    return ByteSize.parsePageBytes(pageSize);
  }

  /** Most keys per call. */
  public int batch() {
    return batch;
  }

  /** The TTFT model's prefill rate. */
  public double prefillTokensPerS() {
    if (!(prefillTokensPerS > 0) || Double.isInfinite(prefillTokensPerS)) {
      throw new IllegalArgumentException(
          "--prefill-tokens-per-s must be a positive number, got " + prefillTokensPerS);
    }
    return prefillTokensPerS;
  }

  /** The output directory, or null. */
  public Path out() {
    return out;
  }

  /** Whether to draw a progress bar. */
  public boolean progress() {
    return progress != null ? progress : ProgressBar.stderrIsTerminal();
  }

  /** The pages' namespace for blocks of {@code blockTokens} tokens. */
  public Namespace namespace(int blockTokens) {
    return Namespace.builder()
        .modelId(modelId)
        .dtype("bfloat16")
        .numLayers(32)
        .numKvHeads(8)
        .headDim(128)
        .blockSize(blockTokens)
        .build();
  }
}
