package io.kvstore.core.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.index.ForkedJvm;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store opened while its JVM shuts down (a daemon signalled during its start): it opens and
 * closes when {@code BlockIndex.initializeShutdownHooks} ran first; without it, Chronicle's first
 * use registers a JVM shutdown hook, which the JVM refuses then, and the open fails. The second
 * case checks that the first one is needed: if a Chronicle release stops registering that hook
 * lazily, it fails and the call can go.
 */
class OpenDuringShutdownTest {

  @TempDir Path dir;

  private String run(String mode) throws Exception {
    Process p =
        ForkedJvm.builder(
                List.of("-Xmx256m"), OpenDuringShutdownMain.class, dir.resolve(mode).toString(), mode)
            .start();
    String out;
    try (InputStream in = p.getInputStream()) {
      out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the forked JVM exits");
    return out;
  }

  @Test
  void shouldOpenAndCloseAStoreWhileTheJvmShutsDownOnceTheHooksAreInitialized() throws Exception {
    String out = run("init");
    assertEquals(List.of("opened", "closed"), out.lines().toList(), out);
  }

  @Test
  void shouldFailToOpenWhileTheJvmShutsDownWithoutThem() throws Exception {
    String out = run("no-init");
    assertTrue(out.startsWith("failed: ") && out.contains("Shutdown in progress"), out);
  }
}
