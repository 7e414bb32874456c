package io.kvstore.core.tier.ssd;

import java.nio.file.Path;

/**
 * Run in a fresh JVM by {@link SsdDirectoryRebuildKilledTest}: opens the crashed tier in {@code
 * args[0]} with durability {@code args[2]} (which rebuilds its directory, or with {@code none}
 * checks the recovered index's entries), and once {@code args[1]} records or entries are done
 * prints {@code PAUSED} and waits there to be killed. Prints {@code OPENED} if the open
 * finishes first (the test then fails: it meant to kill the rebuild).
 */
public final class RebuildKillTarget {

  private RebuildKillTarget() {}

  public static void main(String[] args) throws Exception {
    long pauseAt = Long.parseLong(args[1]);
    SsdTierConfig.Durability durability = SsdTierConfig.Durability.parse(args[2]);
    java.util.function.LongConsumer pause =
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
    DirectoryRebuild.scannedForTest = pause; // wal, sync: the rebuild from RocksDB
    DirectoryRebuild.batchRecordsForTest = 1_000; // so the writer has indexed some at the pause
    SsdTierLoader.checkedForTest = pause; // none: the check of the recovered index's entries
    try (SsdTier tier =
        new SsdTier(SsdDirectoryRebuildKilledTest.config(Path.of(args[0]), durability))) {
      System.out.println("OPENED " + tier.pageCount());
    }
  }
}
