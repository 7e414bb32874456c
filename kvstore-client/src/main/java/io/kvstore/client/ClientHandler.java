package io.kvstore.client;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.ErrorFlyweight;
import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.client.protocol.InvalidFrame;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.client.shm.ClientRegion;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.collection.LongObjectHashMap;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The client end of one connection: gives each outgoing {@link PendingRequest} a request id, keeps
 * it in a pending map until its final response, error or timeout, and routes every response frame
 * to its request. Responses may arrive in any order (spec §3.1).
 *
 * <p>The pending map and the id counter are confined to the connection's event loop. The caller's
 * buffers are guarded by each request's own monitor ({@link PendingRequest}): a request settled
 * by a timeout, a cancel or an interrupt discards its late frames unread.
 *
 * <h2>Timeouts and zero-copy PUT</h2>
 *
 * A request that times out fails with CLIENT_TIMEOUT. If it is a PUT whose frame Netty is still
 * writing (the peer stopped reading: a stopped daemon, a partition), the connection is closed: that
 * fails the write and releases the caller's pages, and only then does the PUT's future complete.
 * Waiting for the write instead could wait forever; the other requests on that connection fail with
 * CONNECTION_CLOSED and idempotent ones are retried elsewhere.
 *
 * <h2>Liveness</h2>
 *
 * An {@link IdleStateHandler} before this handler reports a connection that has read nothing, or
 * written nothing, for the PING interval; this handler then sends a keepalive PING (which also
 * keeps the daemon's idle timeout from closing a quiet connection). A request timeout sends one at
 * once. While such a probe is out the connection is <em>suspect</em> and the pool prefers others.
 * If the probe gets no answer within the PING timeout, nothing at all was read meanwhile, and a
 * frame that was being written then has not moved on (a large PUT going out slowly to a daemon
 * that answers once it has it all is alive), the connection is retired (closed): its requests fail
 * with CONNECTION_CLOSED and the pool reconnects.
 */
final class ClientHandler extends ChannelDuplexHandler {

  private static final System.Logger LOG = System.getLogger(ClientHandler.class.getName());

  private final LongObjectHashMap<PendingRequest<?>> pending = new LongObjectHashMap<>();
  private final ResponseFlyweights flyweights = new ResponseFlyweights();
  private final String peer;
  private final long pingTimeoutNanos;
  private final AtomicLong discardedFrames;
  private PipelinedShm shm;
  private long nextRequestId = 1;
  private KvStoreException closeReason;
  private volatile boolean handshaken;
  private volatile boolean suspect;
  private Requests.Ping probe;
  private long lastReadNanos = System.nanoTime();
  // The outbound write under way when the probe was sent (identity hash, bytes of it written), so
  // that a large frame still moving out counts as a live peer. As Netty's IdleStateHandler does.
  private int probeWriteMessage;
  private long probeWriteProgress;

  /**
   * @param peer the daemon's address, for messages
   * @param pingTimeoutNanos how long a keepalive PING may go unanswered before the connection is
   *     retired
   * @param discardedFrames counts response frames dropped because their request had settled
   */
  ClientHandler(String peer, long pingTimeoutNanos, AtomicLong discardedFrames) {
    this.peer = peer;
    this.pingTimeoutNanos = pingTimeoutNanos;
    this.discardedFrames = discardedFrames;
  }

  /** HELLO_OK arrived: keepalive PINGs may be sent (before it the daemon would refuse them). */
  void handshaken() {
    handshaken = true;
  }

  /** Whether a liveness probe is unanswered: the pool prefers other connections meanwhile. */
  boolean isSuspect() {
    return suspect;
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (!(msg instanceof PendingRequest)) {
      ctx.write(msg, promise);
      return;
    }
    PendingRequest<?> request = (PendingRequest<?>) msg;
    long id = nextRequestId;
    ByteBuf frame;
    try {
      frame = request.encodeForSend(ctx.alloc(), id);
    } catch (RuntimeException e) {
      request.fail(e);
      promise.tryFailure(e);
      return;
    } catch (InternalError e) {
      // A fault in the shared region's memory raised past the encode's own catch: the region
      // takes no more PUTs; this request fails, and the connection goes on.
      KvStoreException failure = ClientRegion.faultFailure(shm == null ? null : shm.region, e);
      request.fail(failure);
      promise.tryFailure(failure);
      return;
    }
    if (frame == null) {
      promise.trySuccess(); // settled before it was sent (cancelled, interrupted): nothing to send
      return;
    }
    nextRequestId++;
    pending.put(id, request);
    // The time left, not the whole timeout: waiting for a connection (a reconnect whose HELLO
    // the daemon does not answer) already took part of it.
    request.timeout(ctx.executor().schedule(
        () -> timedOut(ctx, request),
        Math.max(1, request.deadlineNanos - System.nanoTime()),
        TimeUnit.NANOSECONDS));
    ctx.write(frame, promise);
  }

  /** Removes a request whose write failed, then fails it (called on the event loop). */
  void writeFailed(PendingRequest<?> request, Throwable cause) {
    forget(request);
    request.fail(new KvStoreException(
        ErrorCode.CONNECTION_CLOSED, "could not send " + Opcode.name(request.opcode) + " to " + peer,
        cause));
  }

  /** Drops a request settled elsewhere (an abort) from the pending map (on the event loop). */
  void forget(PendingRequest<?> request) {
    long id = request.requestId();
    if (id != 0 && pending.get(id) == request) {
      pending.remove(id);
    }
  }

  private void timedOut(ChannelHandlerContext ctx, PendingRequest<?> request) {
    boolean wasProbe = request == probe; // its failure below runs probeDone, which clears probe
    forget(request);
    request.fail(ErrorCode.CLIENT_TIMEOUT, "no answer to " + Opcode.name(request.opcode)
        + " (request " + request.requestId() + ") from " + peer + " within "
        + TimeUnit.NANOSECONDS.toMillis(request.timeoutNanos) + " ms");
    if (request.isWriting()) {
      // Netty still holds the caller's pages and the peer is not taking them: closing fails the
      // write, which releases the pages and lets the PUT's future complete.
      closeReason = new KvStoreException(ErrorCode.CONNECTION_CLOSED, "connection to " + peer
          + " closed: a PUT frame could not be written within the request timeout");
      ctx.close();
    } else if (!wasProbe) {
      probe(ctx); // is the daemon still there? Until the answer, the pool prefers other connections
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof IdleStateEvent) {
      probe(ctx);
      return;
    }
    super.userEventTriggered(ctx, evt);
  }

  /** Sends a keepalive PING unless one is out or the handshake is not done (on the event loop). */
  private void probe(ChannelHandlerContext ctx) {
    if (probe != null || !handshaken || !ctx.channel().isActive()) {
      return;
    }
    Requests.Ping ping = new Requests.Ping(pingTimeoutNanos);
    long sentNanos = System.nanoTime();
    ChannelOutboundBuffer out = ctx.channel().unsafe().outboundBuffer();
    Object writing = out == null ? null : out.current();
    probeWriteMessage = writing == null ? 0 : System.identityHashCode(writing);
    probeWriteProgress = writing == null ? 0 : out.currentProgress();
    probe = ping;
    suspect = true;
    ping.future.whenComplete((rtt, error) -> probeDone(ctx, ping, sentNanos, error));
    ctx.channel().writeAndFlush(ping).addListener(f -> {
      if (!f.isSuccess()) {
        writeFailed(ping, f.cause());
      }
    });
  }

  private void probeDone(ChannelHandlerContext ctx, Requests.Ping ping, long sentNanos, Throwable error) {
    if (probe == ping) {
      probe = null;
      suspect = false;
    }
    if (error == null || !ctx.channel().isActive()) {
      return;
    }
    if (lastReadNanos - sentNanos > 0) {
      return; // the daemon is talking (a long GET stream ahead of the PONG, say): alive
    }
    if (writeMoved(ctx)) {
      return; // the daemon is taking a large frame, slowly, and answers when it has it: alive
    }
    if (KvStoreClient.asKvStoreException(error).code() == ErrorCode.CLIENT_TIMEOUT) {
      closeReason = new KvStoreException(ErrorCode.CONNECTION_CLOSED, "daemon " + peer
          + " sent nothing for " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sentNanos)
          + " ms and did not answer a keepalive PING; connection retired");
      LOG.log(Level.INFO, closeReason.getMessage());
      ctx.close();
    }
  }

  /** Whether the write under way when the probe went out has moved on since. */
  private boolean writeMoved(ChannelHandlerContext ctx) {
    if (probeWriteMessage == 0) {
      return false;
    }
    ChannelOutboundBuffer out = ctx.channel().unsafe().outboundBuffer();
    Object writing = out == null ? null : out.current();
    return writing == null
        || System.identityHashCode(writing) != probeWriteMessage
        || out.currentProgress() != probeWriteProgress;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    lastReadNanos = System.nanoTime();
    if (msg instanceof InvalidFrame) {
      invalidFrame(ctx, (InvalidFrame) msg);
      return;
    }
    ByteBuf frame = (ByteBuf) msg;
    try {
      dispatch(ctx, frame);
    } finally {
      frame.release();
    }
  }

  /** Shared memory (spec/4): the connection's attached region, set once on the event loop. */
  void shm(PipelinedShm attached) {
    this.shm = attached;
  }

  /** A dropped frame may carry a shared-memory lease: it goes back to the daemon all the same. */
  private void latePage(ByteBuf frame) {
    if (shm != null) {
      shm.latePage(frame);
    }
  }

  /** After each socket read, the leases its GET_PAGE frames carried go back in one SHM_RELEASE. */
  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (shm != null) {
      shm.flushReleases();
    }
    ctx.fireChannelReadComplete();
  }

  private void dispatch(ChannelHandlerContext ctx, ByteBuf frame) {
    int index = frame.readerIndex();
    long id = FrameDescriptor.requestId(frame, index);
    int opcode = FrameDescriptor.opcode(frame, index);
    if (opcode == Opcode.ERROR) {
      ErrorFlyweight error = flyweights.error;
      error.wrap(frame);
      error(ctx, id, error.code(), error.message());
      return;
    }
    PendingRequest<?> request = pending.get(id);
    if (request == null) {
      discardedFrames.incrementAndGet(); // for a request already settled and forgotten: dropped
      latePage(frame);
      return;
    }
    int outcome = request.handle(frame, opcode, flyweights);
    if ((outcome & PendingRequest.DISCARDED) != 0) {
      discardedFrames.incrementAndGet();
      latePage(frame);
    }
    if ((outcome & PendingRequest.LAST) != 0) {
      pending.remove(id);
    }
  }

  private void error(ChannelHandlerContext ctx, long id, int code, String message) {
    KvStoreException failure = new KvStoreException(code, message + " (from " + peer + ")");
    PendingRequest<?> request = id == FrameDescriptor.CONNECTION_REQUEST_ID ? null : pending.remove(id);
    if (request != null) {
      request.fail(failure);
    } else if (id != FrameDescriptor.CONNECTION_REQUEST_ID) {
      discardedFrames.incrementAndGet(); // the late ERROR of a settled request: not the connection's
    }
    if (id == FrameDescriptor.CONNECTION_REQUEST_ID || ErrorCode.closesConnection(code)) {
      // About the connection itself: what is still pending fails with this reason.
      closeReason = failure;
      if (ErrorCode.closesConnection(code)) {
        ctx.close();
      }
    }
  }

  private void invalidFrame(ChannelHandlerContext ctx, InvalidFrame invalid) {
    if (invalid.closeConnection()) {
      closeReason = new KvStoreException(
          invalid.errorCode(), "daemon " + peer + " broke framing: " + invalid.message());
      ctx.close();
      return;
    }
    PendingRequest<?> request = pending.remove(invalid.requestId());
    if (request != null) {
      request.fail(invalid.errorCode(), "daemon " + peer + " sent " + invalid.message());
    } else {
      LOG.log(Level.WARNING, "ignoring bad frame from {0}: {1}", peer, invalid);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    suspect = false;
    failAll(closeReason != null
        ? closeReason
        : new KvStoreException(ErrorCode.CONNECTION_CLOSED, "connection to " + peer + " closed"));
    super.channelInactive(ctx);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (closeReason == null) {
      closeReason = new KvStoreException(
          ErrorCode.CONNECTION_CLOSED, "connection to " + peer + " failed: " + cause, cause);
    }
    ctx.close();
  }

  private void failAll(KvStoreException reason) {
    List<PendingRequest<?>> all = new ArrayList<>(pending.values());
    pending.clear();
    for (PendingRequest<?> request : all) {
      request.fail(new KvStoreException(reason.code(), reason.getMessage(), reason));
    }
  }
}
