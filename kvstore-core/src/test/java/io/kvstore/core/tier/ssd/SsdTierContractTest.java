package io.kvstore.core.tier.ssd;

import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.TierContractTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The tier contract for the SSD tier (RocksDB with BlobDB): persistent, cannot pin. */
class SsdTierContractTest extends TierContractTest {

  @TempDir Path tmp;
  private Path dir;

  private SsdTier openAt(Path d, long capacityBytes, int maxPageBytes) {
    return new SsdTier(
        SsdTierConfig.builder(d, capacityBytes)
            .maxPageBytes(maxPageBytes)
            .maxPages((int) Math.max(1, capacityBytes / 64))
            .build());
  }

  @Override
  protected Tier newTier(long capacityBytes, int maxPageBytes) {
    try {
      dir = Files.createTempDirectory(tmp, "ssd");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return openAt(dir, capacityBytes, maxPageBytes);
  }

  @Override
  protected boolean canPin() {
    return false;
  }

  @Override
  protected boolean persistent() {
    return true;
  }

  @Override
  protected Tier reopen(long capacityBytes, int maxPageBytes) {
    return openAt(dir, capacityBytes, maxPageBytes);
  }

  @Override
  protected long offHeapBytes() {
    return -1; // RocksDB's memory is native, outside the JVM's buffer pools
  }
}
