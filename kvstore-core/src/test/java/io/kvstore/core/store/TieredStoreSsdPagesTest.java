package io.kvstore.core.store;

import static io.kvstore.core.store.StoreFixtures.small;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.tier.TestPages;
import io.kvstore.core.tier.ssd.SsdTier;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The SSD tier's page bound follows from its bytes and the smallest page the operator declares. */
class TieredStoreSsdPagesTest {

  @TempDir Path dir;

  private SsdTier ssd;

  private TieredStore open(TieredStoreBuilder b) {
    b.ssdTierWrapper =
        t -> {
          ssd = (SsdTier) t;
          return t;
        };
    return b.build();
  }

  @Test
  void shouldBoundTheSsdPagesBySsdBytesOverTheSmallestPage() {
    try (TieredStore store = open(small(dir.resolve("default")))) {
      assertEquals((8L << 20) / (16 << 10), ssd.config().maxPages(), "default: 16 KiB pages");
      assertTrue(store.put(TestPages.page(5, 1, 1, 16 << 10)));
    }
    try (TieredStore store = open(small(dir.resolve("small")).ssdMinPageBytes(4096))) {
      assertEquals((8L << 20) / 4096, ssd.config().maxPages());
      assertTrue(
          ssd.index().maxEntries() >= ssd.config().maxPages(),
          "the directory is allocated for every page the tier may hold");
      // Pages smaller than declared still fit.
      assertTrue(store.put(TestPages.page(5, 1, 1, 100)));
    }
  }

  @Test
  void shouldRefuseASmallestPageNoLargerThanAHeader() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> small(dir).ssdMinPageBytes(64));
    assertTrue(e.getMessage().contains("64-byte header"), e.getMessage());
  }
}
