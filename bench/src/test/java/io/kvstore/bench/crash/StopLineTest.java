package io.kvstore.bench.crash;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StopLineTest {

  @TempDir Path dir;

  @Test
  void shouldAddWhatTheCloseLineSaysIsNotKept() {
    assertEquals(0, StopLine.pagesNotKept(
        "2026-12-03T17:00:12.708Z [main] INFO StoreCloser - store closed in 25 ms: wrote 6 dirty"
            + " pages to SSD"));
    assertEquals(1_234, StopLine.pagesNotKept(
        "INFO StoreCloser - store closed in 25 ms: wrote 6 dirty pages to SSD; 1,234 dirty pages"
            + " had been dropped by the write-back policy while the store ran"
            + " (kvstore_writeback_drops_total)"));
    assertEquals(3 + 1_002 + 7, StopLine.pagesNotKept(
        "WARN StoreCloser - store closed in 20,001 ms: wrote 9 dirty pages to SSD; 3 dirty pages"
            + " and 1.002 queued pages were not written (grace of 20,000 ms over, or SSD tier"
            + " degraded) and are lost; 7 dirty pages had been dropped by the write-back policy"
            + " while the store ran (kvstore_writeback_drops_total)"));
  }

  @Test
  void shouldReadOnlyTheLastCloseAfterTheOffset() throws Exception {
    Path log = dir.resolve("daemon.log");
    String first = "store closed in 5 ms: wrote 1 dirty pages to SSD; 50 dirty pages had been"
        + " dropped by the write-back policy while the store ran\n";
    Files.writeString(log, first + "started\n");
    long from = Files.size(log);
    assertEquals(0, StopLine.pagesNotKept(log, from), "nothing logged since");
    Files.writeString(log, "store closed in 9 ms: wrote 2 dirty pages to SSD; 4 dirty pages had"
        + " been dropped by the write-back policy while the store ran\n",
        java.nio.file.StandardOpenOption.APPEND);
    assertEquals(4, StopLine.pagesNotKept(log, from));
    assertEquals(4, StopLine.pagesNotKept(log, 0), "the last close line counts");
  }
}
