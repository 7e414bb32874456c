package io.kvstore.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/kvstore-server}'s class archive ({@code bin/kvstore-class-archive}): made once per build
 * and JDK before the first start, by a training run of the daemon that the caller's settings do
 * not reach, then handed to every start; skipped on request; a refused archive is neither used nor
 * tried again until the next build. {@link LauncherFixture} stands in for the JVM.
 */
class LauncherClassArchiveTest {

  @TempDir Path dir;

  private static List<String> archiveFlags(List<String> start) {
    return start.stream().filter(a -> a.startsWith("-XX:SharedArchiveFile=")
        || a.startsWith("-XX:AOTCache=")).toList();
  }

  /** The files under target/ whose names end with {@code suffix}. */
  private static List<Path> files(LauncherFixture l, String suffix) throws Exception {
    try (Stream<Path> files = Files.list(l.root.resolve("kvstore-server/target"))) {
      return files.filter(f -> f.getFileName().toString().endsWith(suffix))
          .sorted().collect(Collectors.toList());
    }
  }

  @Test
  void shouldMakeTheArchiveOnceAndHandItToEveryStart() throws Exception {
    LauncherFixture l = new LauncherFixture(dir, true);
    Files.writeString(dir.resolve("kvstore.conf"), "dram.bytes = 3GiB\n"); // the caller's file
    List<String> first = l.launch(Map.of("KVSTORE_DRAM_BYTES", "2GiB"), "--port", "0");
    assertTrue(l.log().contains("making a class archive"), l.log());
    List<String> trainings = l.trainings();
    assertEquals(1, trainings.size(), trainings.toString());
    String training = trainings.get(0);
    assertFalse(training.startsWith("cwd=" + dir + " "), "not in the caller's directory: " + training);
    assertTrue(training.contains(" kvstore_vars=0 "), "no KVSTORE_* variable: " + training);
    assertTrue(training.contains("--shm-dir "), "a shared-memory directory of its own: " + training);
    assertTrue(training.contains("--add-opens"), "the daemon's JVM flags: " + training);

    List<Path> made = files(l, LauncherFixture.archiveSuffix());
    assertEquals(1, made.size(), made.toString());
    Path archive = made.get(0);
    assertTrue(archive.getFileName().toString().startsWith("kvstore-server-jdk-"), archive.toString());
    assertEquals("archive", Files.readString(archive));
    assertEquals("r--r--r--",
        PosixFilePermissions.toString(Files.getPosixFilePermissions(archive)), "read-only");
    assertEquals(List.of(LauncherFixture.archiveOption() + archive), archiveFlags(first));
    assertTrue(first.contains(l.root.resolve("kvstore-server/target/kvstore-server-0.1.0-SNAPSHOT.jar")
        + ":" + System.getProperty("java.class.path")), "runs from the jar: " + first);

    List<String> second = l.launch(Map.of(), "--port", "0");
    assertEquals(1, l.trainings().size(), "made once");
    assertEquals(List.of(LauncherFixture.archiveOption() + archive), archiveFlags(second));

    // A new build makes the archive anew.
    l.builtAt(Instant.now().plus(2, ChronoUnit.HOURS));
    List<String> rebuilt = l.launch(Map.of(), "--port", "0");
    assertEquals(2, l.trainings().size(), "made again after a build");
    assertEquals(List.of(LauncherFixture.archiveOption() + archive), archiveFlags(rebuilt));
  }

  @Test
  void shouldStartWithoutAnArchiveWhenAskedTo() throws Exception {
    LauncherFixture l = new LauncherFixture(dir, true);
    List<String> start = l.launch(Map.of("KVSTORE_CLASS_ARCHIVE", "0"), "--port", "0");
    assertEquals(List.of(), archiveFlags(start));
    assertEquals(List.of(), l.trainings());
    assertEquals(List.of(), files(l, LauncherFixture.archiveSuffix()));
  }

  @Test
  void shouldNotUseNorRetryARefusedArchiveUntilTheNextBuild() throws Exception {
    LauncherFixture l = new LauncherFixture(dir, true);
    l.failArchiveCheck();
    List<String> start = l.launch(Map.of(), "--port", "0");
    assertTrue(l.log().contains("no class archive"), l.log());
    assertEquals(List.of(), archiveFlags(start));
    assertEquals(List.of(), files(l, LauncherFixture.archiveSuffix()), "no archive");
    assertEquals(1, files(l, LauncherFixture.archiveSuffix() + ".failed").size(), "the failed try is marked");

    l.launch(Map.of(), "--port", "0");
    assertEquals(1, l.trainings().size(), "not tried again for the same build");

    l.builtAt(Instant.now().plus(2, ChronoUnit.HOURS));
    l.launch(Map.of(), "--port", "0");
    assertEquals(2, l.trainings().size(), "tried again after a build");
  }

  @Test
  void shouldKillATrainingDaemonThatDoesNotStopAndStartWithoutAnArchive() throws Exception {
    LauncherFixture l = new LauncherFixture(dir, true);
    l.hangTrainingOnStop();
    List<String> start = l.launch(Map.of("STOP_SECONDS", "1"), "--port", "0");
    assertTrue(l.log().contains("no class archive"), l.log());
    assertEquals(List.of(), archiveFlags(start));
    assertEquals(List.of(), files(l, LauncherFixture.archiveSuffix()));
    assertEquals(1, files(l, LauncherFixture.archiveSuffix() + ".failed").size(), "the failed try is marked");
  }

  /**
   * A checkout built by another user: the launcher, run as {@code nobody}, can read it but not
   * write its target/, so it makes no archive (and does not abort trying) and starts the daemon.
   */
  @Test
  void shouldStartWithoutAnArchiveWhereTargetIsNotWritable() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name"))
            && Files.isExecutable(Path.of("/usr/bin/setpriv")),
        "running the launcher as another user needs root and setpriv (as on the CI machine)");
    LauncherFixture l = new LauncherFixture(dir, true);
    l.openToOtherUsers();
    List<String> start = l.launchAs(
        List.of("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"),
        Map.of(), "--port", "0");
    assertEquals(List.of(), archiveFlags(start));
    assertEquals(0, l.trainings().size(), "no training run");
    assertEquals(List.of(), files(l, LauncherFixture.archiveSuffix()));
    assertEquals(List.of(), files(l, LauncherFixture.archiveSuffix() + ".failed"));
    assertFalse(l.log().contains("making a class archive"), l.log());
  }

  @Test
  void shouldRunFromTheClassDirectoryWithoutAnArchiveWhenNoJarWasBuilt() throws Exception {
    LauncherFixture l = new LauncherFixture(dir, false);
    List<String> start = l.launch(Map.of(), "--port", "0");
    assertEquals(List.of(), archiveFlags(start));
    assertEquals(List.of(), l.trainings());
    assertTrue(start.contains(l.root.resolve("kvstore-server/target/classes")
        + ":" + System.getProperty("java.class.path")), start.toString());
  }
}
