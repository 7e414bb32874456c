package io.kvstore.bench.crash;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/**
 * A stop with SIGTERM that went wrong (no exit in time, an uncaught exception, a stop with errors)
 * fails the run, and says so; a failure line that counts nothing (a writer's error before the kill)
 * does not.
 */
class CrashReportTest {

  private static String table(CrashReport r) {
    StringWriter out = new StringWriter();
    r.writeTable(new PrintWriter(out, true));
    return out.toString();
  }

  @Test
  void shouldFailTheRunOnAStopThatWentWrong() {
    CrashReport r = new CrashReport("kvbench crashtest", "test");
    r.failure("(not counted as a wrong page) a writer's error");
    assertTrue(r.passed(), "a failure line alone counts nothing");
    r.stopFailure("cycle 3: the restart stopped with SIGTERM 700 ms after the fork an uncaught"
        + " exception: ...");
    assertFalse(r.passed());
    String t = table(r);
    assertTrue(t.contains("FAILURE cycle 3: the restart stopped with SIGTERM"), t);
    assertTrue(t.contains("FAIL: "), t);
  }
}
