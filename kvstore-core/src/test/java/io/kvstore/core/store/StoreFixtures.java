package io.kvstore.core.store;

import io.kvstore.common.PageFormat;
import io.kvstore.core.tier.TierKind;
import java.nio.ByteBuffer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** Small stores for tests: a few hot frames, a few DRAM slabs, an SSD tier of a few MiB. */
public final class StoreFixtures {

  static final int MAX_PAYLOAD = 16 * 1024;
  static final int MAX_PAGE = PageFormat.pageLength(MAX_PAYLOAD);

  private StoreFixtures() {}

  /** Hot: 4 frames; DRAM: 256 KiB; SSD: 8 MiB. */
  static TieredStoreBuilder small(Path dir) {
    return TieredStore.builder()
        .dataDir(dir)
        .maxPageBytes(MAX_PAGE)
        .hotBytes(4L * MAX_PAGE)
        .dramBytes(256L << 10)
        .ssdBytes(8L << 20)
        .indexMaxEntries(100_000);
  }

  /**
   * A store for a real (small) file system: pages of {@code payload} bytes, DRAM of 8 MiB (so that
   * a few hundred pages cause write-back), SSD of 64 MiB sized for pages of that size.
   */
  static TieredStoreBuilder onDisk(Path dataDir, int payload) {
    return TieredStore.builder()
        .dataDir(dataDir)
        .maxPageBytes(PageFormat.pageLength(payload))
        .dramBytes(8L << 20)
        .ssdBytes(64L << 20)
        .ssdMinPageBytes(PageFormat.pageLength(payload));
  }

  /** Which tier holds the key (the fastest one), or null. */
  static TierKind whereIs(TieredStore store, long hi, long lo) {
    int[] perTier = new int[3];
    if (store.lookupPrefix(new long[] {hi, lo}, 1, perTier) == 0) {
      return null;
    }
    for (TierKind k : TierKind.values()) {
      if (perTier[k.ordinal()] == 1) {
        return k;
      }
    }
    throw new AssertionError("lookupPrefix found the key in no tier");
  }

  /**
   * Copies a data directory as a SIGKILL would leave it (no clean-close markers are written: the
   * store stays open), for crash tests that reopen the copy.
   */
  public static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> all = Files.walk(from)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else {
          Files.copy(p, t);
        }
      }
    }
  }

  static ByteBuffer dst() {
    return ByteBuffer.allocateDirect(MAX_PAGE);
  }
}
