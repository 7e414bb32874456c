package io.kvstore.server;

import io.kvstore.common.BlockKey;
import io.kvstore.core.store.TieredStore;
import io.kvstore.server.config.ServerConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A stand-in for the network layer: binds a real socket (so ports and bind failures are real),
 * records its life cycle, and during the grace period stores a page, as an in-flight PUT would, to
 * show the store is still open then.
 */
final class RecordingNetworkServer implements NetworkServer {

  /** The key the grace-period put uses. */
  static final BlockKey GRACE_KEY = new BlockKey(0x600d, 0xbeef);

  final List<String> events = new CopyOnWriteArrayList<>();
  private final ServerConfig config;
  private final TieredStore store;
  private final boolean failStart;
  private ServerSocket socket;

  RecordingNetworkServer(ServerConfig config, TieredStore store, boolean failStart) {
    this.config = config;
    this.store = store;
    this.failStart = failStart;
  }

  /** A factory that makes one of these and keeps it for the test to inspect. */
  static final class Factory implements NetworkServerFactory {
    final boolean failStart;
    volatile RecordingNetworkServer last;

    Factory(boolean failStart) {
      this.failStart = failStart;
    }

    @Override
    public NetworkServer create(ServerConfig config, TieredStore store,
        io.kvstore.server.metrics.ServerMetrics metrics) {
      last = new RecordingNetworkServer(config, store, failStart);
      return last;
    }
  }

  @Override
  public void start() throws IOException {
    events.add("start");
    if (failStart) {
      throw new IOException("simulated bind failure on port " + config.port());
    }
    socket = new ServerSocket(config.port(), 50, InetAddress.getByName(config.host()));
  }

  @Override
  public int port() {
    return socket.getLocalPort();
  }

  @Override
  public void shutdownGracefully(Duration grace) {
    events.add("shutdownGracefully " + grace);
    ByteBuffer payload = ByteBuffer.wrap(new byte[] {1, 2, 3, 4});
    String stored = "in-flight put stored: " + store.put(GRACE_KEY, BlockKey.ROOT_PARENT, 7, 16, payload);
    events.add(stored);
    // Printed too: a forked daemon's test reads only its output, and a refused put explains a
    // page missing after the restart.
    System.out.println(stored + "; " + store.stats());
    close();
  }

  @Override
  public void close() {
    events.add("close");
    try {
      if (socket != null) {
        socket.close();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
