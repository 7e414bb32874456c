package io.kvstore.core.tier.ssd;

import io.kvstore.core.index.BlockIndex;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * Run in a forked JVM by {@link SsdTierCrashTest}: puts pages for keys 1, 2, 3 … forever and prints
 * each key (decimal, one per line) once {@code put} has returned, until it is killed.
 *
 * <p>Arguments: RocksDB directory, index directory.
 */
public final class SsdCrashWriterMain {

  private SsdCrashWriterMain() {}

  /** Payload length of key {@code k}'s page: varied, some below RocksDB's blob threshold. */
  static int payloadLength(long k) {
    return (int) ((k * 7919) % 40_000);
  }

  /** Entry point. */
  public static void main(String[] args) {
    PrintStream out = new PrintStream(System.out, false);
    BlockIndex index = BlockIndex.open(Path.of(args[1]), 100_000);
    SsdTier tier =
        new SsdTier(SsdTierConfig.builder(Path.of(args[0]), 1L << 30).maxPages(100_000).build(), index);
    for (long k = 1; ; k++) {
      ByteBuffer page = Pages.page(k, k, k - 1, k - 1, payloadLength(k), k);
      if (!tier.put(page)) {
        throw new IllegalStateException("put refused for key " + k);
      }
      out.println(k);
      out.flush();
    }
  }
}
