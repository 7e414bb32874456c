package io.kvstore.bench.targets;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A forked daemon's port is read from that life's own log line: never from an earlier life's line
 * in the same log file (the crash test appends every life to one), and not before the daemon has
 * written it.
 */
class DaemonLogTest {

  @TempDir Path dir;

  @Test
  void shouldReadThePortOnlyFromThisLifesOutput() throws Exception {
    Path log = dir.resolve("daemon.log");
    Files.writeString(log, "=== life 1\n2026-12-02T06:27:39.473Z [main] INFO KvStoreDaemon - serving"
        + " the kvstore protocol on 127.0.0.1:45507\n=== life 2\n", StandardCharsets.UTF_8);
    long from = Files.size(log);
    assertEquals(-1, DaemonLog.servingPort(log, from), "nothing written by this life yet");
    Files.writeString(log, "2026-12-02T06:27:43.405Z [main] INFO KvStoreDaemon - opening the store\n",
        StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    assertEquals(-1, DaemonLog.servingPort(log, from), "still opening");
    Files.writeString(log, "2026-12-02T06:27:49.663Z [main] INFO KvStoreDaemon - serving the kvstore"
        + " protocol on 127.0.0.1:36587\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    assertEquals(36587, DaemonLog.servingPort(log, from));
    assertEquals(45507, DaemonLog.servingPort(log, 0), "from the start: the first life's");
    assertEquals(-1, DaemonLog.servingPort(dir.resolve("absent.log"), 0), "no log yet");
  }
}
