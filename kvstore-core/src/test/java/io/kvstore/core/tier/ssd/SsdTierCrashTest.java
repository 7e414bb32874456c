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
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A writer process is killed with SIGKILL in the middle of a stream of puts (1 MiB memtables, so
 * RocksDB has flushed many times). After reopening, no read returns other bytes than those put, and
 * the block index (not closed by the dead process) is recovered and agrees with RocksDB. With the
 * write-ahead log every acknowledged page is there; without it, what survives is the pages of the
 * flushed memtables: a leading run of the keys, with no hole.
 */
class SsdTierCrashTest {

  private static final int ACKNOWLEDGED = 400;

  @TempDir Path dir;

  @Test
  void shouldKeepEveryAcknowledgedPageAfterSigkillWithTheWriteAheadLog() throws Exception {
    long present = killWriterAndCheck(SsdTierConfig.Durability.WAL);
    assertTrue(present >= ACKNOWLEDGED, "only " + present + " pages survived");
  }

  @Test
  void shouldServeExactBytesOrMissesAfterSigkillWithoutTheWriteAheadLog() throws Exception {
    long present = killWriterAndCheck(SsdTierConfig.Durability.NONE);
    // 400 pages are ~8 MiB; RocksDB stops writes while 3 memtables (3 MiB) are unflushed, so some
    // flushes had completed before the writer could acknowledge them all.
    assertTrue(present > 0, "no flushed page survived");
  }

  /**
   * Runs the writer until it acknowledges {@value #ACKNOWLEDGED} pages, kills it, reopens the tier
   * and checks every key up to 50 past the last acknowledged: exact bytes or a miss, in the index
   * exactly when present, and present keys forming a leading run 1..n (a key may be missing only if
   * every later key is). Returns n.
   */
  private long killWriterAndCheck(SsdTierConfig.Durability durability) throws Exception {
    Path rocks = dir.resolve("rocks");
    Path indexDir = dir.resolve("index");
    Process p =
        ForkedJvm.builder(
                List.of("-Xmx256m"),
                SsdCrashWriterMain.class,
                rocks.toString(),
                indexDir.toString(),
                durability.name().toLowerCase(Locale.ROOT))
            .start();
    long acknowledged = 0;
    try (BufferedReader in =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII))) {
      String line;
      while (acknowledged < ACKNOWLEDGED && (line = in.readLine()) != null) {
        assertEquals(acknowledged + 1, Long.parseLong(line.trim()));
        acknowledged++;
      }
      p.destroyForcibly(); // SIGKILL on Linux: no shutdown hook, no close
      assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    } finally {
      p.destroyForcibly();
    }
    assertEquals(ACKNOWLEDGED, acknowledged, "the writer died before acknowledging all pages");

    try (BlockIndex index = BlockIndex.open(indexDir, 100_000);
        SsdTier tier = new SsdTier(SsdCrashWriterMain.config(rocks, durability), index)) {
      assertTrue(index.recovered(), "the killed writer never closed the index");
      ByteBuffer dst = ByteBuffer.allocateDirect(64 + 40_000);
      long present = 0;
      for (long k = 1; k <= acknowledged + 50; k++) {
        dst.clear();
        int n = tier.get(k, k, dst);
        if (n != Tier.MISS) {
          assertEquals(present + 1, k, "key " + k + " survived but key " + (present + 1) + " did not");
          ByteBuffer expected =
              Pages.page(k, k, k - 1, k - 1, SsdCrashWriterMain.payloadLength(k), k);
          assertTrue(Pages.sameBytes(expected, dst, 0, n), "wrong bytes for key " + k);
          assertEquals(TierKind.SSD.bit(), index.tiers(k, k), "index disagrees for key " + k);
          present++;
        } else {
          assertEquals(0, index.tiers(k, k), "index keeps lost key " + k);
        }
      }
      assertEquals(tier.pageCount(), present);
      assertEquals(0, tier.corruptions());
      assertEquals(tier.pageCount(), index.size());
      return present;
    }
  }
}
