package io.kvstore.bench.sim;

import io.kvstore.bench.trace.Trace;
import io.kvstore.bench.trace.TraceFormat;
import io.kvstore.bench.trace.TraceFormats;
import io.kvstore.core.policy.AdmissionPolicy;
import io.kvstore.core.policy.Policies;
import io.kvstore.core.policy.SeenTwiceAdmission;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.IntFunction;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code kvbench sim}: replays a trace through eviction policies and prints their hit ratios. */
@Command(
    name = "sim",
    mixinStandardHelpOptions = true,
    description = {
      "Replays a trace through eviction policies without payloads and prints hit ratios for a"
          + " sweep of capacities, with Belady's MIN as the upper bound.",
      "A request hits the leading run of its blocks present before it; then all its blocks are"
          + " accessed or inserted in order (see bench/README.md)."
    })
public final class SimCommand implements Callable<Integer> {

  /** The default capacity sweep, as shares of the trace's unique blocks. */
  public static final String DEFAULT_CAPACITIES = "5%,10%,20%,30%,40%,50%";

  @Spec private CommandSpec spec;

  @Option(
      names = {"-t", "--trace"},
      required = true,
      paramLabel = "FILE",
      description = "Trace file (.jsonl, or .jsonl.gz).")
  private Path trace;

  @Option(
      names = {"-f", "--format"},
      defaultValue = "mooncake",
      paramLabel = "FORMAT",
      description = "Trace format: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).",
      completionCandidates = FormatNames.class)
  private String format;

  @Option(
      names = {"-c", "--capacities"},
      split = ",",
      defaultValue = DEFAULT_CAPACITIES,
      paramLabel = "CAP",
      description = "Capacities: shares of the unique blocks (5%%, 0.05; rounded down) or block"
          + " counts (2000) (default: 5%%,10%%,20%%,30%%,40%%,50%%).")
  private List<String> capacities;

  @Option(
      names = {"-p", "--policies"},
      split = ",",
      paramLabel = "POLICY",
      description = "Policies to run: ${COMPLETION-CANDIDATES} (default: all).",
      completionCandidates = PolicyNames.class)
  private List<String> policies;

  @Option(
      names = "--admission",
      defaultValue = "always",
      paramLabel = "ADMISSION",
      description = "Admission before a block is stored: always, seen-twice (default:"
          + " ${DEFAULT-VALUE}).")
  private String admission;

  @Option(
      names = "--admission-window",
      defaultValue = "10",
      paramLabel = "N",
      description = "seen-twice remembers sightings over about N x capacity block references"
          + " (TinyLFU's sample size; default: ${DEFAULT-VALUE}).")
  private int admissionWindow;

  @Option(names = "--no-min", description = "Skip Belady's MIN.")
  private boolean noMin;

  @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON.")
  private Path json;

  @Option(names = "--csv", paramLabel = "FILE", description = "Also write the results as CSV.")
  private Path csv;

  @Override
  public Integer call() throws Exception {
    TraceFormat traceFormat = parse(() -> TraceFormats.byName(format));
    List<String> names = policies == null || policies.isEmpty() ? Policies.names() : policies;
    for (String name : names) {
      parse(() -> Policies.create(name, 1));
    }
    List<CapacitySpec> specs = new ArrayList<>();
    for (String c : capacities) {
      specs.add(parse(() -> CapacitySpec.parse(c)));
    }
    IntFunction<AdmissionPolicy> admissions =
        parse(() -> admissionFactory(admission, admissionWindow));
    if (!Files.isReadable(trace)) {
      throw new ParameterException(spec.commandLine(), "cannot read trace file: " + trace);
    }
    Trace t = traceFormat.read(trace);
    int[] blocks = new int[specs.size()];
    for (int i = 0; i < blocks.length; i++) {
      CapacitySpec s = specs.get(i);
      blocks[i] = parse(() -> s.resolve(t.uniqueBlocks()));
    }
    SimReport report = SimSweep.run(t, names, blocks, admissions, !noMin);
    PrintWriter out = spec.commandLine().getOut();
    report.writeTable(out);
    if (json != null) {
      report.writeJson(json);
      out.println("wrote " + json);
    }
    if (csv != null) {
      report.writeCsv(csv);
      out.println("wrote " + csv);
    }
    out.flush();
    return 0;
  }

  private static IntFunction<AdmissionPolicy> admissionFactory(String name, int window) {
    if (window < 1 || window > 1000) {
      throw new IllegalArgumentException("--admission-window must be in [1, 1000]: " + window);
    }
    switch (name) {
      case "always":
        return c -> AdmissionPolicy.ALWAYS;
      case "seen-twice":
        return c -> new SeenTwiceAdmission((int) Math.min(1 << 28, (long) window * c));
      default:
        throw new IllegalArgumentException(
            "unknown admission policy '" + name + "'; valid names: always, seen-twice");
    }
  }

  /** Runs a parse step, turning its IllegalArgumentException into a picocli usage error. */
  private <T> T parse(Supplier<T> step) {
    try {
      return step.get();
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage(), e);
    }
  }

  /** Completion candidates (and help text) for {@code --format}. */
  static final class FormatNames extends ArrayList<String> {
    private static final long serialVersionUID = 1L;

    FormatNames() {
      super(TraceFormats.names());
    }
  }

  /** Completion candidates (and help text) for {@code --policies}. */
  static final class PolicyNames extends ArrayList<String> {
    private static final long serialVersionUID = 1L;

    PolicyNames() {
      super(Policies.names());
    }
  }
}
