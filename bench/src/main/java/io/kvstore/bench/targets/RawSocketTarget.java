package io.kvstore.bench.targets;

import io.kvstore.common.PageFormat;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The physical baseline: the same page bytes copied over a loopback TCP socket by plain blocking
 * NIO, with no store behind it. A fetch sends the keys and receives that many pages; a put sends
 * the pages and receives a count. The server keeps one payload template per page length and stamps
 * each answer's header with the asked-for key (a 64-byte checksum), so the client verifies the
 * answers exactly as it does a store's; no page is kept, so this is what moving the bytes costs.
 *
 * <pre>
 *   request header (24 bytes, little-endian):
 *   +--------+--------+------------+-------------+----------------+
 *   | op i32 | n i32  | length i32 | tokens i32  | namespace i64  |
 *   +--------+--------+------------+-------------+----------------+
 *   op 1 (fetch): then n keys of 16 bytes; answer n pages of length bytes
 *   op 2 (put):   then n pages of length bytes; answer i32 n
 * </pre>
 *
 * <p>The server runs in this process: one acceptor thread and one thread per connection, all
 * stopped on {@link #close()}.
 */
public final class RawSocketTarget implements Target {

  static final int OP_FETCH = 1;
  static final int OP_PUT = 2;
  static final int HEADER = 24;

  private final ServerSocketChannel server;
  private final long namespaceId;
  private final Thread acceptor;
  private final List<SocketChannel> connections = new CopyOnWriteArrayList<>();
  private final List<Thread> handlers = new CopyOnWriteArrayList<>();
  private volatile boolean closed;

  private RawSocketTarget(ServerSocketChannel server, long namespaceId) {
    this.server = server;
    this.namespaceId = namespaceId;
    this.acceptor = new Thread(this::accept, "raw-socket-acceptor");
    this.acceptor.setDaemon(true);
  }

  /**
   * Starts the server on a free loopback port.
   *
   * @param namespaceId the namespace written in the pages sent back
   */
  public static RawSocketTarget start(long namespaceId) throws IOException {
    ServerSocketChannel ch = ServerSocketChannel.open();
    ch.bind(new InetSocketAddress("127.0.0.1", 0));
    RawSocketTarget t = new RawSocketTarget(ch, namespaceId);
    t.acceptor.start();
    return t;
  }

  @Override
  public String name() {
    return "raw-socket";
  }

  @Override
  public Session openSession() throws IOException {
    SocketChannel ch = SocketChannel.open(server.getLocalAddress());
    ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
    return new RawSession(ch, namespaceId);
  }

  @Override
  public TierCounters counters() {
    return TierCounters.NONE;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    closeQuietly(server);
    for (SocketChannel c : connections) {
      closeQuietly(c);
    }
    join(acceptor);
    for (Thread t : handlers) {
      join(t);
    }
  }

  private void accept() {
    while (!closed) {
      try {
        SocketChannel c = server.accept();
        c.setOption(StandardSocketOptions.TCP_NODELAY, true);
        connections.add(c);
        Thread t = new Thread(() -> serve(c), "raw-socket-conn-" + handlers.size());
        t.setDaemon(true);
        handlers.add(t);
        t.start();
      } catch (IOException e) {
        // Closed by close(), or the listening socket failed: either way, no more connections.
        return;
      }
    }
  }

  /** Serves one connection until the client closes it or the target closes. */
  private void serve(SocketChannel c) {
    ByteBuffer header = ByteBuffer.allocateDirect(HEADER).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer reply = ByteBuffer.allocateDirect(4).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer keys = ByteBuffer.allocateDirect(16 * 64).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer pageHeader = ByteBuffer.allocateDirect(PageFormat.HEADER_LENGTH);
    ByteBuffer[] gather = new ByteBuffer[2];
    ByteBuffer template = null;
    ByteBuffer sink = ByteBuffer.allocateDirect(1 << 20);
    try {
      while (true) {
        header.clear();
        readFully(c, header);
        int op = header.getInt(0);
        int n = header.getInt(4);
        int length = header.getInt(8);
        if (n < 0 || length < PageFormat.HEADER_LENGTH) {
          throw new IOException("bad raw request: n=" + n + " length=" + length);
        }
        if (op == OP_FETCH) {
          if (keys.capacity() < 16 * n) {
            keys = ByteBuffer.allocateDirect(16 * n).order(ByteOrder.LITTLE_ENDIAN);
          }
          keys.clear().limit(16 * n);
          readFully(c, keys);
          if (template == null || template.capacity() != length) {
            template = ByteBuffer.allocateDirect(length);
            BenchPages.build(template, BenchPages.payloadTemplate(length - PageFormat.HEADER_LENGTH, 7),
                0, 0, 0, 0, header.getLong(16), header.getInt(12), length - PageFormat.HEADER_LENGTH);
          }
          for (int i = 0; i < n; i++) {
            // The template's header with this key and a fresh header checksum; payload as is.
            pageHeader.clear();
            pageHeader.put(0, template, 0, PageFormat.HEADER_LENGTH);
            PageFormat.putLongLE(pageHeader, PageFormat.KEY_HI_OFFSET, keys.getLong(16 * i));
            PageFormat.putLongLE(pageHeader, PageFormat.KEY_LO_OFFSET, keys.getLong(16 * i + 8));
            PageFormat.putLongLE(pageHeader, PageFormat.NAMESPACE_ID_OFFSET, header.getLong(16));
            PageFormat.putIntLE(pageHeader, PageFormat.HEADER_CRC_OFFSET,
                PageFormat.crc32c(pageHeader, 0, PageFormat.HEADER_CRC_OFFSET));
            gather[0] = pageHeader;
            gather[1] = template.duplicate().position(PageFormat.HEADER_LENGTH);
            while (gather[1].hasRemaining()) {
              c.write(gather);
            }
          }
        } else if (op == OP_PUT) {
          long remaining = (long) n * length;
          while (remaining > 0) {
            sink.clear().limit((int) Math.min(sink.capacity(), remaining));
            readFully(c, sink);
            remaining -= sink.limit();
          }
          reply.clear();
          reply.putInt(0, n);
          while (reply.hasRemaining()) {
            c.write(reply);
          }
        } else {
          throw new IOException("bad raw request op " + op);
        }
      }
    } catch (EOFException | ClosedChannelException e) {
      // The client closed its session, or the target is closing.
    } catch (IOException e) {
      if (!closed) {
        System.err.println("kvbench: raw socket server: " + e.getMessage());
      }
    } finally {
      closeQuietly(c);
      connections.remove(c);
    }
  }

  static void readFully(SocketChannel c, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      if (c.read(b) < 0) {
        throw new EOFException("connection closed");
      }
    }
  }

  private static void closeQuietly(java.io.Closeable c) {
    try {
      c.close();
    } catch (IOException e) {
      // Closing on shutdown: nothing left to do with the error.
    }
  }

  private static void join(Thread t) {
    try {
      t.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static final class RawSession implements Session {
    private final SocketChannel ch;
    private final ByteBuffer header = ByteBuffer.allocateDirect(HEADER).order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBuffer reply = ByteBuffer.allocateDirect(4).order(ByteOrder.LITTLE_ENDIAN);
    private ByteBuffer keys = ByteBuffer.allocateDirect(16 * 64).order(ByteOrder.LITTLE_ENDIAN);
    private final List<ByteBuffer> scratch = new ArrayList<>();
    private final long namespaceId;

    RawSession(SocketChannel ch, long namespaceId) {
      this.ch = ch;
      this.namespaceId = namespaceId;
    }

    @Override
    public int fetchPrefix(long[] keyPairs, int count, ByteBuffer[] dsts) throws IOException {
      int length = dsts[0].capacity();
      if (keys.capacity() < 16 * count) {
        keys = ByteBuffer.allocateDirect(16 * count).order(ByteOrder.LITTLE_ENDIAN);
      }
      keys.clear();
      for (int i = 0; i < 2 * count; i++) {
        keys.putLong(keyPairs[i]);
      }
      keys.flip();
      // There is no store to say how long a page is: pages come back as long as the destination
      // buffers' capacity, which the caller sizes to the page.
      writeHeader(OP_FETCH, count, length, 0, namespaceId);
      while (keys.hasRemaining()) {
        ch.write(keys);
      }
      for (int i = 0; i < count; i++) {
        ByteBuffer d = dsts[i];
        d.clear().limit(length);
        readFully(ch, d);
        d.flip();
      }
      return count;
    }

    @Override
    public int put(ByteBuffer[] pages, int count) throws IOException {
      int length = pages[0].remaining();
      writeHeader(OP_PUT, count, length, 0, 0);
      scratch.clear();
      for (int i = 0; i < count; i++) {
        if (pages[i].remaining() != length) {
          throw new IllegalArgumentException("raw puts need pages of one length");
        }
        scratch.add(pages[i].duplicate());
      }
      ByteBuffer[] all = scratch.toArray(new ByteBuffer[0]);
      long left = (long) count * length;
      while (left > 0) {
        left -= ch.write(all);
      }
      reply.clear();
      readFully(ch, reply);
      return reply.getInt(0);
    }

    private void writeHeader(int op, int n, int length, int tokens, long ns) throws IOException {
      header.clear();
      header.putInt(op).putInt(n).putInt(length).putInt(tokens).putLong(ns);
      header.flip();
      while (header.hasRemaining()) {
        ch.write(header);
      }
    }

    @Override
    public void close() {
      closeQuietly(ch);
    }
  }
}
