package io.kvstore.core.tier.ssd;

import java.nio.file.Path;

/**
 * Run in a fresh JVM by {@link SsdDirectoryRebuildKilledTest}: opens the crashed tier in {@code
 * args[0]} (which rebuilds its directory), and once the rebuild has scanned {@code args[1]}
 * records prints {@code PAUSED} and waits there to be killed. Prints {@code OPENED} if the open
 * finishes first (the test then fails: it meant to kill the rebuild).
 */
public final class RebuildKillTarget {

  private RebuildKillTarget() {}

  public static void main(String[] args) throws Exception {
    long pauseAt = Long.parseLong(args[1]);
    DirectoryRebuild.scannedForTest =
        n -> {
          if (n == pauseAt) {
            System.out.println("PAUSED");
            System.out.flush();
            try {
              Thread.sleep(Long.MAX_VALUE);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
        };
    try (SsdTier tier = new SsdTier(SsdDirectoryRebuildKilledTest.config(Path.of(args[0])))) {
      System.out.println("OPENED " + tier.pageCount());
    }
  }
}
