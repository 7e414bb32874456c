package io.kvstore.bench.crash;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The crash test learns a daemon's port from that life's own log line: never from an earlier
 * life's line in the same log file, and not before the daemon has written it.
 */
class DaemonProcessTest {

  @TempDir Path dir;

  @Test
  void shouldReadThePortOnlyFromThisLifesOutput() throws Exception {
    Path log = dir.resolve("daemon.log");
    Files.writeString(log, "=== life 1\n2026-12-02T06:27:39.473Z [main] INFO KvStoreDaemon - serving"
        + " the kvstore protocol on 127.0.0.1:45507\n=== life 2\n", StandardCharsets.UTF_8);
    long from = Files.size(log);
    assertEquals(-1, DaemonProcess.servingPort(log, from), "nothing written by this life yet");
    Files.writeString(log, "2026-12-02T06:27:43.405Z [main] INFO KvStoreDaemon - opening the store\n",
        StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    assertEquals(-1, DaemonProcess.servingPort(log, from), "still opening");
    Files.writeString(log, "2026-12-02T06:27:49.663Z [main] INFO KvStoreDaemon - serving the kvstore"
        + " protocol on 127.0.0.1:36587\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    assertEquals(36587, DaemonProcess.servingPort(log, from));
    assertEquals(45507, DaemonProcess.servingPort(log, 0), "from the start: the first life's");
  }
}
