package io.kvstore.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
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
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/**
 * The real {@code bin/kvstore-server} (and {@code bin/kvstore-class-archive}) in a copy of the
 * repository layout whose classpath file points at this build (so it never builds), run with a
 * {@code java} wrapper: the real JVM for the launcher's version check and its {@code
 * --print-direct-memory} probe; a stand-in for the class archive's training run (CDS or, when the
 * JDK running the tests is 25 or newer, AOT cache; it prints
 * "started;" and, on SIGTERM, writes the archive the JVM would) and its check (passes unless
 * {@link #failArchiveCheck()}); for the final start it records the arguments instead of starting a
 * daemon.
 */
final class LauncherFixture {

  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  final Path dir;
  final Path root;
  final Path launcher;
  final Path classpathFile;
  private final Path javaHome;
  private final Path recorded;
  /** One line per training run: its working directory and KVSTORE_* variables, then its arguments. */
  final Path trainings;
  private final Path checkFails;
  private final Path ignoreTerm;

  /**
   * @param withJar whether the layout has the daemon's jar (as after a package), which the launcher
   *     runs from and archives; without it the launcher uses the class directory
   */
  LauncherFixture(Path dir, boolean withJar) throws IOException {
    this.dir = dir;
    root = dir.resolve("repo");
    Files.createDirectories(root.resolve("bin"));
    launcher = copyExecutable("bin/kvstore-server");
    copyExecutable("bin/kvstore-class-archive");
    Files.copy(ROOT.resolve("bin/jvm-flags"), root.resolve("bin/jvm-flags"));
    Files.writeString(root.resolve("pom.xml"), "<project/>");
    for (String m : List.of("kvstore-common", "kvstore-core", "kvstore-client")) {
      Files.createDirectories(root.resolve(m));
    }
    Path target = Files.createDirectories(root.resolve("kvstore-server/target/classes"));
    if (withJar) {
      try (OutputStream out = Files.newOutputStream(
              target.resolveSibling("kvstore-server-0.1.0-SNAPSHOT.jar"));
          JarOutputStream jar = new JarOutputStream(out, new Manifest())) {
        jar.flush(); // an empty jar: the classes come from the test's class path after it
      }
    }
    classpathFile = target.resolveSibling("classpath.txt");
    Files.writeString(classpathFile, System.getProperty("java.class.path"));
    builtAt(Instant.now().plus(1, ChronoUnit.HOURS));

    recorded = dir.resolve("start-args.txt");
    trainings = dir.resolve("trainings.txt");
    checkFails = dir.resolve("check-fails");
    ignoreTerm = dir.resolve("ignore-term");
    javaHome = Files.createDirectories(dir.resolve("jdk/bin")).getParent();
    String realJava = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Path fakeJava = javaHome.resolve("bin/java");
    Files.writeString(fakeJava, "#!/usr/bin/env bash\n"
        + "mode=start\n"
        + "for a in \"$@\"; do\n"
        + "  case \"$a\" in\n"
        + "    --print-direct-memory|-XshowSettings:properties) exec '" + realJava + "' \"$@\" ;;\n"
        + "    -XX:ArchiveClassesAtExit=*|-XX:AOTCacheOutput=*) mode=train; out=\"${a#*=}\" ;;\n"
        + "    -Xshare:on|-XX:AOTMode=on) mode=check ;;\n"
        + "  esac\n"
        + "done\n"
        + "case $mode in\n"
        + "  train)\n"
        + "    echo \"cwd=$PWD kvstore_vars=$(compgen -e | grep -c '^KVSTORE_') $*\" >> '" + trainings + "'\n"
        + "    if [[ -e '" + ignoreTerm + "' ]]; then trap '' TERM;"
        + " else trap 'printf archive > \"$out\"; exit 143' TERM; fi\n"
        + "    echo 'started; SIGTERM or Ctrl-C stops it gracefully'\n"
        + "    while true; do sleep 0.05; done ;;\n"
        + "  check) [[ ! -e '" + checkFails + "' ]] ;;\n"
        + "  *) printf '%s\\n' \"$@\" > '" + recorded + "' ;;\n"
        + "esac\n", StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(fakeJava, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private Path copyExecutable(String path) throws IOException {
    Path copy = Files.copy(ROOT.resolve(path), root.resolve(path));
    Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString("rwxr-xr-x"));
    return copy;
  }

  /**
   * Marks the last build as made at {@code when} (the classpath file's time): newer than anything
   * in the copy, so the launcher never runs Maven, and newer than an archive made before it.
   */
  void builtAt(Instant when) throws IOException {
    Files.setLastModifiedTime(classpathFile, FileTime.from(when));
  }

  /** Makes the stand-in's archive check refuse the archive, as a JVM refuses one it cannot use. */
  void failArchiveCheck() throws IOException {
    Files.writeString(checkFails, "");
  }

  /** Makes the stand-in's training daemon ignore SIGTERM, as a daemon that hangs in its stop would. */
  void hangTrainingOnStop() throws IOException {
    Files.writeString(ignoreTerm, "");
  }

  /**
   * The suffix of the archive the launcher makes with the JDK running the tests: an AOT cache from
   * JDK 25 on, a CDS archive before.
   */
  static String archiveSuffix() {
    return Runtime.version().feature() >= 25 ? ".aot" : ".jsa";
  }

  /** The JVM option that hands that archive to a start. */
  static String archiveOption() {
    return Runtime.version().feature() >= 25 ? "-XX:AOTCache=" : "-XX:SharedArchiveFile=";
  }

  /** Training runs so far (the class archive's daemon starts). */
  List<String> trainings() throws IOException {
    return Files.exists(trainings) ? Files.readAllLines(trainings) : List.of();
  }

  /**
   * Runs the launcher with {@code env} (no other KVSTORE_* variable) and {@code args}; returns the
   * arguments of the final start, which must end with {@code args} unchanged.
   */
  List<String> launch(Map<String, String> env, String... args) throws Exception {
    return launchAs(List.of(), env, args);
  }

  /**
   * {@link #launch} through {@code runAs} (a command prefix such as {@code setpriv --reuid=...}):
   * the launcher runs as another user.
   */
  List<String> launchAs(List<String> runAs, Map<String, String> env, String... args)
      throws Exception {
    Files.deleteIfExists(recorded);
    List<String> command = new ArrayList<>(runAs);
    command.add(launcher.toString());
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
    String log = log();
    assertEquals(0, p.exitValue(), log);
    assertTrue(Files.exists(recorded), "the launcher never started the daemon:\n" + log);
    List<String> startArgs = Files.readAllLines(recorded);
    assertEquals(List.of(args), startArgs.subList(startArgs.size() - args.length, startArgs.size()),
        "the user's arguments are passed through unchanged, last");
    return startArgs;
  }

  /**
   * Opens the layout to other users: everything readable, scripts executable, the test's own
   * directory (where the stand-in JVM records what it was asked) writable; the repository copy
   * stays writable by its owner only.
   */
  void openToOtherUsers() throws IOException {
    try (var paths = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) paths::iterator) {
        boolean exec = Files.isDirectory(p) || Files.isExecutable(p);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(exec ? "rwxr-xr-x" : "rw-r--r--"));
      }
    }
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
  }

  /** What the launcher printed in its latest run. */
  String log() throws IOException {
    return Files.readString(dir.resolve("launcher.log"));
  }
}
