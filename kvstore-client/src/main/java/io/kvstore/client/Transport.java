package io.kvstore.client;

import io.netty.channel.IoHandlerFactory;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

/**
 * The socket implementation: Linux native epoll when its library loads (fewer copies and syscalls
 * than NIO, and no JVM flags needed), NIO otherwise.
 *
 * @param name "epoll" or "nio", for logs and tests
 * @param ioHandlerFactory the event loops' I/O handler
 * @param channelClass the client socket class
 */
record Transport(
    String name, IoHandlerFactory ioHandlerFactory, Class<? extends SocketChannel> channelClass) {

  /** Native epoll if {@code preferNative} and available, NIO otherwise. */
  static Transport select(boolean preferNative) {
    if (preferNative && epollAvailable()) {
      return new Transport("epoll", EpollIoHandler.newFactory(), EpollSocketChannel.class);
    }
    return new Transport("nio", NioIoHandler.newFactory(), NioSocketChannel.class);
  }

  static boolean epollAvailable() {
    try {
      return Epoll.isAvailable();
    } catch (LinkageError e) {
      return false; // the native jar is not on the class path: NIO it is
    }
  }
}
