package io.kvstore.core.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.index.ForkedJvm;
import io.kvstore.core.tier.TestPages;
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
 * A forked JVM writes pages through the whole store and is killed with SIGKILL mid-stream. On reopen
 * every get returns an intact page or a miss, never other bytes, and the SSD tier is not empty.
 */
class TieredStoreCrashTest {

  @TempDir Path dir;

  @Test
  void shouldServeOnlyIntactPagesAfterSigkill() throws Exception {
    Process p = ForkedJvm.builder(List.of("-Xmx256m"), StoreCrashWriterMain.class, dir.toString()).start();
    long acknowledged = 0;
    try (BufferedReader out =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII))) {
      String line;
      while ((line = out.readLine()) != null) {
        acknowledged = Long.parseLong(line.trim()) + 1;
        if (acknowledged >= 1500) {
          p.destroyForcibly(); // SIGKILL on Linux: no shutdown hook, no close
          break;
        }
      }
    }
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    assertTrue(acknowledged >= 1500, "the writer acknowledged " + acknowledged + " pages");

    try (TieredStore store = StoreFixtures.small(dir).build()) {
      ByteBuffer dst = ByteBuffer.allocateDirect(StoreFixtures.MAX_PAGE);
      int present = 0;
      for (long k = 0; k < 500; k++) {
        dst.clear();
        if (store.get(31, k, dst) > 0) {
          TestPages.check(dst.flip(), 31, k);
          present++;
        }
      }
      assertTrue(present > 0, "pages demoted to SSD before the kill survive it");
      assertEquals(0, store.stats().corruptions());
    }
  }
}
