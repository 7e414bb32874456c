package io.kvstore.bench.crash;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvstore.bench.report.ReportFormat;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The results of a crash test: one row per cycle and a total, as the table printed on stdout, as
 * JSON and as CSV (fixed field order, so two runs can be compared with a text diff).
 */
final class CrashReport {

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final String ROW =
      "%-6s %-5s %8s %9s %8s %7s %9s %9s %9s %7s %6s %6s %6s %6s %9s %6s%n";

  private final String command;
  private final String setup;
  private final List<CycleResult> cycles = new ArrayList<>();
  private final List<String> failures = new ArrayList<>();
  /** Stops that went wrong: a SIGTERM the daemon did not answer by exiting cleanly. */
  private int stopFailures;
  private String aborted;

  /**
   * @param command the command line, for the record
   * @param setup what was tested (daemon flags, pages, keys, seed)
   */
  CrashReport(String command, String setup) {
    this.command = command;
    this.setup = setup;
  }

  /** Adds a cycle's result. */
  void add(CycleResult r) {
    cycles.add(r);
  }

  /** Records a failure seen (first few are kept). */
  void failure(String description) {
    if (failures.size() < 20) {
      failures.add(description);
    }
  }

  /** Records a stop with SIGTERM that went wrong: the run fails. */
  void stopFailure(String description) {
    stopFailures++;
    failure(description);
  }

  /** Records that the run stopped early (the daemon did not come back): the run fails. */
  void abort(String reason) {
    aborted = reason;
  }

  /** The cycles, in order. */
  List<CycleResult> cycles() {
    return cycles;
  }

  /** Failures recorded. */
  List<String> failures() {
    return failures;
  }

  /** The sum of every cycle ({@code cycle} 0, kind "total"; restart time is the mean). */
  CycleResult total() {
    long kill = 0, puts = 0, deletes = 0, rejected = 0, restart = 0, verified = 0, exact = 0;
    long miss = 0, wrong = 0, stale = 0, resurrected = 0, live = 0, liveFail = 0, errors = 0;
    long lost = -1;
    int uncertain = 0;
    for (CycleResult c : cycles) {
      kill += c.killAfterMillis();
      puts += c.putsAcked();
      deletes += c.deletesAcked();
      rejected += c.putsRejected();
      uncertain += c.uncertainKeys();
      restart += c.restartMillis();
      verified += c.verified();
      exact += c.exact();
      miss += c.miss();
      wrong += c.wrong();
      stale += c.stale();
      resurrected += c.resurrected();
      if (c.lost() >= 0) {
        lost = Math.max(lost, 0) + c.lost();
      }
      live += c.liveReads();
      liveFail += c.liveFailures();
      errors += c.errorsBeforeKill();
    }
    return new CycleResult(0, "total", kill, puts, deletes, rejected, uncertain,
        cycles.isEmpty() ? 0 : restart / cycles.size(), verified, exact, miss, wrong, stale,
        resurrected, lost, live, liveFail, errors);
  }

  /** Whether no page failed, every SIGTERM stopped the daemon cleanly and every cycle ran. */
  boolean passed() {
    return aborted == null && stopFailures == 0 && total().failures() == 0;
  }

  /** Prints the table. */
  void writeTable(PrintWriter out) {
    out.printf(Locale.ROOT, "kvbench crashtest: %s%n", setup);
    out.printf(Locale.ROOT, ROW, "cycle", "kind", "kill ms", "puts ack", "dels ack", "unsure",
        "restart", "verified", "exact", "miss", "wrong", "stale", "resur", "lost", "live rd",
        "live!");
    for (CycleResult c : cycles) {
      row(out, Integer.toString(c.cycle()), c);
    }
    CycleResult t = total();
    row(out, "total", t);
    out.printf(Locale.ROOT, "restart ms is the mean in the total row; unsure = keys with a put in"
        + " flight at the kill (either outcome accepted); lost = pages read back exactly after the"
        + " previous restart, not written since, and missing (- where not checked)%n");
    for (String f : failures) {
      out.println("FAILURE " + f);
    }
    if (aborted != null) {
      out.println("ABORTED " + aborted);
    }
    out.printf(Locale.ROOT, "%s: %,d pages verified, %,d exact, %,d miss, %,d wrong, %,d stale,"
            + " %,d resurrected deletes, %s, %,d failed live reads over %d cycles%n",
        passed() ? "PASS" : "FAIL", t.verified(), t.exact(), t.miss(), t.wrong(), t.stale(),
        t.resurrected(), t.lost() < 0 ? "lost pages not checked"
            : String.format(Locale.ROOT, "%,d lost", t.lost()),
        t.liveFailures(), cycles.size());
  }

  private static void row(PrintWriter out, String name, CycleResult c) {
    out.printf(Locale.ROOT, ROW, name, c.kind(), c.killAfterMillis(), c.putsAcked(),
        c.deletesAcked(), c.uncertainKeys(), c.restartMillis(), c.verified(), c.exact(), c.miss(),
        c.wrong(), c.stale(), c.resurrected(), c.lost() < 0 ? "-" : Long.toString(c.lost()),
        c.liveReads(), c.liveFailures());
  }

  /** The report as JSON: {@code {"command", "setup", "passed", "cycles": [...], "total": {...}}}. */
  String toJson() {
    ObjectNode root = JSON.createObjectNode();
    root.put("command", command);
    root.put("setup", setup);
    root.put("passed", passed());
    if (aborted != null) {
      root.put("aborted", aborted);
    }
    ArrayNode rows = root.putArray("cycles");
    for (CycleResult c : cycles) {
      json(rows.addObject(), c);
    }
    json(root.putObject("total"), total());
    ArrayNode f = root.putArray("failures");
    failures.forEach(f::add);
    try {
      return JSON.writeValueAsString(root) + "\n";
    } catch (JsonProcessingException e) {
      // A tree of numbers and strings always serialises.
      throw new IllegalStateException(e);
    }
  }

  private static void json(ObjectNode n, CycleResult c) {
    n.put("cycle", c.cycle());
    n.put("kind", c.kind());
    n.put("killAfterMillis", c.killAfterMillis());
    n.put("putsAcked", c.putsAcked());
    n.put("deletesAcked", c.deletesAcked());
    n.put("putsRejected", c.putsRejected());
    n.put("uncertainKeys", c.uncertainKeys());
    n.put("restartMillis", c.restartMillis());
    n.put("verified", c.verified());
    n.put("exact", c.exact());
    n.put("miss", c.miss());
    n.put("wrong", c.wrong());
    n.put("stale", c.stale());
    n.put("resurrected", c.resurrected());
    n.put("lost", c.lost());
    n.put("liveReads", c.liveReads());
    n.put("liveFailures", c.liveFailures());
    n.put("errorsBeforeKill", c.errorsBeforeKill());
  }

  /** The report as CSV: a header line, one line per cycle, and the total (cycle "total"). */
  String toCsv() {
    StringBuilder s = new StringBuilder("cycle,kind,kill_after_ms,puts_acked,deletes_acked,"
        + "puts_rejected,uncertain_keys,restart_ms,verified,exact,miss,wrong,stale,resurrected,"
        + "lost,live_reads,live_failures,errors_before_kill\n");
    for (CycleResult c : cycles) {
      csv(s, Integer.toString(c.cycle()), c);
    }
    csv(s, "total", total());
    return s.toString();
  }

  private static void csv(StringBuilder s, String name, CycleResult c) {
    s.append(ReportFormat.csv(name)).append(',').append(ReportFormat.csv(c.kind()));
    for (long v : new long[] {c.killAfterMillis(), c.putsAcked(), c.deletesAcked(),
        c.putsRejected(), c.uncertainKeys(), c.restartMillis(), c.verified(), c.exact(), c.miss(),
        c.wrong(), c.stale(), c.resurrected(), c.lost(), c.liveReads(), c.liveFailures(),
        c.errorsBeforeKill()}) {
      s.append(',').append(v);
    }
    s.append('\n');
  }
}
