package io.kvstore.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The SDK must run in an engine's JVM as is: no {@code --add-opens}, no {@code kvstore.jvm.flags}.
 * Surefire runs tests with the store's flags, so this forks a bare JVM to prove it.
 */
class NoJvmFlagsTest {

  @Test
  void shouldPutAndGetInAJvmStartedWithoutFlags() throws Exception {
    try (FakeDaemon daemon = new FakeDaemon()) {
      String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
      Process process = new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"),
              NoFlagsProbe.class.getName(), String.valueOf(daemon.port()), "77"))
          .redirectErrorStream(true)
          .start();
      boolean exited = process.waitFor(60, TimeUnit.SECONDS);
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!exited) {
        process.destroyForcibly();
      }
      assertEquals(0, exited ? process.exitValue() : -1, output);
    }
  }
}
