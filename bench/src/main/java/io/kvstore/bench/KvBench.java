package io.kvstore.bench;

import io.kvstore.bench.compare.CompareCommand;
import io.kvstore.bench.crash.CrashTestCommand;
import io.kvstore.bench.load.LoadCommand;
import io.kvstore.bench.replay.ReplayCommand;
import io.kvstore.bench.sim.SimCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code kvbench}: the storage benchmarking CLI. Each workload is a subcommand (one class per
 * subcommand, in its own package): {@code sim} replays a trace through eviction policies without
 * payloads. Add a subcommand by listing its class in {@code subcommands} below.
 */
@Command(
    name = "kvbench",
    mixinStandardHelpOptions = true,
    version = "kvbench 0.1.0",
    description = "Benchmarks for the kvstore KV-cache store.",
    subcommands = {
      SimCommand.class,
      ReplayCommand.class,
      LoadCommand.class,
      CompareCommand.class,
      CrashTestCommand.class,
      CommandLine.HelpCommand.class
    })
public final class KvBench implements Runnable {

  @Spec private CommandSpec spec;

  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "missing subcommand");
  }

  /**
   * The configured command line: usage errors print the problem and the usage (exit 2); a failure
   * while running (unreadable or malformed trace, I/O error) prints one line (exit 1).
   */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new KvBench());
    cl.setExecutionExceptionHandler(
        (e, commandLine, parseResult) -> {
          if (e instanceof IOException || e instanceof UncheckedIOException) {
            commandLine.getErr().println("kvbench: " + e.getMessage());
            commandLine.getErr().flush();
            return 1;
          }
          throw e;
        });
    return cl;
  }

  /** Runs kvbench with {@code args} and exits with its status. */
  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }
}
