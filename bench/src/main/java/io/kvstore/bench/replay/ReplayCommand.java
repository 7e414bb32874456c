package io.kvstore.bench.replay;

import io.kvstore.bench.report.ProgressBar;
import io.kvstore.bench.report.ReportFormat;
import io.kvstore.bench.targets.ByteSize;
import io.kvstore.bench.targets.Target;
import io.kvstore.bench.targets.TargetOptions;
import io.kvstore.bench.trace.Trace;
import io.kvstore.bench.trace.TraceFormat;
import io.kvstore.bench.trace.TraceFormats;
import io.kvstore.common.Namespace;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code kvbench replay}: replays a request trace against a store with real pages, at the trace's
 * arrival times scaled by a factor (or as fast as possible), with a fixed number of workers.
 */
@Command(
    name = "replay",
    mixinStandardHelpOptions = true,
    description = {
      "Replays a trace against the embedded store, the daemon or Redis with real pages: per request,"
          + " fetch the leading run of its blocks the store holds, verify them, store the rest.",
      "Reports throughput, latency percentiles, hit ratio per tier, prefix-hit tokens, bytes"
          + " promoted and demoted, and a modeled time to first token with and without the store."
    })
public final class ReplayCommand implements Callable<Integer> {

  /** Timeline bin of the throughput plot. */
  static final long TIMELINE_BIN_NANOS = TimeUnit.MILLISECONDS.toNanos(250);

  @Spec private CommandSpec spec;

  @Mixin private TargetOptions target;

  @Mixin private RunOptions run;

  @Option(names = {"-t", "--trace"}, required = true, paramLabel = "FILE",
      description = "Trace file (.jsonl, or .jsonl.gz).")
  private Path trace;

  @Option(names = {"-f", "--format"}, defaultValue = "mooncake", paramLabel = "FORMAT",
      description = "Trace format: mooncake, bailian (default: ${DEFAULT-VALUE}).")
  private String format;

  @Option(names = "--requests", paramLabel = "N", defaultValue = "0",
      description = "Replay only the first N requests (default: all).")
  private int requests;

  @Option(names = "--time-scale", paramLabel = "X", defaultValue = "0",
      description = "Multiply arrival times by X (1 = as recorded, 0.1 = ten times faster); 0 sends"
          + " requests as fast as the workers take them (default: ${DEFAULT-VALUE}).")
  private double timeScale;

  @Option(names = {"-w", "--workers"}, paramLabel = "N", defaultValue = "4",
      description = "Concurrent workers, each with its own connection (default: ${DEFAULT-VALUE}).")
  private int workers;

  @Option(names = "--dram-sweep", split = ",", paramLabel = "SIZE",
      description = "Run once per DRAM tier capacity (embedded or --start-daemon) and plot the hit"
          + " ratio against it, e.g. 64MiB,256MiB,1GiB.")
  private List<String> dramSweep;

  @Override
  public Integer call() throws Exception {
    TraceFormat traceFormat = parse(() -> TraceFormats.byName(format));
    int payloadBytes = parse(run::payloadBytes);
    double prefill = parse(run::prefillTokensPerS);
    parse(() -> {
      target.validate();
      return null;
    });
    if (requests < 0) {
      throw new ParameterException(spec.commandLine(), "--requests must be >= 0, got " + requests);
    }
    long[] sweep = parse(this::sweep);
    RunConfig config = parse(() -> new RunConfig("replay", "", workers, 0, run.batch(), payloadBytes,
        0, timeScale, 0, prefill, TIMELINE_BIN_NANOS, run.stopOnFailure()));
    if (!Files.isReadable(trace)) {
      throw new ParameterException(spec.commandLine(), "cannot read trace file: " + trace);
    }
    Trace t = traceFormat.read(trace);
    Namespace ns = run.namespace(t.blockTokens());
    PrintWriter out = spec.commandLine().getOut();
    List<RunResult> results = new ArrayList<>();
    for (long dram : sweep) {
      String label = "";
      if (dram >= 0) {
        target.dramBytes(dram);
        label = "dram=" + ReportFormat.bytes(dram).replace(" ", "");
      }
      RunConfig c = new RunConfig("replay", label, workers, 0, run.batch(), payloadBytes, ns.id(),
          timeScale, 0, prefill, TIMELINE_BIN_NANOS, run.stopOnFailure());
      TraceSource source = new TraceSource(t, ns, requests);
      try (Target tg = target.open(payloadBytes, ns.id());
          ProgressBar bar = new ProgressBar(System.err, run.progress(), Math.max(1, source.size()),
              "requests", System::nanoTime)) {
        RunResult r = Runner.run(tg, source, source.describe() + "; " + target.describe(), c, bar);
        results.add(r);
        ReportFormat.writeTable(r.report(), out);
        out.println();
        out.flush();
      }
    }
    if (run.out() != null) {
      double[] capacities = dramSweep == null ? null
          : java.util.Arrays.stream(sweep).mapToDouble(b -> b / (double) (1 << 20)).toArray();
      ReportOutput.write(results, capacities, run.out(), out);
    }
    out.flush();
    return results.stream()
        .anyMatch(r -> r.report().errors() > 0 || r.report().failedCalls() > 0) ? 1 : 0;
  }

  private long[] sweep() {
    if (dramSweep == null || dramSweep.isEmpty()) {
      return new long[] {-1};
    }
    if (target.kind().equals("redis")) {
      throw new IllegalArgumentException("--dram-sweep needs --target embedded or daemon");
    }
    long[] out = new long[dramSweep.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = ByteSize.parse(dramSweep.get(i));
      if (i > 0 && out[i] <= out[i - 1]) {
        throw new IllegalArgumentException("--dram-sweep sizes must increase: " + dramSweep);
      }
    }
    return out;
  }

  /** Runs a parse step, turning its IllegalArgumentException into a picocli usage error. */
  private <T> T parse(Supplier<T> step) {
    try {
      return step.get();
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage(), e);
    }
  }
}
