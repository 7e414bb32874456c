package io.kvstore.core.store;

import io.kvstore.core.tier.TestPages;
import java.nio.file.Path;

/**
 * Run in a forked JVM by {@link TieredStoreCrashTest}: puts pages through a small store (so they
 * move through every tier) forever, printing each acknowledged key, until killed.
 */
public final class StoreCrashWriterMain {
  private StoreCrashWriterMain() {}

  public static void main(String[] args) {
    // The test expects pages acknowledged on SSD to survive the kill: that takes the write-ahead
    // log (without it, the SSD tier keeps only flushed memtables, and these pages fit in one).
    TieredStore store = StoreFixtures.small(Path.of(args[0])).ssdDurability("wal").build();
    for (long k = 0; ; k++) {
      if (store.put(TestPages.page(31, k % 500, (int) (k / 500) + 1, 4096 + (int) (k % 7) * 1000))) {
        System.out.println(k);
        System.out.flush();
      }
    }
  }
}
