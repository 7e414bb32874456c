package io.kvstore.server.net;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.ErrorFlyweight;
import io.kvstore.server.metrics.ServerMetrics;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;

/**
 * Sends ERROR frames ({@code spec/3-wire-protocol.md} §3.4.5) and counts them by code, so that every
 * error a client sees is also in {@code kvstore_errors_total}.
 */
final class Errors {

  private Errors() {}

  /**
   * Sends an ERROR that ends one request; the connection stays open.
   *
   * @param ctx where to write (the frame passes every outbound stage before {@code ctx})
   * @param metrics where to count it
   * @param requestId the request it ends, or 0 when it is about the connection
   * @param code an {@link ErrorCode}
   * @param message for humans; cut to 1024 UTF-8 bytes
   */
  static void send(
      ChannelHandlerContext ctx, ServerMetrics metrics, long requestId, int code, String message) {
    metrics.recordError(ErrorCode.name(code));
    ctx.writeAndFlush(ErrorFlyweight.encode(ctx.alloc(), requestId, code, message));
  }

  /**
   * Sends an ERROR, then closes the connection once it is written (or could not be): the framing or
   * the session can no longer be trusted (spec §3.5). Reading stops at once so that nothing more is
   * parsed from the connection.
   */
  static void sendAndClose(
      ChannelHandlerContext ctx, ServerMetrics metrics, long requestId, int code, String message) {
    metrics.recordError(ErrorCode.name(code));
    ctx.channel().config().setAutoRead(false);
    ctx.writeAndFlush(ErrorFlyweight.encode(ctx.alloc(), requestId, code, message))
        .addListener(ChannelFutureListener.CLOSE);
  }
}
