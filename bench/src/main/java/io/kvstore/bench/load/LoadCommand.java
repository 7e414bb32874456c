package io.kvstore.bench.load;

import io.kvstore.bench.replay.Durations;
import io.kvstore.bench.replay.ReportOutput;
import io.kvstore.bench.replay.RunConfig;
import io.kvstore.bench.replay.RunOptions;
import io.kvstore.bench.replay.RunResult;
import io.kvstore.bench.replay.Runner;
import io.kvstore.bench.report.ProgressBar;
import io.kvstore.bench.report.ReportFormat;
import io.kvstore.bench.targets.Target;
import io.kvstore.bench.targets.TargetOptions;
import io.kvstore.common.Namespace;
import java.io.PrintWriter;
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
 * {@code kvbench load}: a synthetic workload of prompts sharing prefixes ({@link SyntheticWorkload})
 * run by readers (fetch the prefix, store the rest) and writers (store everything) for a number of
 * requests or a duration.
 */
@Command(
    name = "load",
    mixinStandardHelpOptions = true,
    description = {
      "Runs a synthetic workload against the embedded store, the daemon or Redis: prompts with a"
          + " length distribution whose leading share comes from a set of shared prefixes (Zipf"
          + " popularity). Readers fetch each prompt's leading run and store the rest; writers"
          + " store whole prompts.",
      "Reports the same numbers as replay."
    })
public final class LoadCommand implements Callable<Integer> {

  private static final long TIMELINE_BIN_NANOS = TimeUnit.MILLISECONDS.toNanos(250);
  private static final long DEFAULT_REQUESTS = 1_000;

  @Spec private CommandSpec spec;

  @Mixin private TargetOptions target;

  @Mixin private RunOptions run;

  @Option(names = "--readers", paramLabel = "N", defaultValue = "4",
      description = "Workers that fetch then store misses (default: ${DEFAULT-VALUE}).")
  private int readers;

  @Option(names = "--writers", paramLabel = "N", defaultValue = "0",
      description = "Workers that only store (default: ${DEFAULT-VALUE}).")
  private int writers;

  @Option(names = "--requests", paramLabel = "N",
      description = "Requests to run (default: 1000, or no limit with --duration).")
  private Long requests;

  @Option(names = "--duration", paramLabel = "TIME",
      description = "Run this long, e.g. 30s or 5m (stops earlier if --requests is reached).")
  private String duration;

  @Option(names = "--prompt-tokens", paramLabel = "DIST", defaultValue = "lognormal:8192,0.8",
      description = "Prompt length distribution: fixed:N, uniform:MIN-MAX, lognormal:MEDIAN,SIGMA"
          + " (default: ${DEFAULT-VALUE}).")
  private String promptTokens;

  @Option(names = "--prefix-share", paramLabel = "X", defaultValue = "0.5",
      description = "Share of each prompt that is a shared prefix, 0 to 1 (default: ${DEFAULT-VALUE}).")
  private double prefixShare;

  @Option(names = "--prefixes", paramLabel = "N", defaultValue = "64",
      description = "Distinct shared prefixes (default: ${DEFAULT-VALUE}).")
  private int prefixes;

  @Option(names = "--zipf", paramLabel = "S", defaultValue = "1.0",
      description = "Zipf exponent of the prefixes' popularity; 0 = uniform (default: ${DEFAULT-VALUE}).")
  private double zipf;

  @Option(names = "--block-tokens", paramLabel = "N", defaultValue = "512",
      description = "Tokens per block (page) (default: ${DEFAULT-VALUE}).")
  private int blockTokens;

  @Option(names = "--rate", paramLabel = "R", defaultValue = "0",
      description = "Poisson arrivals at R requests/s; 0 = as fast as the workers go (default:"
          + " ${DEFAULT-VALUE}).")
  private double rate;

  @Option(names = "--seed", paramLabel = "N", defaultValue = "1",
      description = "Random seed (default: ${DEFAULT-VALUE}).")
  private long seed;

  @Override
  public Integer call() throws Exception {
    int payloadBytes = parse(run::payloadBytes);
    double prefill = parse(run::prefillTokensPerS);
    parse(() -> {
      target.validate();
      return null;
    });
    long durationNanos = duration == null ? 0 : parse(() -> Durations.parseNanos(duration));
    long count = requests != null ? requests : (duration == null ? DEFAULT_REQUESTS : 0);
    if (count < 0 || (requests != null && requests == 0 && duration == null)) {
      throw new ParameterException(spec.commandLine(),
          "--requests must be >= 1 (or give --duration), got " + requests);
    }
    if (blockTokens < 1 || blockTokens > Namespace.MAX_BLOCK_SIZE) {
      throw new ParameterException(spec.commandLine(),
          "--block-tokens must be in [1, " + Namespace.MAX_BLOCK_SIZE + "], got " + blockTokens);
    }
    LengthDistribution lengths = parse(() -> LengthDistribution.parse(promptTokens));
    Namespace ns = run.namespace(blockTokens);
    SyntheticWorkload workload = parse(() -> new SyntheticWorkload(ns, lengths, prefixShare,
        prefixes, zipf, rate, count, seed));
    RunConfig config = parse(() -> new RunConfig("load", "", readers, writers, run.batch(),
        payloadBytes, ns.id(), rate > 0 ? 1.0 : 0.0, durationNanos, prefill, TIMELINE_BIN_NANOS,
        run.stopOnFailure()));
    PrintWriter out = spec.commandLine().getOut();
    long total = durationNanos > 0 ? Math.max(1, durationNanos / 1_000_000_000L) : count;
    RunResult result;
    try (Target t = target.open(payloadBytes, ns.id());
        ProgressBar bar = new ProgressBar(System.err, run.progress(), total,
            durationNanos > 0 ? "s" : "requests", System::nanoTime)) {
      result = Runner.run(t, workload, workload.describe() + "; " + target.describe(), config, bar);
    }
    ReportFormat.writeTable(result.report(), out);
    if (run.out() != null) {
      out.println();
      ReportOutput.write(List.of(result), null, run.out(), out);
    }
    out.flush();
    return result.report().errors() > 0 || result.report().failedCalls() > 0 ? 1 : 0;
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
