package io.kvstore.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.server.config.ServerConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/kvstore-server} sets {@code -XX:MaxDirectMemorySize} from the effective configuration
 * unless the user set it. Runs the real launcher script in a copy of the repository layout whose
 * classpath points at this build (so it never builds), with a {@code java} wrapper that runs the
 * real JVM for the launcher's version check and its {@code --print-direct-memory} probe, and
 * records the arguments of the final start instead of starting a daemon.
 */
class LauncherDirectMemoryTest {

  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  @TempDir Path dir;
  private Path launcher;
  private Path javaHome;
  private Path recorded;

  @BeforeEach
  void layOutARepository() throws IOException {
    Path root = dir.resolve("repo");
    Files.createDirectories(root.resolve("bin"));
    launcher = Files.copy(ROOT.resolve("bin/kvstore-server"), root.resolve("bin/kvstore-server"));
    Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.copy(ROOT.resolve("bin/jvm-flags"), root.resolve("bin/jvm-flags"));
    Files.writeString(root.resolve("pom.xml"), "<project/>");
    for (String m : List.of("kvstore-common", "kvstore-core", "kvstore-client")) {
      Files.createDirectories(root.resolve(m));
    }
    Path target = Files.createDirectories(root.resolve("kvstore-server/target/classes"));
    Path classpath = target.resolveSibling("classpath.txt");
    Files.writeString(classpath, System.getProperty("java.class.path"));
    // newer than anything in the copy, so the launcher sees a fresh build and never runs Maven
    Files.setLastModifiedTime(classpath, FileTime.from(Instant.now().plus(1, ChronoUnit.HOURS)));

    recorded = dir.resolve("start-args.txt");
    javaHome = Files.createDirectories(dir.resolve("jdk/bin")).getParent();
    String realJava = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Path fakeJava = javaHome.resolve("bin/java");
    Files.writeString(fakeJava, "#!/usr/bin/env bash\n"
        + "for a in \"$@\"; do\n"
        + "  if [[ \"$a\" == --print-direct-memory || \"$a\" == -XshowSettings:properties ]]; then\n"
        + "    exec '" + realJava + "' \"$@\"\n"
        + "  fi\n"
        + "done\n"
        + "printf '%s\\n' \"$@\" > '" + recorded + "'\n", StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(fakeJava, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private List<String> launch(Map<String, String> env, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(launcher.toString()));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile())
        .redirectErrorStream(true).redirectOutput(dir.resolve("launcher.log").toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("KVSTORE_"));
    pb.environment().put("JAVA_HOME", javaHome.toString());
    pb.environment().putAll(env);
    Process p = pb.start();
    try {
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), "launcher did not finish");
    } finally {
      p.destroyForcibly();
    }
    String log = Files.readString(dir.resolve("launcher.log"));
    assertEquals(0, p.exitValue(), log);
    assertTrue(Files.exists(recorded), "the launcher never started the daemon:\n" + log);
    List<String> startArgs = Files.readAllLines(recorded);
    // the user's arguments are passed through unchanged, last
    assertEquals(List.of(args), startArgs.subList(startArgs.size() - args.length, startArgs.size()));
    return startArgs;
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
