package io.kvstore.server.net;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.FrameDecoder;
import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.server.net.NetCounters.Timeout;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The read, write and idle timeouts of one connection ({@code spec/3-wire-protocol.md} §3.6), in
 * the manner of Netty's {@code ReadTimeoutHandler}, {@code WriteTimeoutHandler} and {@code
 * IdleStateHandler} but with one timer per connection (a tick a fraction of the shortest timeout
 * apart) instead of one per write:
 *
 * <ul>
 *   <li><b>read</b>: a frame whose first bytes have arrived must be whole within {@code
 *       net.read.timeout.seconds} (time during which the daemon stopped reading because of the
 *       connection's own requests or unread responses does not count, nor time during which the
 *       daemon itself did not run: a tick late by more than its period credits the delay to every
 *       clock here); else TIMEOUT (request id 0) and close. A client cannot park a half-sent
 *       frame, and the memory it holds, forever.
 *   <li><b>write</b>: responses queued for the socket must make progress within {@code
 *       net.write.timeout.seconds}; a client that stopped reading is closed without a word
 *       (nothing more can reach it), which fails its queued writes and so releases the pages its
 *       GETs pinned.
 *   <li><b>idle</b>: after HELLO, a connection with nothing read, nothing written and no request in
 *       flight for {@code net.idle.timeout.seconds} gets TIMEOUT (request id 0) and is closed. The
 *       SDK sends PING when idle, so its connections stay.
 * </ul>
 *
 * The handshake timeout is {@link HandshakeHandler}'s. Every cut is counted in {@link NetCounters}
 * and logged at WARN at most once per 10 s per kind. Runs on the connection's event loop.
 */
final class TimeoutHandler extends ChannelDuplexHandler {

  private static final Logger LOG = LoggerFactory.getLogger(TimeoutHandler.class);
  private static final RateLimitedLog READ_LOG = new RateLimitedLog(LOG);
  private static final RateLimitedLog WRITE_LOG = new RateLimitedLog(LOG);

  private final ServerContext context;
  private final FrameDecoder decoder;
  private final FlowControlHandler flow;
  private final RequestHandler requests;
  private final long readNanos;
  private final long writeNanos;
  private final long idleNanos;
  private ScheduledFuture<?> tick;
  private long period;
  /** When the last tick ran: a tick far later than its period means this loop did not run. */
  private long lastTick;
  private long lastActivity;
  private long frameStart;
  private long framesSeen;
  private long lastWriteProgress;
  private long lastPending;
  private Object lastCurrent;
  private long lastProgress;
  private boolean authenticated;
  private boolean cut;

  TimeoutHandler(
      ServerContext context, FrameDecoder decoder, FlowControlHandler flow, RequestHandler requests) {
    this.context = context;
    this.decoder = decoder;
    this.flow = flow;
    this.requests = requests;
    this.readNanos = TimeUnit.SECONDS.toNanos(context.config.readTimeoutSeconds());
    this.writeNanos = TimeUnit.SECONDS.toNanos(context.config.writeTimeoutSeconds());
    this.idleNanos = TimeUnit.SECONDS.toNanos(context.config.idleTimeoutSeconds());
  }

  /** The tick period: a quarter of the shortest timeout, between 50 ms and 1 s. */
  long tickNanos() {
    long shortest = Math.min(readNanos, Math.min(writeNanos, idleNanos));
    return Math.max(TimeUnit.MILLISECONDS.toNanos(50), Math.min(shortest / 4, TimeUnit.SECONDS.toNanos(1)));
  }

  /** The handshake succeeded: the idle timeout applies from now on. */
  void authenticated() {
    authenticated = true;
    lastActivity = System.nanoTime();
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    long now = System.nanoTime();
    lastActivity = now;
    lastWriteProgress = now;
    lastTick = now;
    period = tickNanos();
    tick = ctx.executor().scheduleAtFixedRate(() -> tick(ctx), period, period, TimeUnit.NANOSECONDS);
    super.channelActive(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    if (tick != null) {
      tick.cancel(false);
      tick = null;
    }
    super.channelInactive(ctx);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    long now = System.nanoTime();
    lastActivity = now;
    ctx.fireChannelRead(msg);
    if (decoder.bufferedBytes() == 0) {
      frameStart = 0;
    } else if (frameStart == 0 || decoder.framesDecoded() != framesSeen) {
      frameStart = now; // a new frame has begun
    }
    framesSeen = decoder.framesDecoded();
  }

  private void tick(ChannelHandlerContext ctx) {
    if (cut || !ctx.channel().isActive()) {
      return;
    }
    long now = System.nanoTime();
    long stalled = now - lastTick - period;
    lastTick = now;
    if (stalled > period) {
      // The daemon (or this event loop) did not run for that long: a SIGSTOP, a frozen VM, a
      // long pause. The clocks below measure the client; none of that time was the client's (a
      // frame it sent meanwhile waits unread in the kernel), so it does not count.
      frameStart = frameStart == 0 ? 0 : frameStart + stalled;
      lastWriteProgress += stalled;
      lastActivity += stalled;
    }
    // write: queued responses that make no progress
    ChannelOutboundBuffer out = ctx.channel().unsafe().outboundBuffer();
    long pending = out == null ? 0 : out.totalPendingWriteBytes();
    if (pending == 0) {
      lastWriteProgress = now;
    } else {
      Object current = out.current();
      long progress = out.currentProgress();
      if (pending != lastPending || current != lastCurrent || progress != lastProgress) {
        lastWriteProgress = now;
        lastActivity = now;
      } else if (now - lastWriteProgress > writeNanos) {
        cut = true;
        context.counters.timedOut(Timeout.WRITE);
        WRITE_LOG.warn("closing connection from {}: its responses were not read for "
            + context.config.writeTimeoutSeconds() + " s ({} bytes queued)",
            ctx.channel().remoteAddress(), pending);
        ctx.close(); // fails the queued writes: their pinned pages are released
        return;
      }
      lastCurrent = current;
      lastProgress = progress;
    }
    lastPending = pending;
    // read: a frame begun and not finished
    if (frameStart != 0) {
      if (flow.pausedByConnection()) {
        frameStart = now; // the daemon is not reading: not the client's delay
      } else if (now - frameStart > readNanos) {
        cutWithError(ctx, Timeout.READ, "a frame was not completed within "
            + context.config.readTimeoutSeconds() + " s of its first bytes; closing");
        return;
      }
    }
    // idle: nothing at all, after HELLO
    if (authenticated && requests.active() > 0) {
      lastActivity = now;
    } else if (authenticated && pending == 0 && now - lastActivity > idleNanos) {
      cutWithError(ctx, Timeout.IDLE, "idle for " + context.config.idleTimeoutSeconds()
          + " s; closing (send PING to keep a connection)");
    }
  }

  private void cutWithError(ChannelHandlerContext ctx, Timeout kind, String message) {
    cut = true;
    context.counters.timedOut(kind);
    if (kind == Timeout.READ) {
      READ_LOG.warn("closing connection from {}: {}", ctx.channel().remoteAddress(), message);
    } else {
      LOG.debug("closing connection from {}: {}", ctx.channel().remoteAddress(), message);
    }
    Errors.sendAndClose(ctx, context, FrameDescriptor.CONNECTION_REQUEST_ID, ErrorCode.TIMEOUT, message);
  }
}
