package io.kvstore.server.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kvstore.core.store.TieredStore;
import io.kvstore.server.CannotStartException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A protocol port another process holds: the network server fails its start with a message that
 * names the address and the setting, and can still be shut down.
 */
class KvStoreNetworkServerBindTest {

  @TempDir Path dir;

  @Test
  void shouldSayWhichAddressIsInUse() throws Exception {
    try (TieredStore store = NetFixtures.smallStore(dir).build();
        ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
      int port = taken.getLocalPort();
      KvStoreNetworkServer server =
          new KvStoreNetworkServer(NetFixtures.config().port(port).build(), store, NetFixtures.metrics());
      CannotStartException e = assertThrows(CannotStartException.class, server::start);
      assertEquals("cannot listen for the kvstore protocol on 127.0.0.1:" + port
          + ": address already in use: another process listens there; stop it or choose another"
          + " port (port, --port)", e.getMessage());
      server.shutdownGracefully(Duration.ofSeconds(5)); // idempotent after a failed start
      // The holder of the port is untouched.
      try (Socket s = new Socket("127.0.0.1", port)) {
        assertEquals(port, s.getPort());
      }
    }
  }
}
