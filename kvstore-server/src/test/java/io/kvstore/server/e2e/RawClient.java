package io.kvstore.server.e2e;

import io.kvstore.client.protocol.ErrorFlyweight;
import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.client.protocol.HelloFlyweight;
import io.kvstore.client.protocol.KeyBatchFlyweight;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.client.protocol.PingFlyweight;
import io.kvstore.client.protocol.PutFlyweight;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * A protocol client made of a plain {@link Socket}, for sending hand-made (and broken) bytes and
 * reading the daemon's answers frame by frame.
 */
final class RawClient implements AutoCloseable {

  /** One frame read from the daemon. */
  record Frame(int opcode, long requestId, byte[] body) {
    /** The error code of an ERROR frame. */
    int errorCode() {
      return ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN).getShort(0) & 0xFFFF;
    }

    /** The message of an ERROR frame. */
    String errorMessage() {
      int length = ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN).getShort(2) & 0xFFFF;
      return new String(body, 4, length, StandardCharsets.UTF_8);
    }

    /** A little-endian u16 of the body at {@code offset} (frame offset minus 16). */
    int bodyShort(int offset) {
      return ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN).getShort(offset) & 0xFFFF;
    }

    /** A little-endian u32 of the body at {@code offset} (frame offset minus 16). */
    int bodyInt(int offset) {
      return ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN).getInt(offset);
    }

    @Override
    public String toString() {
      return Opcode.name(opcode) + " id=" + requestId
          + (opcode == Opcode.ERROR ? " " + errorCode() + " " + errorMessage() : "");
    }
  }

  private final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;

  RawClient(int port) throws IOException {
    this(port, 0);
  }

  /**
   * A client whose socket receive buffer is {@code receiveBuffer} bytes (0: the default), set
   * before connecting: a small one makes the daemon's writes stall as soon as the client stops
   * reading.
   */
  RawClient(int port, int receiveBuffer) throws IOException {
    socket = new Socket();
    if (receiveBuffer > 0) {
      socket.setReceiveBufferSize(receiveBuffer);
    }
    socket.connect(new java.net.InetSocketAddress("127.0.0.1", port));
    socket.setSoTimeout(10_000);
    socket.setTcpNoDelay(true);
    in = new DataInputStream(socket.getInputStream());
    out = socket.getOutputStream();
  }

  /** Sends a HELLO and returns the answer. */
  Frame hello(long requestId, int minVersion, int maxVersion, long namespaceId, String token)
      throws IOException {
    send(HelloFlyweight.encode(UnpooledByteBufAllocator.DEFAULT, requestId, minVersion, maxVersion,
        64 << 20, namespaceId, token.getBytes(StandardCharsets.UTF_8)));
    return read();
  }

  /** Sends the readable bytes of a buffer and releases it. */
  void send(ByteBuf frame) throws IOException {
    try {
      send(ByteBufUtil.getBytes(frame));
    } finally {
      frame.release();
    }
  }

  /** Sends raw bytes. */
  void send(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
  }

  /** Closes the sending side only (the daemon sees the end of the stream, can still answer). */
  void shutdownOutput() throws IOException {
    socket.shutdownOutput();
  }

  /** Sends a key batch request (LOOKUP, GET, PREFETCH, DELETE) for {@code keys} (hi, lo pairs). */
  void keyBatch(int opcode, int flags, long requestId, int argument, long... keys) throws IOException {
    send(KeyBatchFlyweight.encode(UnpooledByteBufAllocator.DEFAULT, opcode, flags, requestId, keys, 0,
        keys.length / 2, argument));
  }

  /** Sends a PUT of {@code pages}. */
  void put(long requestId, ByteBuffer... pages) throws IOException {
    send(PutFlyweight.encode(UnpooledByteBufAllocator.DEFAULT, requestId, pages, 0, pages.length));
  }

  /** Sends a PING and checks that the PONG comes back (the connection still serves). */
  void pingPong(long requestId) throws IOException {
    send(PingFlyweight.encode(UnpooledByteBufAllocator.DEFAULT, Opcode.PING, requestId, requestId));
    Frame f = read();
    if (f.opcode() != Opcode.PONG || f.requestId() != requestId) {
      throw new IOException("expected PONG " + requestId + ", got " + f);
    }
  }

  /** Sets how long a read may wait. */
  void timeoutMillis(int millis) throws IOException {
    socket.setSoTimeout(millis);
  }

  /** Reads one frame. */
  Frame read() throws IOException {
    byte[] header = new byte[FrameDescriptor.HEADER_LENGTH];
    in.readFully(header);
    ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
    int length = h.getInt(0);
    byte[] body = new byte[length - FrameDescriptor.HEADER_LENGTH];
    in.readFully(body);
    return new Frame(header[4] & 0xFF, h.getLong(8), body);
  }

  /** Reads until the daemon closes the connection; true if it did within the socket timeout. */
  boolean closedByDaemon() throws IOException {
    try {
      while (true) {
        if (in.read() < 0) {
          return true;
        }
      }
    } catch (EOFException e) {
      return true;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true; // reset by the daemon
    }
  }

  /** A frame header (and nothing else) with any values, for broken frames. */
  static byte[] header(long length, int opcode, int flags, long requestId) {
    ByteBuffer b = ByteBuffer.allocate(FrameDescriptor.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt((int) length).put((byte) opcode).put((byte) flags).putShort((short) 0).putLong(requestId);
    return b.array();
  }

  /** Bytes of an ERROR frame, as the codec writes it (for exact comparisons). */
  static byte[] errorBytes(long requestId, int code, String message) {
    ByteBuf b = ErrorFlyweight.encode(UnpooledByteBufAllocator.DEFAULT, requestId, code, message);
    try {
      return ByteBufUtil.getBytes(b);
    } finally {
      b.release();
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
