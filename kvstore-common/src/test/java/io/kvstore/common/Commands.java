package io.kvstore.common;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/** Runs the system commands the mount helpers need. */
final class Commands {

  private Commands() {}

  /** Runs a command; null if it succeeded, else its exit code and output. */
  static String run(String... cmd) throws IOException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    try {
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", cmd) + " did not end");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted waiting for " + String.join(" ", cmd), e);
    }
    return p.exitValue() == 0 ? null : "rc " + p.exitValue() + ": " + out;
  }
}
