package io.kvstore.core.tier.ssd;

import io.kvstore.core.index.BlockIndex;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * Run in a forked JVM by {@link SsdTierCrashTest}: puts pages for keys 1, 2, 3 … forever and prints
 * each key (decimal, one per line) once {@code put} has returned, until it is killed.
 *
 * <p>Arguments: RocksDB directory, index directory, durability ({@code none}, {@code wal} or {@code
 * sync}). Memtables are the smallest allowed (1 MiB), so that RocksDB flushes many times before the
 * kill.
 */
public final class SsdCrashWriterMain {

  private SsdCrashWriterMain() {}

  /** Payload length of key {@code k}'s page: varied, some below RocksDB's blob threshold. */
  static int payloadLength(long k) {
    return (int) ((k * 7919) % 40_000);
  }

  /** The tier's settings, in the writer and when the test reopens the tier. */
  static SsdTierConfig config(Path rocks, SsdTierConfig.Durability durability) {
    return SsdTierConfig.builder(rocks, 1L << 30)
        .maxPages(100_000)
        .writeBufferBytes(1 << 20)
        .durability(durability)
        .build();
  }

  /** Entry point. */
  public static void main(String[] args) {
    PrintStream out = new PrintStream(System.out, false);
    BlockIndex index = BlockIndex.open(Path.of(args[1]), 100_000);
    SsdTier tier = new SsdTier(config(Path.of(args[0]), SsdTierConfig.Durability.parse(args[2])), index);
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
