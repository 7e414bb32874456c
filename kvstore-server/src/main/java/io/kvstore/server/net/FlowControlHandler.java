package io.kvstore.server.net;

import io.kvstore.server.metrics.ServerMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;

/**
 * Back-pressure for one connection ({@code spec/3-wire-protocol.md} §3.6): counts the bytes of
 * requests read and not yet answered plus the bytes of responses queued and not yet written, and
 * stops reading from the socket ({@code autoRead} off) when that sum is above the in-flight limit,
 * when the socket's outbound buffer is above its high-water mark, or when the daemon-wide request
 * memory budget asks this connection to wait ({@link #budgetPaused}). Reading resumes when the sum
 * is at or below half the limit, the socket is writable again and the budget lets it. Nothing is
 * queued here: while reading is off, TCP flow control pushes back on the client, so the only memory
 * a greedy client can pin is its own bounded share.
 *
 * <p>Sits right after the frame decoder, so it sees whole frames inbound and every response
 * outbound. Request bytes are released by {@link RequestHandler} through {@link #requestDone(long)}
 * when the request's final response has been queued; each change of the request bytes is reported
 * to the connection's {@link MemoryBudgetHandler}. Every method runs on the connection's event
 * loop, so the counts need no synchronization.
 */
final class FlowControlHandler extends ChannelDuplexHandler {

  private final long maxInFlightBytes;
  private final ServerMetrics metrics;
  private ChannelHandlerContext ctx;
  private MemoryBudgetHandler budget;
  private long inFlightBytes;
  private long requestBytes;
  private boolean paused;
  private boolean budgetPaused;
  private boolean stopped;

  FlowControlHandler(long maxInFlightBytes, ServerMetrics metrics) {
    this.maxInFlightBytes = maxInFlightBytes;
    this.metrics = metrics;
  }

  /** Tells the connection's budget stage whenever the request bytes held change. */
  void budget(MemoryBudgetHandler budget) {
    this.budget = budget;
  }

  /** Bytes in flight now (requests unanswered plus responses unwritten). */
  long inFlightBytes() {
    return inFlightBytes;
  }

  /** Bytes of requests read as whole frames and not yet answered. */
  long requestBytes() {
    return requestBytes;
  }

  /** Whether reading is paused (back-pressure, budget, or stopped for shutdown). */
  boolean paused() {
    return paused || stopped;
  }

  /**
   * Whether reading is paused by this connection's own traffic (its requests in flight, its
   * responses not yet read by the client) or by shutdown, not by the daemon-wide budget.
   */
  boolean pausedByConnection() {
    return stopped || (paused && !budgetPaused);
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof ByteBuf) {
      int bytes = ((ByteBuf) msg).readableBytes();
      metrics.addBytesIn(bytes);
      inFlightBytes += bytes;
      requestBytes += bytes;
      update();
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (!(msg instanceof ByteBuf)) {
      ctx.write(msg, promise);
      return;
    }
    int bytes = ((ByteBuf) msg).readableBytes();
    inFlightBytes += bytes;
    update();
    ChannelPromise p = promise.unvoid();
    p.addListener(f -> {
      if (f.isSuccess()) {
        metrics.addBytesOut(bytes);
      }
      inFlightBytes -= bytes;
      update();
    });
    ctx.write(msg, p);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    update();
    ctx.fireChannelWritabilityChanged();
  }

  /**
   * Releases the bytes of a request whose final response has been queued (its response bytes are
   * then counted until written).
   *
   * @param bytes the request's frame length
   */
  void requestDone(long bytes) {
    inFlightBytes -= bytes;
    requestBytes -= bytes;
    update();
    if (budget != null) {
      budget.recount();
    }
  }

  /** Pauses or resumes reading for the daemon-wide request memory budget. */
  void budgetPaused(boolean pause) {
    budgetPaused = pause;
    update();
  }

  /** Stops reading for good: the daemon is shutting down. Requests already read still finish. */
  void stopReading() {
    stopped = true;
    ctx.channel().config().setAutoRead(false);
  }

  private void update() {
    if (ctx == null) {
      return;
    }
    boolean writable = ctx.channel().isWritable();
    boolean pause = budgetPaused || !writable
        || inFlightBytes > (paused ? maxInFlightBytes / 2 : maxInFlightBytes);
    if (pause != paused) {
      paused = pause;
      if (!stopped) {
        ctx.channel().config().setAutoRead(!pause);
      }
    }
  }
}
