package io.kvstore.server.net;

import io.kvstore.client.protocol.BatchDoneFlyweight;
import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.ErrorFlyweight;
import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.client.protocol.InvalidFrame;
import io.kvstore.client.protocol.KeyBatchFlyweight;
import io.kvstore.client.protocol.LookupOkFlyweight;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.client.protocol.PingFlyweight;
import io.kvstore.client.protocol.PrefetchOkFlyweight;
import io.kvstore.client.protocol.PutFlyweight;
import io.kvstore.client.protocol.StatsFlyweight;
import io.kvstore.client.shm.ShmFrames;
import io.kvstore.core.tier.TierKind;
import io.kvstore.server.shm.ServerRegion;
import java.io.IOException;
import io.kvstore.server.metrics.ServerMetrics.Op;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the requests of one authenticated connection over the store ({@link StoreOps}, {@code
 * spec/3-wire-protocol.md} §3.4): PING and STATS on the event loop; GET on the event loop for pages
 * in memory, handing the rest of the GET to the store executor at its first page on SSD ({@link
 * GetStream}); PUT on the event loop too when the store never blocks a put (no SSD tier) and the
 * frame is small ({@link #putOnLoop}); LOOKUP (whose namespace check may read a page header from
 * the SSD), other PUTs and DELETE on the bounded store executor (OVERLOADED when its queue is full, never an unbounded queue);
 * PREFETCH on the store's own prefetch threads. A bad frame ends only its request
 * (MALFORMED_FRAME, UNKNOWN_OPCODE, BATCH_TOO_LARGE) unless the framing is lost, which closes the
 * connection once the requests before it are answered.
 *
 * <h2>Every request answered, once</h2>
 *
 * A request has one owner at a time and ends exactly once, in {@link #complete} on the event loop:
 * the final response is written, the request frame released, its bytes returned to {@link
 * FlowControlHandler} (and so to the request memory budget), its latency recorded. Work finished on
 * another thread comes back through {@link #completeLater}. Whatever a verb throws, on the loop or
 * on a store thread, ends its request with an ERROR whose code says what failed ({@link
 * Errors#codeOf}: NO_SPACE, STORAGE_ERROR, OVERLOADED, INTERNAL), never with silence; a second
 * ending of the same request is ignored.
 *
 * <h2>Namespaces</h2>
 *
 * Every verb sees only the connection's namespace: LOOKUP and DELETE treat another namespace's key
 * as absent, PREFETCH does not move it, GET reports it as a miss (without promoting it), and a PUT
 * that would replace it fails that page with NAMESPACE_DENIED.
 *
 * <h2>Half-close</h2>
 *
 * When the client shuts down its sending side, every request read before its FIN is answered in
 * full; the connection closes after the last response has been written to the socket.
 */
final class RequestHandler extends ChannelInboundHandlerAdapter {

  private static final Logger LOG = LoggerFactory.getLogger(RequestHandler.class);
  /** A region refused for want of room comes with every connection that asks: one line per 10 s. */
  private static final RateLimitedLog REGION_LOG = new RateLimitedLog(LOG);
  /** PREFETCH deadline when the request gives 0 (spec §3.4.1). */
  static final int PREFETCH_DEADLINE_DEFAULT_MS = 1000;

  /** One request between its arrival and its final response. */
  static final class Request {
    private static final AtomicIntegerFieldUpdater<Request> ENDED =
        AtomicIntegerFieldUpdater.newUpdater(Request.class, "ended");

    final long requestId;
    final Op op;
    final ByteBuf frame;
    final int bytes;
    final long startNanos;
    private volatile int ended;

    /** Claims the request's one ending; false if it has already ended (or is ending). */
    boolean end() {
      return ENDED.compareAndSet(this, 0, 1);
    }

    Request(long requestId, Op op, ByteBuf frame, long startNanos) {
      this.requestId = requestId;
      this.op = op;
      this.frame = frame;
      this.bytes = frame.readableBytes();
      this.startNanos = startNanos;
    }
  }

  private final ServerContext context;
  private final FlowControlHandler flow;
  private final KeyBatchFlyweight batch = new KeyBatchFlyweight();
  private final PingFlyweight ping = new PingFlyweight();
  private final PutFlyweight put = new PutFlyweight();
  private final int[] perTier = new int[TierKind.values().length];
  private final ArrayDeque<GetStream> waitingForWritable = new ArrayDeque<>();
  private long[] keys = new long[128];
  private ChannelHandlerContext ctx;
  private long namespaceId;
  private long clientMaxFrame;
  private long connectionId;
  private int active;
  private boolean inputClosed;
  /** The framing is lost: close once every request read before is answered. */
  private boolean closing;
  /** This connection's shared region (spec/4), set on the event loop; read by store threads. */
  private volatile ServerRegion region;
  /** An SHM_OPEN is being served (on a store thread). */
  private boolean regionOpening;
  /** The protocol version chosen at HELLO: what flags this connection's frames may carry. */
  private int version = FrameDescriptor.MIN_PROTOCOL_VERSION;

  RequestHandler(ServerContext context, FlowControlHandler flow) {
    this.context = context;
    this.flow = flow;
  }

  /** Binds the connection to its namespace; called by the handshake before any request. */
  void authenticated(long namespaceId, long clientMaxFrame, long connectionId, int version) {
    this.namespaceId = namespaceId;
    this.clientMaxFrame = clientMaxFrame;
    this.connectionId = connectionId;
    this.version = version;
  }

  /** Requests of this connection read and not yet answered. */
  int active() {
    return active;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof InvalidFrame invalid) {
      if (closing) {
        return;
      }
      if (invalid.closeConnection()) {
        // Framing lost: read nothing more, answer what was read before, then close.
        closing = true;
        flow.stopReading();
        Errors.send(ctx, context, invalid.requestId(), invalid.errorCode(), invalid.message());
        if (active == 0) {
          closeAfterFlush();
        }
      } else {
        Errors.send(ctx, context, invalid.requestId(), invalid.errorCode(), invalid.message());
      }
      return;
    }
    ByteBuf frame = (ByteBuf) msg;
    int opcode = FrameDescriptor.opcode(frame, frame.readerIndex());
    Request r = new Request(FrameDescriptor.requestId(frame, frame.readerIndex()), opOf(opcode),
        frame, System.nanoTime());
    active++;
    context.requestsInFlight.incrementAndGet();
    try {
      dispatch(r, opcode);
    } catch (RuntimeException e) {
      failed(r, e);
    }
  }

  /** Ends a request whose verb threw, with the code for what failed. */
  private void failed(Request r, Throwable e) {
    int code = Errors.codeOf(e);
    if (context.shuttingDown()) {
      // The store is closing under the request (a JVM exit hook may close parts of it first):
      // the client is told why, and it is no daemon fault worth an ERROR line.
      code = ErrorCode.SHUTTING_DOWN;
      LOG.debug("connection {}: request {} ({}) failed during shutdown: {}", connectionId,
          r.requestId, r.op, e.toString());
    } else if (code == ErrorCode.INTERNAL) {
      LOG.error("connection {}: request {} ({}) failed", connectionId, r.requestId, r.op, e);
    } else {
      LOG.debug("connection {}: request {} ({}) failed: {}", connectionId, r.requestId, r.op,
          e.toString());
    }
    failLater(r, code, (r.op == null ? "request" : r.op.name()) + " failed in the daemon: "
        + ErrorCode.name(code) + ": " + e.getMessage());
  }

  private void dispatch(Request r, int opcode) {
    if (context.shuttingDown()) {
      fail(r, ErrorCode.SHUTTING_DOWN, "the daemon is shutting down");
      return;
    }
    switch (opcode) {
      case Opcode.HELLO -> fail(r, ErrorCode.MALFORMED_FRAME, "second HELLO on an established connection");
      case Opcode.PING -> {
        ping.wrap(r.frame);
        complete(r, PingFlyweight.encode(ctx.alloc(), Opcode.PONG, r.requestId, ping.payload()));
      }
      case Opcode.STATS -> complete(r, StatsFlyweight.encodeResponse(ctx.alloc(), r.requestId,
          context.stats.render()));
      case Opcode.LOOKUP -> {
        if (batchFits(r)) {
          submit(r, () -> lookup(r));
        }
      }
      case Opcode.GET -> {
        boolean shm = (FrameDescriptor.flags(r.frame, r.frame.readerIndex()) & Opcode.FLAG_GET_SHM) != 0;
        ServerRegion reg = region;
        if (shm && (reg == null || !reg.attached())) {
          fail(r, ErrorCode.SHM_UNAVAILABLE, "GET through shared memory without an attached region");
          return;
        }
        if (batchFits(r)) {
          // Starts on this event loop (pages in memory); hands itself to the executor for SSD.
          new GetStream(this, r, ctx.channel(), context.store, namespaceId, clientMaxFrame,
              shm ? reg : null).run();
        }
      }
      case Opcode.PUT -> {
        if ((FrameDescriptor.flags(r.frame, r.frame.readerIndex()) & Opcode.FLAG_PUT_SHM) != 0) {
          putThroughRegion(r);
          return;
        }
        put.wrap(r.frame);
        if (Integer.toUnsignedLong(put.pageCount()) > context.config.maxBatch()) {
          fail(r, ErrorCode.BATCH_TOO_LARGE, "PUT of " + Integer.toUnsignedLong(put.pageCount())
              + " pages; the max batch is " + context.config.maxBatch());
          return;
        }
        if (r.bytes <= context.putOnLoopMaxBytes) {
          putOnLoop(r);
          return;
        }
        long ns = namespaceId;
        submit(r, () -> completeLater(r, PutTask.run(r.frame, r.requestId, context.store, ns,
            context.maxPageLength, context, ctx.alloc())));
      }
      case Opcode.DELETE -> {
        if (batchFits(r)) {
          submit(r, () -> delete(r));
        }
      }
      case Opcode.PREFETCH -> {
        if (batchFits(r)) {
          prefetch(r);
        }
      }
      case Opcode.SHM_OPEN -> openRegion(r);
      case Opcode.SHM_ATTACH -> attachRegion(r);
      case Opcode.SHM_RELEASE -> releaseLeases(r);
      default -> fail(r, ErrorCode.UNKNOWN_OPCODE, "opcode " + Opcode.name(opcode) + " is not a request");
    }
  }

  /**
   * Stores a PUT on this event loop: only when the store never blocks a put (no SSD tier, {@link
   * StoreOps#putNeverBlocks()}) and the frame is small enough ({@link
   * ServerContext#putOnLoopMaxBytes}). The same checks and statuses as on a store thread ({@link
   * PutTask}); it saves the hand-off to the store executor and the one back, which on a loaded host
   * each cost a wait for a core. Whatever the store throws ends the request with its ERROR code.
   */
  private void putOnLoop(Request r) {
    ByteBuf ok;
    try {
      ok = PutTask.run(r.frame, r.requestId, context.store, namespaceId, context.maxPageLength,
          context, ctx.alloc());
    } catch (RuntimeException | Error e) {
      failed(r, e);
      if (e instanceof Error err) {
        throw err;
      }
      return;
    }
    complete(r, ok);
  }

  /**
   * SHM_OPEN (spec/4 §4.1): creates and maps the region file on a store thread (file system
   * work), then, back on the loop, binds it to the connection before answering SHM_OPEN_OK, so an
   * SHM_ATTACH sent after that answer finds it. A connection closed meanwhile unlinks it at once.
   */
  private void openRegion(Request r) {
    if (region != null || regionOpening) {
      fail(r, ErrorCode.MALFORMED_FRAME, "second SHM_OPEN on this connection");
      return;
    }
    if (!context.shm.enabled()) {
      fail(r, ErrorCode.SHM_UNAVAILABLE, "this daemon offers no shared memory");
      return;
    }
    regionOpening = true;
    long wanted = r.frame.getLongLE(r.frame.readerIndex() + ShmFrames.OPEN_WANTED_OFFSET);
    long id = connectionId;
    Runnable task = () -> {
      ServerRegion opened;
      try {
        opened = context.shm.open(id, wanted);
      } catch (IOException | RuntimeException | InternalError e) {
        // InternalError: a fault in a mapped page (SIGBUS), which ShmManager's free-room check
        // prevents for the daemon's own regions; the SHM_OPEN is answered whatever happened.
        REGION_LOG.warn("connection {}: cannot create a shared-memory region: {}", id, e.toString());
        opened = null;
      }
      if (opened == null) {
        runOnLoop(() -> regionOpening = false, () -> { });
        failLater(r, ErrorCode.SHM_UNAVAILABLE, "no shared memory for this connection (the"
            + " daemon's total is in use, or its directory is unusable or out of room); use TCP");
        return;
      }
      ServerRegion reg = opened;
      runOnLoop(() -> {
        regionOpening = false;
        if (!ctx.channel().isActive()) {
          closeRegion(reg);
          complete(r, null);
          return;
        }
        region = reg;
        complete(r, ShmFrames.encodeOpenOk(ctx.alloc(), r.requestId, reg.length(),
            reg.path().toAbsolutePath().toString()));
      }, () -> {
        reg.close();
        release(r);
      });
    };
    try {
      context.storeExecutor.execute(task);
    } catch (RejectedExecutionException e) {
      regionOpening = false; // a later SHM_OPEN may try again
      fail(r, ErrorCode.OVERLOADED, "the daemon's store queue is full; retry later");
    }
  }

  /** SHM_ATTACH: the echoed nonce proves the client read the region file (same host, same user). */
  private void attachRegion(Request r) {
    ServerRegion reg = region;
    if (reg == null) {
      fail(r, ErrorCode.SHM_UNAVAILABLE, "SHM_ATTACH without SHM_OPEN");
      return;
    }
    if (reg.attached()) {
      fail(r, ErrorCode.MALFORMED_FRAME, "second SHM_ATTACH on this connection");
      return;
    }
    byte[] nonce = new byte[ShmFrames.NONCE_LENGTH];
    r.frame.getBytes(r.frame.readerIndex() + ShmFrames.ATTACH_NONCE_OFFSET, nonce);
    if (!reg.attach(nonce)) {
      region = null;
      // The answer follows the unlink (spec/4 §4.1), both off the event loop.
      String refused = "wrong nonce: the region is withdrawn; use TCP";
      try {
        context.storeExecutor.execute(() -> {
          reg.close();
          failLater(r, ErrorCode.SHM_REFUSED, refused);
        });
      } catch (RejectedExecutionException e) {
        reg.close();
        fail(r, ErrorCode.SHM_REFUSED, refused);
      }
      return;
    }
    complete(r, ShmFrames.encodeEmpty(ctx.alloc(), Opcode.SHM_ATTACH_OK, r.requestId));
  }

  /**
   * SHM_RELEASE: each descriptor must name a live lease of this connection exactly. Answered with
   * SHM_RELEASE_OK, or, with flag QUIET (a caller-driven SDK connection sends its releases in front
   * of its next request), not at all unless a descriptor is refused.
   */
  private void releaseLeases(Request r) {
    ServerRegion reg = region;
    if (reg == null || !reg.attached()) {
      fail(r, ErrorCode.SHM_UNAVAILABLE, "SHM_RELEASE without an attached region");
      return;
    }
    int at = r.frame.readerIndex();
    boolean quiet = (FrameDescriptor.flags(r.frame, at) & Opcode.FLAG_SHM_RELEASE_QUIET) != 0;
    if (quiet && version < FrameDescriptor.QUIET_RELEASE_VERSION) {
      // As a version 1 daemon would answer: the flag did not exist (spec/3 §3.3).
      fail(r, ErrorCode.MALFORMED_FRAME, "SHM_RELEASE flag QUIET on a connection of protocol"
          + " version " + version + "; it needs version " + FrameDescriptor.QUIET_RELEASE_VERSION);
      return;
    }
    long count = Integer.toUnsignedLong(ShmFrames.count(r.frame, at));
    if (count > context.config.maxBatch()) {
      fail(r, ErrorCode.BATCH_TOO_LARGE, "SHM_RELEASE of " + count + " descriptors; the max batch is "
          + context.config.maxBatch());
      return;
    }
    int released = 0;
    for (int i = 0; i < count; i++) {
      if (reg.release(ShmFrames.descriptorOffset(r.frame, at, i),
          ShmFrames.descriptorLength(r.frame, at, i), ShmFrames.descriptorGeneration(r.frame, at, i))) {
        released++;
      }
    }
    if (released != count) {
      fail(r, ErrorCode.BAD_DESCRIPTOR, (count - released) + " of " + count + " descriptors name no"
          + " live lease of this connection (out of bounds, released, or stale); nothing changed"
          + " for them");
      return;
    }
    if (quiet) {
      complete(r, null); // quiet: only a refusal is answered (spec/4 §4.3)
      return;
    }
    complete(r, ShmFrames.encodeReleaseOk(ctx.alloc(), r.requestId, (int) count, released));
  }

  /** PUT with flag SHM: pages are read from the connection's PUT area (spec/4 §4.4). */
  private void putThroughRegion(Request r) {
    ServerRegion reg = region;
    if (reg == null || !reg.attached()) {
      fail(r, ErrorCode.SHM_UNAVAILABLE, "PUT through shared memory without an attached region");
      return;
    }
    long count = Integer.toUnsignedLong(ShmFrames.count(r.frame, r.frame.readerIndex()));
    if (count > context.config.maxBatch()) {
      fail(r, ErrorCode.BATCH_TOO_LARGE, "PUT of " + count + " pages; the max batch is "
          + context.config.maxBatch());
      return;
    }
    long ns = namespaceId;
    submit(r, () -> completeLater(r, ShmPutTask.run(r.frame, r.requestId, context.store, ns,
        context.maxPageLength, context, ctx.alloc(), reg)));
  }

  private boolean batchFits(Request r) {
    batch.wrap(r.frame);
    long count = Integer.toUnsignedLong(batch.keyCount());
    if (count > context.config.maxBatch()) {
      fail(r, ErrorCode.BATCH_TOO_LARGE, Opcode.name(batch.opcode()) + " of " + count
          + " keys; the max batch is " + context.config.maxBatch());
      return false;
    }
    return true;
  }

  /**
   * Answers a LOOKUP on a store thread: the run of leading keys held in this connection's
   * namespace (a key of another namespace ends the run as if absent).
   */
  private void lookup(Request r) {
    KeyBatchFlyweight b = new KeyBatchFlyweight();
    b.wrap(r.frame);
    int count = b.keyCount();
    long[] ks = new long[2 * count];
    b.readKeys(ks);
    int[] tiers = new int[TierKind.values().length];
    int run = context.store.lookupPrefix(ks, count, tiers, namespaceId);
    completeLater(r, LookupOkFlyweight.encode(ctx.alloc(), r.requestId, run, tiers, tiers.length));
  }

  /** Reads the keys of the key batch wrapped in {@link #batch} into {@link #keys}. */
  private int readKeys(Request r) {
    int count = batch.keyCount();
    if (keys.length < 2 * count) {
      keys = new long[Math.max(2 * count, 2 * keys.length)];
    }
    return batch.readKeys(keys);
  }

  /**
   * Deletes the keys whose page belongs to this connection's namespace; a page of another namespace
   * is reported as not present and left alone, so knowing a key does not let a client delete
   * another namespace's page.
   */
  private void delete(Request r) {
    int at = r.frame.readerIndex();
    int count = r.frame.getIntLE(at + KeyBatchFlyweight.KEY_COUNT_OFFSET);
    long[] misses = new long[BatchDoneFlyweight.missWords(count)];
    for (int i = 0; i < count; i++) {
      int keyAt = at + KeyBatchFlyweight.KEYS_OFFSET + KeyBatchFlyweight.KEY_LENGTH * i;
      long hi = r.frame.getLongLE(keyAt);
      long lo = r.frame.getLongLE(keyAt + 8);
      if (!context.store.delete(hi, lo, namespaceId)) {
        misses[i >>> 6] |= 1L << i;
      }
    }
    completeLater(r, BatchDoneFlyweight.encode(ctx.alloc(), Opcode.DELETE_OK, r.requestId, count, misses));
  }

  private void prefetch(Request r) {
    int count = readKeys(r);
    long ms = batch.argument() == 0 ? PREFETCH_DEADLINE_DEFAULT_MS : batch.argument();
    long deadline = r.startNanos + TimeUnit.MILLISECONDS.toNanos(ms);
    CompletableFuture<Integer> done = context.store.prefetch(keys, count, deadline, namespaceId);
    done.whenComplete((promoted, e) -> {
      Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
      if (cause == null) {
        completeLater(r, PrefetchOkFlyweight.encode(ctx.alloc(), r.requestId, count,
            Math.min(promoted, count)));
      } else if (cause instanceof RejectedExecutionException) {
        failLater(r, ErrorCode.OVERLOADED, "prefetch queue is full; retry later");
      } else {
        failed(r, cause);
      }
    });
  }

  /**
   * Runs a store task on the executor, or answers OVERLOADED when its queue is full. Whatever the
   * task throws ends the request with an ERROR (it never stays unanswered).
   */
  private void submit(Request r, Runnable task) {
    try {
      context.storeExecutor.execute(() -> {
        try {
          task.run();
        } catch (RuntimeException | Error e) {
          failed(r, e);
          if (e instanceof Error err) {
            throw err;
          }
        }
      });
    } catch (RejectedExecutionException e) {
      fail(r, ErrorCode.OVERLOADED, "the daemon's store queue is full; retry later");
    }
  }

  /**
   * Runs a GET stream (again): on the event loop while it serves memory pages, else on the executor
   * (after its hand-over to a store thread, or a write listener resuming it).
   */
  void resume(GetStream stream) {
    if (stream.onLoop()) {
      runOnLoop(stream, () -> stream.abort(ErrorCode.SHUTTING_DOWN, "the daemon is shutting down"));
      return;
    }
    try {
      context.storeExecutor.execute(stream);
    } catch (RejectedExecutionException e) {
      stream.abort(ErrorCode.OVERLOADED, "the daemon's store queue is full; retry later");
    }
  }

  /** Parks a GET until the channel is writable again (from any thread). */
  void resumeWhenWritable(GetStream stream) {
    runOnLoop(() -> {
      if (ctx.channel().isWritable() || !ctx.channel().isActive()) {
        resume(stream);
      } else {
        waitingForWritable.add(stream);
      }
    }, () -> stream.abort(ErrorCode.SHUTTING_DOWN, "the daemon is shutting down"));
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (ctx.channel().isWritable()) {
      resumeWaiting();
    }
    ctx.fireChannelWritabilityChanged();
  }

  /**
   * The client shut down its sending side (half-close, allowed on daemon sockets so that a frame cut
   * short by the end of the stream can still be answered): answer what was read, then close.
   */
  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof ChannelInputShutdownEvent) {
      inputClosed = true;
      if (active == 0) {
        closeAfterFlush();
      }
    }
    ctx.fireUserEventTriggered(evt);
  }

  /**
   * Closes once everything queued for the socket is written: writes complete in order, so an empty
   * write behind them completes after the last one (a plain close would drop what is queued).
   */
  private void closeAfterFlush() {
    ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
  }

  private void closeAfter(ChannelFuture written) {
    if (written == null) {
      closeAfterFlush();
    } else {
      written.addListener(ChannelFutureListener.CLOSE);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    ServerRegion reg = region;
    if (reg != null) {
      region = null;
      // The client is gone (closed, crashed, SIGKILLed): leases dropped, file unlinked, mapping
      // given back.
      closeRegion(reg);
    }
    resumeWaiting(); // they see the closed channel and release their requests
    super.channelInactive(ctx);
  }

  /**
   * Closes a region off the event loop (an unlink, and an unmap that frees the region's pages in
   * the tmpfs); on the loop only if the store executor takes no task (full, or shut down).
   */
  private void closeRegion(ServerRegion reg) {
    try {
      context.storeExecutor.execute(reg::close);
    } catch (RejectedExecutionException e) {
      reg.close();
    }
  }

  private void resumeWaiting() {
    GetStream s;
    while ((s = waitingForWritable.poll()) != null) {
      resume(s);
    }
  }

  /** Ends a request with an ERROR (on the event loop). */
  void fail(Request r, int code, String message) {
    if (!r.end()) {
      return;
    }
    Errors.count(context, code);
    finish(r, ErrorFlyweight.encode(ctx.alloc(), r.requestId, code, message));
  }

  /** {@link #fail} from any thread. */
  void failLater(Request r, int code, String message) {
    if (!r.end()) {
      return;
    }
    Errors.count(context, code);
    finishLater(r, ErrorFlyweight.encode(ctx.alloc(), r.requestId, code, message));
  }

  /** {@link #complete} from any thread. */
  void completeLater(Request r, ByteBuf response) {
    if (!r.end()) {
      ReferenceCountUtil.release(response);
      return;
    }
    finishLater(r, response);
  }

  private void finishLater(Request r, ByteBuf response) {
    if (ctx.executor().inEventLoop()) {
      finish(r, response);
      return;
    }
    runOnLoop(() -> finish(r, response), () -> {
      ReferenceCountUtil.release(response);
      release(r);
    });
  }

  /**
   * Ends a request on the event loop: writes its final response (null: none, the connection is
   * gone), releases the frame and its in-flight bytes, records the latency. Does nothing (but
   * release {@code response}) if the request has already ended.
   */
  void complete(Request r, ByteBuf response) {
    if (!r.end()) {
      ReferenceCountUtil.release(response);
      return;
    }
    finish(r, response);
  }

  private void finish(Request r, ByteBuf response) {
    ChannelFuture written = response != null ? ctx.writeAndFlush(response) : null;
    flow.requestDone(r.bytes);
    active--;
    if ((inputClosed || closing) && active == 0) {
      closeAfter(written); // the client has sent its last request and it is answered
    }
    if (r.op != null) {
      context.metrics.recordLatencyNanos(r.op, System.nanoTime() - r.startNanos);
    }
    release(r);
  }

  private void release(Request r) {
    r.frame.release();
    context.requestsInFlight.decrementAndGet();
  }

  private void runOnLoop(Runnable task, Runnable ifRejected) {
    try {
      ctx.executor().execute(task);
    } catch (RejectedExecutionException e) {
      ifRejected.run(); // the event loop has stopped (forced close): nothing can be written
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.debug("connection {} from {} failed: {}", connectionId, ctx.channel().remoteAddress(),
        cause.toString());
    ctx.close();
  }

  private static Op opOf(int opcode) {
    return switch (opcode) {
      case Opcode.PING -> Op.PING;
      case Opcode.LOOKUP -> Op.LOOKUP;
      case Opcode.GET -> Op.GET;
      case Opcode.PUT -> Op.PUT;
      case Opcode.PREFETCH -> Op.PREFETCH;
      case Opcode.DELETE -> Op.DELETE;
      case Opcode.STATS -> Op.STATS;
      default -> null;
    };
  }
}
