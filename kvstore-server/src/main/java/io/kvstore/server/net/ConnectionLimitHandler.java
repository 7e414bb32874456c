package io.kvstore.server.net;

import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * First stage of every connection: a connection over the max connections, or one arriving while the
 * daemon shuts down, is accepted and closed at once ({@code spec/3-wire-protocol.md} §3.6), so file
 * descriptors and per-connection buffers stay bounded. Counts the connections it lets through in
 * the metrics and in the server's set of open connections. One instance serves every connection.
 */
@Sharable
final class ConnectionLimitHandler extends ChannelInboundHandlerAdapter {

  private static final Logger LOG = LoggerFactory.getLogger(ConnectionLimitHandler.class);
  /** Set on a connection that was counted, so that only those are uncounted when they close. */
  private static final AttributeKey<Boolean> COUNTED = AttributeKey.valueOf("kvstore.counted");

  private final ServerContext context;
  private final AtomicInteger open = new AtomicInteger();

  ConnectionLimitHandler(ServerContext context) {
    this.context = context;
  }

  /** Connections open now that were let through. */
  int open() {
    return open.get();
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    int max = context.config.maxConnections();
    if (context.shuttingDown()) {
      ctx.close();
      return;
    }
    if (open.incrementAndGet() > max) {
      open.decrementAndGet();
      LOG.warn("refusing connection from {}: the limit of {} connections is reached",
          ctx.channel().remoteAddress(), max);
      ctx.close();
      return;
    }
    ctx.channel().attr(COUNTED).set(Boolean.TRUE);
    context.channels.add(ctx.channel());
    context.metrics.connectionOpened();
    super.channelActive(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    if (ctx.channel().attr(COUNTED).getAndSet(null) != null) {
      open.decrementAndGet();
      context.channels.remove(ctx.channel());
      context.metrics.connectionClosed();
    }
    super.channelInactive(ctx);
  }
}
