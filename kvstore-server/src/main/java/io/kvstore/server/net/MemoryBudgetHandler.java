package io.kvstore.server.net;

import io.kvstore.client.protocol.FrameDecoder;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import java.util.concurrent.RejectedExecutionException;

/**
 * One connection's share of the daemon-wide {@link RequestBudget}, in front of the frame decoder.
 * After every read it reports what the connection holds: the memory of a frame still arriving in
 * the decoder (its buffer's capacity, not only the bytes received: that is what it costs) plus the
 * whole requests not yet answered ({@link FlowControlHandler#requestBytes()});
 * the same again whenever a request is answered, and when the connection closes.
 *
 * <p>When the budget is spent and this connection holds more than {@link
 * RequestBudget#RESERVE_BYTES}, it stops reading ({@link FlowControlHandler#budgetPaused}) until the
 * budget has room again; the wait is counted. It also swallows read requests while reading is
 * paused: the frame decoder asks for another read whenever a read ended inside a frame, which
 * would otherwise keep a paused connection reading until its frame is whole.
 *
 * <p>Runs on the connection's event loop; the budget wakes it from any thread through that loop.
 */
final class MemoryBudgetHandler extends ChannelDuplexHandler {

  private final RequestBudget budget;
  private final NetCounters counters;
  private final FrameDecoder decoder;
  private final FlowControlHandler flow;
  private ChannelHandlerContext ctx;
  private long held;
  private boolean waiting;

  MemoryBudgetHandler(
      RequestBudget budget, NetCounters counters, FrameDecoder decoder, FlowControlHandler flow) {
    this.budget = budget;
    this.counters = counters;
    this.decoder = decoder;
    this.flow = flow;
    flow.budget(this);
  }

  /** Bytes this connection holds against the budget now. */
  long held() {
    return held;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ctx.fireChannelRead(msg); // the decoder accumulates or hands on frames before this returns
    recount();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    ctx.fireChannelInactive(); // the decoder drops its partial frame
    recount(); // requests still running keep their bytes until they are answered
  }

  @Override
  public void read(ChannelHandlerContext ctx) {
    if (!flow.paused() || !ctx.channel().isActive()) {
      ctx.read();
    }
  }

  /** Reports what the connection holds now; pauses reading if the budget is spent. */
  void recount() {
    if (ctx == null) {
      return;
    }
    long now = (ctx.channel().isActive() ? decoder.bufferCapacity() : 0) + flow.requestBytes();
    budget.add(now - held);
    held = now;
    if (!waiting && held > RequestBudget.RESERVE_BYTES && budget.exhausted()
        && ctx.channel().isActive()) {
      waiting = true;
      counters.budgetWait();
      flow.budgetPaused(true);
      budget.await(() -> {
        try {
          ctx.executor().execute(this::budgetFreed);
        } catch (RejectedExecutionException e) {
          // the event loop has stopped: the connection is gone, nothing to resume
        }
      });
    }
  }

  private void budgetFreed() {
    waiting = false;
    flow.budgetPaused(false);
    recount(); // spent again already: wait again
  }
}
