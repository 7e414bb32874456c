package io.kvstore.server.net;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.FrameDecoder;
import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.client.protocol.HelloFlyweight;
import io.kvstore.client.protocol.HelloOkFlyweight;
import io.kvstore.client.protocol.InvalidFrame;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.server.config.AuthGrant;
import io.kvstore.server.config.AuthGrants;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.kvstore.server.net.NetCounters.Refusal;
import io.kvstore.server.net.NetCounters.Timeout;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The handshake of {@code spec/3-wire-protocol.md} §3.3: the first frame must be a well-formed
 * HELLO, answered with HELLO_OK (the chosen version and the daemon's limits) or with an ERROR that
 * closes the connection:
 *
 * <ul>
 *   <li>no common protocol version → UNSUPPORTED_VERSION;
 *   <li>a token that matches no grant → AUTH_FAILED (when grants are configured; without grants
 *       authentication is off and any token is accepted);
 *   <li>a valid token not granted the namespace → NAMESPACE_DENIED;
 *   <li>any other frame first → NOT_AUTHENTICATED; a malformed HELLO → MALFORMED_FRAME;
 *   <li>no HELLO within the handshake timeout (time the daemon itself did not run, as during a
 *       SIGSTOP, does not count) → TIMEOUT (request id 0);
 *   <li>a token (or, without auth, a namespace) that already holds {@code
 *       net.connections.per.token} connections → CONNECTION_LIMIT;
 *   <li>a frame announced longer than a HELLO can be → FRAME_TOO_LARGE (the decoder checks it
 *       before it holds any of it).
 * </ul>
 *
 * <p>Failed HELLOs (AUTH_FAILED, NAMESPACE_DENIED) are counted, logged at WARN at most once per
 * 10 s, and slow down the next HELLO from the same address ({@link AuthThrottle}); a frame that
 * arrives while a HELLO waits out that delay is NOT_AUTHENTICATED (spec: nothing but HELLO before
 * HELLO_OK). Error messages never name a grant.
 *
 * <p>On success it binds the connection to the namespace in {@link RequestHandler} and removes
 * itself from the pipeline, so a second HELLO reaches the request handler (MALFORMED_FRAME there)
 * and later frames pay nothing for the handshake.
 */
final class HandshakeHandler extends ChannelInboundHandlerAdapter {

  private static final Logger LOG = LoggerFactory.getLogger(HandshakeHandler.class);
  private static final RateLimitedLog AUTH_LOG = new RateLimitedLog(LOG);
  /** The oldest protocol version this daemon speaks; the newest is {@code net.protocol.max.version}. */
  static final int MIN_VERSION = FrameDescriptor.MIN_PROTOCOL_VERSION;

  private final ServerContext context;
  private final RequestHandler requests;
  private final FlowControlHandler flow;
  private final FrameDecoder decoder;
  private final TimeoutHandler timeouts;
  private final HelloFlyweight hello = new HelloFlyweight();
  /** A timer this much later than due means the daemon did not run meanwhile (not the client). */
  private static final long LATE_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

  private ScheduledFuture<?> timeout;
  /** When the handshake timeout is due (System.nanoTime), moved on by time the daemon did not run. */
  private long dueNanos;
  private boolean done;
  /** A HELLO waits out the auth throttle's delay. */
  private boolean delayed;

  HandshakeHandler(ServerContext context, FlowControlHandler flow, RequestHandler requests,
      FrameDecoder decoder, TimeoutHandler timeouts) {
    this.context = context;
    this.flow = flow;
    this.requests = requests;
    this.decoder = decoder;
    this.timeouts = timeouts;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    long nanos = TimeUnit.SECONDS.toNanos(context.config.handshakeTimeoutSeconds());
    dueNanos = System.nanoTime() + nanos;
    timeout = ctx.executor().schedule(() -> timedOut(ctx), nanos, TimeUnit.NANOSECONDS);
    super.channelActive(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    cancelTimeout();
    super.channelInactive(ctx);
  }

  /** The client stopped sending before completing the handshake: nothing more can come. */
  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof ChannelInputShutdownEvent && !done) {
      done = true;
      cancelTimeout();
      ctx.close();
    }
    ctx.fireUserEventTriggered(evt);
  }

  private void timedOut(ChannelHandlerContext ctx) {
    long late = System.nanoTime() - dueNanos;
    if (!done && ctx.channel().isActive() && late > LATE_NANOS) {
      // The timer ran this late because the daemon (or this event loop) did not run: a SIGSTOP, a
      // frozen VM. That time was not the client's: it gets it again, as the frame timeout does.
      dueNanos += late;
      timeout = ctx.executor().schedule(() -> timedOut(ctx), late, TimeUnit.NANOSECONDS);
      return;
    }
    if (!done && ctx.channel().isActive()) {
      context.counters.timedOut(Timeout.HANDSHAKE);
      fail(ctx, FrameDescriptor.CONNECTION_REQUEST_ID, ErrorCode.TIMEOUT,
          "no HELLO within " + context.config.handshakeTimeoutSeconds() + " s; closing");
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (done) {
      // Frames decoded in the same read as a failed HELLO: the connection is closing.
      if (msg instanceof ByteBuf frame) {
        flow.requestDone(frame.readableBytes());
        frame.release();
      }
      return;
    }
    if (msg instanceof InvalidFrame invalid) {
      if (invalid.errorCode() == ErrorCode.FRAME_TOO_LARGE) {
        context.counters.refused(Refusal.PREAUTH_FRAME_TOO_LARGE);
      }
      int code = invalid.closeConnection() || invalid.opcode() == Opcode.HELLO
          ? invalid.errorCode() : ErrorCode.NOT_AUTHENTICATED;
      String message = code == invalid.errorCode()
          ? invalid.message() : "expected HELLO first, got " + invalid.message();
      fail(ctx, invalid.requestId(), code, message);
      return;
    }
    ByteBuf frame = (ByteBuf) msg;
    int bytes = frame.readableBytes();
    if (delayed) {
      long requestId = FrameDescriptor.requestId(frame, frame.readerIndex());
      release(frame, bytes);
      fail(ctx, requestId, ErrorCode.NOT_AUTHENTICATED, "a request before HELLO_OK");
      return;
    }
    long delay = FrameDescriptor.opcode(frame, frame.readerIndex()) == Opcode.HELLO
        ? context.authThrottle.delayMillis(remoteAddress(ctx), System.nanoTime()) : 0;
    if (delay > 0) {
      // Earlier HELLOs from this address failed: answer this one later (token guessing slows down).
      delayed = true;
      ctx.executor().schedule(() -> {
        delayed = false;
        try {
          if (!done && ctx.channel().isActive()) {
            handle(ctx, frame);
          }
        } finally {
          release(frame, bytes);
        }
      }, delay, TimeUnit.MILLISECONDS);
      return;
    }
    try {
      handle(ctx, frame);
    } finally {
      release(frame, bytes);
    }
  }

  private void release(ByteBuf frame, int bytes) {
    frame.release();
    flow.requestDone(bytes);
  }

  private static InetAddress remoteAddress(ChannelHandlerContext ctx) {
    return ctx.channel().remoteAddress() instanceof InetSocketAddress a ? a.getAddress() : null;
  }

  private void handle(ChannelHandlerContext ctx, ByteBuf frame) {
    hello.wrap(frame);
    long id = hello.requestId();
    if (hello.opcode() != Opcode.HELLO) {
      fail(ctx, id, ErrorCode.NOT_AUTHENTICATED,
          "expected HELLO first, got " + Opcode.name(hello.opcode()));
      return;
    }
    if (context.shuttingDown()) {
      fail(ctx, id, ErrorCode.SHUTTING_DOWN, "the daemon is shutting down");
      return;
    }
    int min = hello.minVersion();
    int max = hello.maxVersion();
    int newest = context.config.protocolMaxVersion();
    int chosen = Math.min(max, newest);
    if (min > max || chosen < Math.max(min, MIN_VERSION)) {
      fail(ctx, id, ErrorCode.UNSUPPORTED_VERSION, "client speaks versions " + min + " to " + max
          + ", this daemon " + MIN_VERSION + " to " + newest);
      return;
    }
    long clientMaxFrame = hello.clientMaxFrameLength();
    if (clientMaxFrame < FrameDescriptor.MIN_MAX_FRAME_LENGTH) {
      fail(ctx, id, ErrorCode.MALFORMED_FRAME, "client max frame length " + clientMaxFrame
          + " is below " + FrameDescriptor.MIN_MAX_FRAME_LENGTH);
      return;
    }
    long namespaceId = hello.namespaceId();
    String who = "anonymous";
    AuthGrants grants = context.config.authGrants();
    if (grants.enabled()) {
      Optional<AuthGrant> grant = grants.match(hello.token());
      if (grant.isEmpty()) {
        authFailed(ctx, id, ErrorCode.AUTH_FAILED, "auth token not accepted");
        return;
      }
      if (!grant.get().allows(namespaceId)) {
        // The message names neither the grant nor what it allows: nothing to learn from it.
        authFailed(ctx, id, ErrorCode.NAMESPACE_DENIED,
            String.format("this token is not granted namespace %016x", namespaceId));
        return;
      }
      who = grant.get().name();
    }
    context.authThrottle.succeeded(remoteAddress(ctx));
    String client = grants.enabled() ? "token " + who : String.format("namespace %016x", namespaceId);
    if (!context.limits.authenticated(ctx.channel(), client)) {
      fail(ctx, id, ErrorCode.CONNECTION_LIMIT, "this client holds the most connections one client"
          + " may hold (" + context.config.maxConnectionsPerToken() + "); retry later");
      return;
    }
    done = true;
    cancelTimeout();
    decoder.maxFrameLength(context.config.maxFrameBytes());
    timeouts.authenticated();
    long connectionId = context.nextConnectionId();
    requests.authenticated(namespaceId, clientMaxFrame, connectionId, chosen);
    ctx.writeAndFlush(HelloOkFlyweight.encode(ctx.alloc(), id, chosen, context.config.maxFrameBytes(),
        context.config.maxBatch(), context.maxPageLength, context.config.maxInflightBytes(),
        connectionId));
    LOG.debug("connection {} from {}: {} on namespace {}", connectionId,
        ctx.channel().remoteAddress(), who, String.format("%016x", namespaceId));
    ctx.pipeline().remove(this);
  }

  private void authFailed(ChannelHandlerContext ctx, long requestId, int code, String message) {
    context.authThrottle.failed(remoteAddress(ctx), System.nanoTime());
    context.counters.authFailed();
    AUTH_LOG.warn("failed HELLO from {}: {}", ctx.channel().remoteAddress(), ErrorCode.name(code));
    fail(ctx, requestId, code, message);
  }

  private void fail(ChannelHandlerContext ctx, long requestId, int code, String message) {
    done = true;
    cancelTimeout();
    LOG.debug("handshake from {} failed: {} {}", ctx.channel().remoteAddress(),
        ErrorCode.name(code), message);
    Errors.sendAndClose(ctx, context, requestId, code, message);
  }

  private void cancelTimeout() {
    if (timeout != null) {
      timeout.cancel(false);
      timeout = null;
    }
  }
}
