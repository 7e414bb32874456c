package io.kvstore.common;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A loopback TCP relay in front of a server, for network faults in tests: {@link #cut()} resets
 * every connection at once (as a killed peer's kernel does), {@link #stall()} stops carrying bytes
 * while the connections stay open (a stalled path: bytes read are held, not sent). Every
 * connection through it gets two pump threads; all of them are daemon threads, ended by {@link
 * #close()}.
 */
public final class TcpRelay implements AutoCloseable {

  private final ServerSocket listen;
  private final int targetPort;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private volatile boolean stalled;

  /** Listens on a free loopback port and relays each connection to {@code targetPort}. */
  public TcpRelay(int targetPort) throws IOException {
    this.targetPort = targetPort;
    this.listen = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::acceptLoop, "relay-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** The port clients connect to. */
  public int port() {
    return listen.getLocalPort();
  }

  /** Stops carrying bytes, both ways, on every connection (new ones included). */
  public void stall() {
    stalled = true;
  }

  /** Stops accepting and resets every connection through it. */
  public void cut() throws IOException {
    listen.close();
    for (Socket s : sockets) {
      reset(s);
    }
  }

  private void acceptLoop() {
    try {
      while (true) {
        Socket down = listen.accept();
        Socket up = new Socket(InetAddress.getLoopbackAddress(), targetPort);
        sockets.add(down);
        sockets.add(up);
        pump(down, up);
        pump(up, down);
      }
    } catch (IOException e) {
      // closed
    }
  }

  private void pump(Socket from, Socket to) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[64 << 10];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        for (int n; (n = in.read(buf)) >= 0; ) {
          while (stalled) {
            Thread.sleep(20);
          }
          out.write(buf, 0, n);
        }
      } catch (IOException | InterruptedException e) {
        // cut, or closed
      } finally {
        reset(from);
        reset(to);
      }
    }, "relay-pump");
    t.setDaemon(true);
    t.start();
  }

  private static void reset(Socket s) {
    try {
      s.setSoLinger(true, 0); // a reset, as from a killed process
      s.close();
    } catch (IOException e) {
      // already gone
    }
  }

  @Override
  public void close() throws IOException {
    stalled = false;
    cut();
  }
}
