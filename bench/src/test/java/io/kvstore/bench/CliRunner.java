package io.kvstore.bench;

import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/** Runs kvbench in the test JVM and keeps what it printed. */
public final class CliRunner {

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  /** Runs kvbench with {@code args}; returns the exit status. */
  public int run(String... args) {
    out.getBuffer().setLength(0);
    err.getBuffer().setLength(0);
    CommandLine cl = KvBench.commandLine();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    return cl.execute(args);
  }

  /** What the last run printed on stdout. */
  public String out() {
    return out.toString();
  }

  /** What the last run printed on stderr. */
  public String err() {
    return err.toString();
  }
}
