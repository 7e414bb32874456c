package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.index.ForkedJvm;
import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.TierKind;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A writer process is killed with SIGKILL in the middle of a stream of puts: after reopening, every
 * page it acknowledged is there byte for byte (the write-ahead log survives a process kill), no read
 * returns other bytes, and the block index (not closed by the dead process) is recovered and agrees
 * with RocksDB.
 */
class SsdTierCrashTest {

  @TempDir Path dir;

  @Test
  void shouldKeepEveryAcknowledgedPageAfterSigkill() throws Exception {
    Path rocks = dir.resolve("rocks");
    Path indexDir = dir.resolve("index");
    Process p =
        ForkedJvm.builder(
                List.of("-Xmx256m"),
                SsdCrashWriterMain.class,
                rocks.toString(),
                indexDir.toString())
            .start();
    long acknowledged = 0;
    try (BufferedReader in =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII))) {
      String line;
      while (acknowledged < 400 && (line = in.readLine()) != null) {
        assertEquals(acknowledged + 1, Long.parseLong(line.trim()));
        acknowledged++;
      }
      p.destroyForcibly(); // SIGKILL on Linux: no shutdown hook, no close
      assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    } finally {
      p.destroyForcibly();
    }
    assertEquals(400, acknowledged, "the writer died before acknowledging 400 pages");

    try (BlockIndex index = BlockIndex.open(indexDir, 100_000);
        SsdTier tier =
            new SsdTier(SsdTierConfig.builder(rocks, 1L << 30).maxPages(100_000).build(), index)) {
      assertTrue(index.recovered(), "the killed writer never closed the index");
      assertTrue(tier.pageCount() >= acknowledged);
      ByteBuffer dst = ByteBuffer.allocateDirect(64 + 40_000);
      long present = 0;
      // Keys past the last acknowledged one may or may not have been written: exact bytes or miss.
      for (long k = 1; k <= acknowledged + 50; k++) {
        dst.clear();
        int n = tier.get(k, k, dst);
        if (k <= acknowledged) {
          assertTrue(n != Tier.MISS, "acknowledged page " + k + " lost");
        }
        if (n != Tier.MISS) {
          ByteBuffer expected = Pages.page(k, k, k - 1, k - 1, SsdCrashWriterMain.payloadLength(k), k);
          assertTrue(Pages.sameBytes(expected, dst, 0, n), "wrong bytes for key " + k);
          assertEquals(TierKind.SSD.bit(), index.tiers(k, k), "index disagrees for key " + k);
          present++;
        }
      }
      assertEquals(tier.pageCount(), present);
      assertEquals(0, tier.corruptions());
      assertEquals(tier.pageCount(), index.size());
    }
  }
}
