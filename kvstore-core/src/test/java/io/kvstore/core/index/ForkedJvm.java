package io.kvstore.core.index;

import java.io.File;
import java.io.IOException;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts a test main class in a fresh JVM with this JVM's classpath and the store's JVM flags (from
 * the {@code kvstore.jvm.flags} system property that the build passes to tests).
 */
public final class ForkedJvm {

  private ForkedJvm() {}

  /**
   * A process builder for {@code java <flags> <jvmArgs> -cp <classpath> <mainClass> <args>}, stderr
   * sent to this JVM's stderr.
   */
  public static ProcessBuilder builder(List<String> jvmArgs, Class<?> mainClass, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    String flags = System.getProperty("kvstore.jvm.flags", "").trim();
    if (!flags.isEmpty()) {
      for (String flag : flags.split("\\s+")) {
        cmd.add(flag);
      }
    }
    cmd.addAll(jvmArgs);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(mainClass.getName());
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
  }

  /** Runs the class to completion and returns its exit code. */
  public static int run(List<String> jvmArgs, Class<?> mainClass, String... args)
      throws IOException, InterruptedException {
    Process p = builder(jvmArgs, mainClass, args).redirectOutput(new File("/dev/null")).start();
    return p.waitFor();
  }
}
