package io.kvstore.client;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.ErrorFlyweight;
import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.client.protocol.InvalidFrame;
import io.kvstore.client.protocol.Opcode;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.util.collection.LongObjectHashMap;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The client end of one connection: gives each outgoing {@link PendingRequest} a request id, keeps
 * it in a pending map until its final response, error or timeout, and routes every response frame
 * to its request. Responses may arrive in any order (spec §3.1).
 *
 * <p>Everything here runs on the connection's event loop, so the pending map and the id counter
 * need no locks; timeouts are scheduled on the same loop, so a request that timed out has left the
 * map before its failure is seen, and a late page can never be copied into a buffer the caller has
 * taken back.
 */
final class ClientHandler extends ChannelDuplexHandler {

  private static final System.Logger LOG = System.getLogger(ClientHandler.class.getName());

  private final LongObjectHashMap<PendingRequest<?>> pending = new LongObjectHashMap<>();
  private final ResponseFlyweights flyweights = new ResponseFlyweights();
  private final String peer;
  private long nextRequestId = 1;
  private KvStoreException closeReason;

  ClientHandler(String peer) {
    this.peer = peer;
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (!(msg instanceof PendingRequest)) {
      ctx.write(msg, promise);
      return;
    }
    PendingRequest<?> request = (PendingRequest<?>) msg;
    if (request.isDone()) {
      promise.trySuccess();
      return;
    }
    long id = nextRequestId++;
    ByteBuf frame;
    try {
      frame = request.encode(ctx.alloc(), id);
    } catch (RuntimeException e) {
      request.fail(e);
      promise.tryFailure(e);
      return;
    }
    request.requestId = id;
    pending.put(id, request);
    request.timeout = ctx.executor().schedule(
        () -> timedOut(id), request.timeoutNanos, TimeUnit.NANOSECONDS);
    ctx.write(frame, promise);
  }

  /** Removes a request whose write failed, then fails it (called on the event loop). */
  void writeFailed(PendingRequest<?> request, Throwable cause) {
    if (request.requestId != 0) {
      pending.remove(request.requestId);
    }
    request.fail(new KvStoreException(
        ErrorCode.CONNECTION_CLOSED, "could not send " + Opcode.name(request.opcode) + " to " + peer,
        cause));
  }

  private void timedOut(long id) {
    PendingRequest<?> request = pending.remove(id);
    if (request != null) {
      request.fail(ErrorCode.CLIENT_TIMEOUT, "no answer to " + Opcode.name(request.opcode)
          + " (request " + id + ") from " + peer + " within "
          + TimeUnit.NANOSECONDS.toMillis(request.timeoutNanos) + " ms");
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
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
      return; // the answer to a request that already timed out: dropped, buffers untouched
    }
    try {
      if (request.onFrame(frame, opcode, flyweights)) {
        pending.remove(id);
      }
    } catch (KvStoreException e) {
      pending.remove(id);
      request.fail(e);
    }
  }

  private void error(ChannelHandlerContext ctx, long id, int code, String message) {
    KvStoreException failure = new KvStoreException(code, message + " (from " + peer + ")");
    PendingRequest<?> request = id == FrameDescriptor.CONNECTION_REQUEST_ID ? null : pending.remove(id);
    if (request != null) {
      request.fail(failure);
    }
    if (request == null || ErrorCode.closesConnection(code)) {
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
