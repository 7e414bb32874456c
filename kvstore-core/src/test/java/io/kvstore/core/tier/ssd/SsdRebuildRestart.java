package io.kvstore.core.tier.ssd;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The crash rebuild of {@link SsdDirectoryRebuildScaleTest} as a restarted daemon meets it: in a
 * JVM that has done nothing else (no class loaded, nothing compiled by the JIT, no Chronicle Values
 * class generated), which the scale test's reopen, sharing its JVM with the fill, cannot show. A
 * measurement tool, not a test:
 *
 * <pre>
 *   ./mvnw -B -o -q -pl kvstore-core -am test-compile dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt -Dmdep.includeScope=test
 *   CP=kvstore-core/target/test-classes:kvstore-core/target/classes:kvstore-common/target/classes:$(cat /tmp/cp.txt)
 *   java $(cat bin/jvm-flags) -cp $CP io.kvstore.core.tier.ssd.SsdRebuildRestart write /tmp/rebuild
 *   java $(cat bin/jvm-flags) -cp $CP io.kvstore.core.tier.ssd.SsdRebuildRestart open /tmp/rebuild
 *   java $(cat bin/jvm-flags) -cp $CP io.kvstore.core.tier.ssd.SsdRebuildRestart clean /tmp/rebuild
 * </pre>
 *
 * For another store size add {@code -Dkvstore.rebuild.pages=N} to {@code write} and to every later
 * {@code open} or {@code clean} of that directory: the tier is sized from it, so a store opened
 * with a smaller N than it was written with drops the pages beyond that capacity (for good).
 *
 * <p>{@code open} leaves the store as a crash does (no clean-close markers, no slot table), opens the
 * tier (the index discarded and the directory rebuilt from RocksDB), prints the times, and leaves
 * it crashed again. {@code clean} opens the tier as it is and closes it cleanly: run twice, the
 * second run times a reopen after a clean close (the directory read from the index).
 */
public final class SsdRebuildRestart {

  private SsdRebuildRestart() {}

  /**
   * {@code write DIR} or {@code open DIR}.
   *
   * @param args the command and the directory
   * @throws Exception on any failure (a tool: the stack trace is the message)
   */
  public static void main(String[] args) throws Exception {
    if (args.length != 2 || !List.of("write", "open", "clean").contains(args[0])) {
      System.err.println("usage: SsdRebuildRestart write|open|clean DIR");
      System.exit(2);
    }
    Path dir = Path.of(args[1]);
    if (args[0].equals("write")) {
      SsdDirectoryRebuildScaleTest.writeCrashedStore(dir);
      crash(dir);
      return;
    }
    boolean afterCrash = args[0].equals("open");
    if (afterCrash) {
      crash(dir);
    }
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    long sinceStart = ManagementFactory.getRuntimeMXBean().getUptime();
    long cpu0 = os.getProcessCpuTime();
    long t0 = System.nanoTime();
    long pages;
    long openMs;
    long cpuMs;
    try (SsdTier tier = new SsdTier(SsdDirectoryRebuildScaleTest.config(dir))) {
      openMs = (System.nanoTime() - t0) / 1_000_000;
      cpuMs = (os.getProcessCpuTime() - cpu0) / 1_000_000;
      pages = tier.pageCount();
    }
    System.out.printf(
        "fresh JVM: SSD tier opened after a %s with %,d pages in %,d ms (process CPU %,d ms;"
            + " JVM up %,d ms before it; load average %.1f)%n",
        afterCrash ? "crash" : "clean close",
        pages,
        openMs,
        cpuMs,
        sinceStart,
        os.getSystemLoadAverage());
    if (afterCrash) {
      crash(dir);
    }
  }

  /**
   * Leaves the tier as a kill leaves it: no clean-close markers (the tier's, the index's) and no
   * slot table, so the next open discards the index and rebuilds it from RocksDB.
   */
  private static void crash(Path dir) throws java.io.IOException {
    Path segDir = dir.resolve(SsdTier.SEGMENTS_DIR);
    Files.deleteIfExists(segDir.resolve(SsdTier.CLEAN_MARKER));
    Files.deleteIfExists(segDir.resolve(SsdTier.SLOTS_FILE));
    Files.deleteIfExists(
        dir.resolve(SsdTier.INDEX_DIR).resolve(io.kvstore.core.index.BlockIndex.CLEAN_MARKER_NAME));
  }
}
