package io.kvstore.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.store.StoreStats;
import io.kvstore.core.store.StoreStats.TierStats;
import io.kvstore.core.tier.TierKind;
import io.kvstore.server.config.ConfigException;
import io.kvstore.server.config.ServerConfig;
import io.kvstore.server.config.ServerConfigBuilder;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What the daemon says at start about its memory and its store: the warning for a daemon whose
 * full tiers and heap would need more memory than the host (or its container) gives it (such a
 * daemon starts, and is killed by the kernel only once its tiers fill), and the line that says how
 * long the store took to open and what it kept.
 */
class KvStoreDaemonStartLinesTest {

  private static final long GIB = 1L << 30;
  private static final long MIB = 1L << 20;

  @Test
  void shouldWarnWhenTheFullTiersAndTheHeapExceedTheHostsMemory() {
    ServerConfig c = sixGibOfTiers().build();
    String w = KvStoreDaemon.memoryWarning(c, 2 * GIB, 8 * GIB);
    assertEquals(
        "hot.bytes + dram.bytes + writeback.queue.bytes = 6.3 GiB, with a Java heap of up to 2.0"
            + " GiB, is more than the 8.0 GiB of memory this host gives the daemon (the container's limit"
            + " where it has one): the tiers fill as pages arrive, and before they are full the"
            + " kernel will kill the daemon, losing every page in memory; lower dram.bytes (or"
            + " hot.bytes) or give the daemon more memory (memory.prefault = true shows it at start"
            + " instead of under load)",
        w);
    // The same tiers with room to spare, or with the heap alone making the difference.
    assertNull(KvStoreDaemon.memoryWarning(c, 2 * GIB, 9 * GIB));
    assertTrue(KvStoreDaemon.memoryWarning(c, 3 * GIB, 9 * GIB) != null);
    // The host's memory unknown: no warning.
    assertNull(KvStoreDaemon.memoryWarning(c, 2 * GIB, -1));
    assertNull(KvStoreDaemon.memoryWarning(c, 2 * GIB, 0));
  }

  @Test
  void shouldCountTheWriteBackQueueOnlyWithAnSsdTierAndAnExplicitRequestBudget() {
    ServerConfig memoryOnly =
        ServerConfig.builder().hotBytes(0).dramBytes(7 * GIB).ssdBytes(0).build();
    assertNull(KvStoreDaemon.memoryWarning(memoryOnly, GIB, 8 * GIB), "7 GiB + 1 GiB of heap fit");
    ServerConfig withBudget =
        ServerConfig.builder()
            .hotBytes(0)
            .dramBytes(7 * GIB)
            .ssdBytes(0)
            .requestMemoryBytes(512 * MIB)
            .build();
    String w = KvStoreDaemon.memoryWarning(withBudget, GIB, 8 * GIB);
    assertTrue(
        w != null && w.startsWith("hot.bytes + dram.bytes + net.request.memory.bytes = 7.5 GiB,"),
        String.valueOf(w));
  }

  @Test
  void shouldSayHowLongTheStoreTookToOpenAndWhatItsSsdTierHolds() {
    StoreStats withSsd = new StoreStats(0, 0, 0, 0, 0, 0, 0, 0, 0, List.of(
        new TierStats(TierKind.DRAM, 1024, 512, 5, 768, 0, 0, 0, 0, 0, 0),
        new TierStats(TierKind.SSD, 1L << 40, 4_194_304_000L, 1_000_000, 0, 0, 0, 0, 0, 0, 0)));
    assertEquals("store open in 1,234 ms: 1,000,000 pages (4,194,304,000 bytes) on the SSD tier",
        KvStoreDaemon.storeOpenLine(withSsd, 1234));
    StoreStats memoryOnly = new StoreStats(0, 0, 0, 0, 0, 0, 0, 0, 0, List.of(
        new TierStats(TierKind.DRAM, 1024, 512, 5, 768, 0, 0, 0, 0, 0, 0)));
    assertEquals("store open in 12 ms (memory only: nothing is kept across restarts)",
        KvStoreDaemon.storeOpenLine(memoryOnly, 12));
  }

  @Test
  void shouldRefuseSettingsThatDoNotFitTheDirectMemoryLimitNamingWhatToSet() {
    ServerConfig c = sixGibOfTiers().build();
    KvStoreDaemon.checkDirectMemory(c, 7 * GIB); // fits
    ConfigException e =
        assertThrows(ConfigException.class, () -> KvStoreDaemon.checkDirectMemory(c, 4 * GIB));
    assertEquals(
        "Invalid configuration: hot.bytes + dram.bytes + writeback.queue.bytes = 6464MiB does not"
            + " fit the JVM's direct-memory limit of 4GiB; start the JVM with"
            + " -XX:MaxDirectMemorySize=8g (e.g. KVSTORE_JAVA_OPTS=-XX:MaxDirectMemorySize=8g) or"
            + " lower the tier sizes",
        e.getMessage());
    ServerConfig withBudget = sixGibOfTiers().requestMemoryBytes(2 * GIB).build();
    e = assertThrows(ConfigException.class, () -> KvStoreDaemon.checkDirectMemory(withBudget, 8 * GIB));
    assertTrue(
        e.getMessage().startsWith("Invalid configuration: hot.bytes + dram.bytes +"
            + " writeback.queue.bytes + net.request.memory.bytes = 8512MiB does not fit the JVM's"
            + " direct-memory limit of 8GiB; start the JVM with -XX:MaxDirectMemorySize=9g"),
        e.getMessage());
  }

  /** 64 MiB hot, 6 GiB DRAM, a 16 GiB SSD tier and its 256 MiB write-back queue: 6,464 MiB. */
  private static ServerConfigBuilder sixGibOfTiers() {
    return ServerConfig.builder()
        .hotBytes(64 * MIB)
        .dramBytes(6 * GIB)
        .ssdBytes(16 * GIB)
        .writeBackQueueBytes(256 * MIB);
  }
}
