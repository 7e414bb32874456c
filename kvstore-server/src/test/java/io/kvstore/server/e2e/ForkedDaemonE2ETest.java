package io.kvstore.server.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.GetResult;
import io.kvstore.client.KvStoreClient;
import io.kvstore.client.KvStoreException;
import io.kvstore.server.KvStoreServerCommand;
import io.kvstore.server.net.NetFixtures;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real daemon ({@link KvStoreServerCommand}'s main, this network layer found through
 * ServiceLoader) in forked JVMs: a client puts and gets; then SIGTERM during a write load, a clean
 * stop, a restart on the same data directory, and every acknowledged page read back byte for byte.
 * The memory tiers are 0, so every acknowledged put is on the SSD tier. Slow: each forked JVM opens
 * a Chronicle Map index (10-16 s on a busy 2-core machine).
 */
@Tag("slow")
class ForkedDaemonE2ETest {

  private static final long NS = 0x0000FEED0000BEEFL;
  private static final Pattern PORT = Pattern.compile("serving the kvstore protocol on [^:]+:(\\d+)");

  @TempDir Path dir;

  /** One forked daemon and its log. */
  private static final class Daemon implements AutoCloseable {
    final Process process;
    final List<String> lines = new CopyOnWriteArrayList<>();
    final Thread reader;
    volatile int port = -1;

    Daemon(Path data) throws Exception {
      List<String> cmd = new ArrayList<>();
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      String flags = System.getProperty("kvstore.jvm.flags", "").trim();
      if (!flags.isEmpty()) {
        cmd.addAll(Arrays.asList(flags.split("\\s+")));
      }
      cmd.addAll(List.of("-Xmx512m", "-cp", System.getProperty("java.class.path"),
          KvStoreServerCommand.class.getName(), "--data-dir", data.toString(), "--port", "0",
          "--metrics-port", "0", "--hot-bytes", "0", "--dram-bytes", "0", "--ssd-bytes", "256MiB",
          "--shutdown-grace-seconds", "5"));
      process = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      CountDownLatch started = new CountDownLatch(1);
      reader = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
          for (String line; (line = r.readLine()) != null; ) {
            lines.add(line);
            Matcher m = PORT.matcher(line);
            if (m.find()) {
              port = Integer.parseInt(m.group(1));
            }
            if (line.contains("started; SIGTERM or Ctrl-C stops it gracefully")) {
              started.countDown();
            }
          }
        } catch (IOException e) {
          lines.add("reader failed: " + e);
        }
      }, "forked-daemon-log");
      reader.start();
      if (!started.await(90, TimeUnit.SECONDS) || port < 0) {
        process.destroyForcibly();
        throw new AssertionError("daemon did not start:\n" + log());
      }
    }

    String log() {
      return String.join("\n", lines);
    }

    KvStoreClient client() {
      return KvStoreClient.builder().address("127.0.0.1", port).namespaceId(NS)
          .requestTimeout(Duration.ofSeconds(20)).maxRetries(0).build();
    }

    /** SIGTERM through the process handle (which keeps the output pipe open for the log). */
    int sigterm() throws Exception {
      assertTrue(process.toHandle().destroy());
      assertTrue(process.waitFor(90, TimeUnit.SECONDS), "daemon did not stop:\n" + log());
      reader.join(10_000);
      return process.exitValue();
    }

    @Override
    public void close() {
      process.destroyForcibly();
    }
  }

  @Test
  void shouldKeepEveryAcknowledgedPageAcrossSigtermAndRestart() throws Exception {
    Path data = dir.resolve("data");
    List<Integer> acknowledged = new CopyOnWriteArrayList<>();
    try (Daemon daemon = new Daemon(data)) {
      try (KvStoreClient client = daemon.client()) {
        ByteBuffer page = NetFixtures.page(1, 1, NS, 64 << 10);
        assertTrue(client.put(new ByteBuffer[] {page}).allStored());
        ByteBuffer dst = ByteBuffer.allocateDirect(NetFixtures.MAX_PAGE);
        GetResult got = client.get(new long[] {1, 1}, new ByteBuffer[] {dst});
        assertEquals(1, got.found(), daemon.log());
        assertArrayEquals(NetFixtures.bytes(page), NetFixtures.bytes(dst, got.length(0)));

        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> writerEnd = new AtomicReference<>();
        Thread writer = new Thread(() -> {
          try {
            for (int i = 0; !stop.get(); i++) {
              if (client.put(new ByteBuffer[] {NetFixtures.page(2, i, NS, 16 << 10)}).allStored()) {
                acknowledged.add(i);
              }
            }
          } catch (Throwable e) {
            writerEnd.set(e);
          }
        }, "writer");
        writer.start();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (acknowledged.size() < 100 && System.nanoTime() < until && writer.isAlive()) {
          Thread.sleep(10);
        }
        assertTrue(acknowledged.size() >= 100, "writer too slow or failed: " + writerEnd.get());

        int exit = daemon.sigterm();
        stop.set(true);
        writer.join(30_000);
        assertFalse(writer.isAlive());
        // The writer ends because the daemon went away, with a protocol error, never with bad data.
        assertTrue(writerEnd.get() == null || writerEnd.get() instanceof KvStoreException,
            String.valueOf(writerEnd.get()));
        String log = daemon.log();
        assertTrue(exit == 0 || exit == 143, "exit " + exit + "\n" + log); // 143: 128 + SIGTERM
        assertTrue(log.contains("network server stopped"), log);
        assertTrue(log.contains("store closed"), log);
        assertTrue(log.lines().anyMatch(l -> l.endsWith("KvStoreDaemon - stopped")), log);
        assertTrue(log.lines().noneMatch(l -> l.contains(" ERROR ")), log);
      }
    }

    try (Daemon restarted = new Daemon(data); KvStoreClient client = restarted.client()) {
      int n = acknowledged.size();
      for (int from = 0; from < n; from += 128) {
        int count = Math.min(128, n - from);
        long[] keys = new long[2 * count];
        ByteBuffer[] dsts = new ByteBuffer[count];
        for (int j = 0; j < count; j++) {
          keys[2 * j] = 2;
          keys[2 * j + 1] = acknowledged.get(from + j);
          dsts[j] = ByteBuffer.allocateDirect(32 << 10);
        }
        GetResult got = client.get(keys, dsts);
        for (int j = 0; j < count; j++) {
          int i = acknowledged.get(from + j);
          assertTrue(got.isHit(j), "acknowledged page " + i + " of " + n + " lost\n" + restarted.log());
          assertArrayEquals(NetFixtures.bytes(NetFixtures.page(2, i, NS, 16 << 10)),
              NetFixtures.bytes(dsts[j], got.length(j)), "page " + i);
        }
      }
      int exit = restarted.sigterm();
      assertTrue(exit == 0 || exit == 143, "exit " + exit + "\n" + restarted.log());
    }
  }
}
