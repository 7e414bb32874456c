package io.kvstore.server.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.store.TieredStore;
import io.netty.channel.Channel;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An {@code accept} that fails (EMFILE: out of file descriptors) on the daemon's listening socket:
 * Netty's acceptor pauses accepting for a second, then the error is counted and logged at most
 * once per 10 s, and stops there; before, each one reached the pipeline's tail, which logged a WARN
 * with a stack trace once a second for as long as the descriptors stayed exhausted.
 */
class AcceptErrorsTest {

  @TempDir Path dir;

  @Test
  void shouldCountAcceptErrorsAfterTheAcceptorPausedAndKeepAccepting() throws Exception {
    try (TieredStore store = NetFixtures.smallStore(dir).build()) {
      KvStoreNetworkServer server =
          new KvStoreNetworkServer(NetFixtures.config().build(), store, NetFixtures.metrics());
      server.start();
      try {
        Channel listening = server.serverChannelForTest();
        java.util.List<String> names = listening.pipeline().names();
        int at = names.indexOf("accept-errors");
        assertTrue(at > 0 && names.get(at - 1).contains("Acceptor"), "after the acceptor: " + names);
        for (int i = 0; i < 3; i++) {
          listening.pipeline().fireExceptionCaught(new IOException("accept(..) failed: Too many open files"));
        }
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (server.counters().acceptFailures() < 3 && System.nanoTime() < deadline) {
          Thread.sleep(10); // the events run on the listening socket's loop
        }
        assertEquals(3, server.counters().acceptFailures());
        // The acceptor, before this handler, paused accepting for a second; it resumes by itself.
        while (!listening.config().isAutoRead() && System.nanoTime() < deadline) {
          Thread.sleep(20);
        }
        assertTrue(listening.config().isAutoRead(), "accepting resumes after the pause");
        try (Socket s = new Socket("127.0.0.1", server.port())) {
          assertTrue(s.isConnected(), "a new connection is accepted");
        }
      } finally {
        server.shutdownGracefully(Duration.ofSeconds(5));
      }
    }
  }
}
