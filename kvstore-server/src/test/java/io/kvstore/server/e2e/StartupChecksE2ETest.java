package io.kvstore.server.e2e;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.server.KvStoreDaemon;
import io.kvstore.server.config.ConfigException;
import io.kvstore.server.config.Sizes;
import io.kvstore.server.net.KvStoreNetworkServerFactory;
import io.kvstore.server.net.NetFixtures;
import io.netty.util.internal.PlatformDependent;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Start-up explains itself: memory tiers that cannot fit the direct-memory limit are one clear error. */
class StartupChecksE2ETest {

  @TempDir Path dir;

  @Test
  void shouldRefuseMemoryTiersLargerThanTheDirectMemoryLimitNamingBothAndTheFlag() {
    long limit = PlatformDependent.estimateMaxDirectMemory();
    long dram = limit + (1L << 30);
    Path data = dir.resolve("data");
    KvStoreDaemon daemon = new KvStoreDaemon(NetFixtures.config().dataDir(data).hotBytes(0)
        .dramBytes(dram).ssdBytes(0).build(), new KvStoreNetworkServerFactory());
    ConfigException e = assertThrows(ConfigException.class, daemon::start);
    assertTrue(e.getMessage().contains(Sizes.format(dram)), e.getMessage());
    assertTrue(e.getMessage().contains(Sizes.format(limit)), e.getMessage());
    assertTrue(e.getMessage().contains("-XX:MaxDirectMemorySize="), e.getMessage());
    assertFalse(Files.exists(data), "nothing opened or allocated before the check");
  }
}
