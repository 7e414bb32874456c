package io.kvstore.server.net;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.store.TieredStore;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link StoreOps#of}: which stores let the daemon run a PUT on its event loop. */
class StoreOpsTest {

  @TempDir Path dir;

  @Test
  void shouldReportThatAPutNeverBlocksWhenTheStoreHasNoSsdTier() {
    try (TieredStore store = TieredStore.builder().maxPageBytes(NetFixtures.MAX_PAGE)
        .hotBytes(4L * NetFixtures.MAX_PAGE).hotFrameBytes(NetFixtures.MAX_PAGE)
        .dramBytes(8L << 20).ssdBytes(0).build()) {
      assertTrue(StoreOps.of(store).putNeverBlocks());
    }
  }

  @Test
  void shouldReportThatAPutMayBlockWhenTheStoreHasAnSsdTier() {
    try (TieredStore store = NetFixtures.smallStore(dir).build()) {
      assertFalse(StoreOps.of(store).putNeverBlocks());
    }
  }
}
