package io.kvstore.server.net;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.ErrorFlyweight;
import io.kvstore.core.tier.TierWriteException;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.RejectedExecutionException;

/**
 * Sends ERROR frames ({@code spec/3-wire-protocol.md} §3.4.5) and counts them by code, so that every
 * error a client sees is also in {@code kvstore_errors_total} and {@link NetCounters}; maps what a
 * store call throws to the code the client gets.
 */
final class Errors {

  private Errors() {}

  /** Counts one error answer (an ERROR frame or a failed PUT page status). */
  static void count(ServerContext context, int code) {
    context.metrics.recordError(ErrorCode.name(code));
    context.counters.requestFailed(code);
  }

  /**
   * Sends an ERROR that ends one request; the connection stays open.
   *
   * @param ctx where to write (the frame passes every outbound stage before {@code ctx})
   * @param context where to count it
   * @param requestId the request it ends, or 0 when it is about the connection
   * @param code an {@link ErrorCode}
   * @param message for humans; cut to 1024 UTF-8 bytes
   */
  static void send(
      ChannelHandlerContext ctx, ServerContext context, long requestId, int code, String message) {
    count(context, code);
    ctx.writeAndFlush(ErrorFlyweight.encode(ctx.alloc(), requestId, code, message));
  }

  /**
   * Sends an ERROR, then closes the connection once it is written (or could not be): the framing or
   * the session can no longer be trusted (spec §3.5). Reading stops at once so that nothing more is
   * parsed from the connection.
   */
  static void sendAndClose(
      ChannelHandlerContext ctx, ServerContext context, long requestId, int code, String message) {
    count(context, code);
    ctx.channel().config().setAutoRead(false);
    ctx.writeAndFlush(ErrorFlyweight.encode(ctx.alloc(), requestId, code, message))
        .addListener(ChannelFutureListener.CLOSE);
  }

  /**
   * The code for a failure thrown while serving a request: a tier out of space → NO_SPACE; any
   * other storage failure (I/O error, closed tier, RocksDB) → STORAGE_ERROR; a full queue →
   * OVERLOADED; anything else → INTERNAL. Never TIMEOUT: the client must not wait or retry a
   * request the daemon has already given up on.
   */
  static int codeOf(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof TierWriteException w) {
        return w.reason() == TierWriteException.Reason.NO_SPACE
            ? ErrorCode.NO_SPACE : ErrorCode.STORAGE_ERROR;
      }
      if (c instanceof RejectedExecutionException) {
        return ErrorCode.OVERLOADED;
      }
      if (c instanceof UncheckedIOException || c instanceof IOException
          || c.getClass().getName().startsWith("org.rocksdb.")) {
        return ErrorCode.STORAGE_ERROR;
      }
      if (c.getCause() == c) {
        break;
      }
    }
    return ErrorCode.INTERNAL;
  }
}
