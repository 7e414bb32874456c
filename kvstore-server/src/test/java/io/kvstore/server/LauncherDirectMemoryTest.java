package io.kvstore.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.server.config.ServerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/kvstore-server} sets {@code -XX:MaxDirectMemorySize} from the effective configuration
 * unless the user set it ({@link LauncherFixture}: the real launcher, a recorded start).
 */
class LauncherDirectMemoryTest {

  @TempDir Path dir;
  private LauncherFixture launcher;

  @BeforeEach
  void layOutARepository() throws IOException {
    launcher = new LauncherFixture(dir, false);
  }

  private List<String> launch(Map<String, String> env, String... args) throws Exception {
    return launcher.launch(env, args);
  }

  private static List<String> directMemoryFlags(List<String> startArgs) {
    return startArgs.stream().filter(a -> a.startsWith("-XX:MaxDirectMemorySize=")).toList();
  }

  @Test
  void shouldSetTheDirectMemoryLimitFromFlagsEnvironmentAndFile() throws Exception {
    Path conf = Files.writeString(dir.resolve("kvstore.conf"), "dram.bytes = 2GiB\nhot.bytes = 256MiB\n");
    List<String> start = launch(Map.of("KVSTORE_WRITEBACK_QUEUE_BYTES", "128MiB",
            "KVSTORE_HOT_BYTES", "512MiB"),
        "--config", conf.toString(), "--dram-bytes", "3GiB", "--port", "0");
    // flag over file (dram), environment over file (hot), environment (queue), default (request)
    long expected = ServerConfig.builder().dramBytes(3L << 30).hotBytes(512L << 20)
        .writeBackQueueBytes(128L << 20).build().directMemoryNeeded();
    assertEquals((3L << 30) + (512L << 20) + (128L << 20) + (1L << 30), expected * 4 / 5);
    assertEquals(List.of("-XX:MaxDirectMemorySize=" + expected), directMemoryFlags(start));
  }

  @Test
  void shouldKeepTheUsersOwnDirectMemoryLimit() throws Exception {
    List<String> start = launch(Map.of("KVSTORE_JAVA_OPTS", "-Xmx1g -XX:MaxDirectMemorySize=5g"),
        "--dram-bytes", "3GiB");
    assertEquals(List.of("-XX:MaxDirectMemorySize=5g"), directMemoryFlags(start));
    assertTrue(start.contains("-Xmx1g"), start.toString());
  }

  @Test
  void shouldLeaveABadConfigurationToTheDaemonToReport() throws Exception {
    List<String> start = launch(Map.of(), "--dram-bytes", "1.5GiB");
    assertEquals(List.of(), directMemoryFlags(start));
  }
}
