package io.kvstore.client;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.ErrorFlyweight;
import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.client.protocol.GetPageFlyweight;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.client.shm.ClientRegion;
import io.kvstore.client.shm.ShmFrames;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

/**
 * A connection driven by the calling thread, for the blocking API over TCP: the caller writes its
 * request and reads its own answer, as a Jedis-style client does, so a round trip wakes two threads
 * (the caller and the daemon's event loop) instead of four (caller, SDK I/O thread, daemon, SDK I/O
 * thread, caller again). See bench/README.md, "Where the time goes on the TCP path".
 *
 * <p>A non-blocking {@link SocketChannel} with its own {@link Selector}: waiting is a {@code select}
 * bounded by the request's deadline, which an interrupt ends without closing the channel (unlike
 * a blocking channel's read). One request at a time, by one thread at a time: {@link SyncPool}
 * lends a connection exclusively. The request objects and their buffer rules are the pipelined
 * path's ({@link PendingRequest}): the frame is encoded and each response frame handled under the
 * request's monitor, so the caller's buffers follow the same rules. A PUT's zero-copy frame is
 * written from this thread and the call returns only after the write has finished or failed.
 *
 * <p>With shared memory (a daemon on this host, spec/4) the connection negotiates a region of its
 * own when it opens, and GETs and PUTs move their pages through it exactly as on the pipelined
 * path, but all on the calling thread: it sends the request, reads the descriptors, copies (or
 * lends) the pages out of the region and checks them. The leases go back in front of the next
 * request, in the same write, as quiet SHM_RELEASE frames ({@link SyncShm}); their ids carry
 * {@link #RELEASE_ID_BIT}, so an answer to one (a refusal, or SHM_RELEASE_OK from a daemon that
 * answers every release) is told apart from the call's own frames and skipped. A region that
 * cannot be had leaves the connection on TCP.
 *
 * <p>A connection that times out, is interrupted, or meets anything unexpected mid-stream is
 * closed, never reused: the stream may hold the rest of an answer nobody will read. {@link
 * #close()} may be called from another thread (client close): it closes the channel and wakes the
 * selector; the buffers are freed by whichever of the owner and the closer comes last.
 */
final class SyncConnection {

  private static final System.Logger LOG = System.getLogger(SyncConnection.class.getName());
  private static final int KEEP_BUFFER_BYTES = 4 << 20;
  /** Set in the request ids of SHM_RELEASE frames, never in those of calls. */
  static final long RELEASE_ID_BIT = 1L << 62;
  /**
   * Pages from this size are read from the socket straight into the caller's buffer; smaller ones
   * with the rest of their frame in one read (two more system calls would cost more than the copy).
   */
  static final int IN_PLACE_MIN_PAGE_BYTES = 32 << 10;
  /** Read-ahead room ({@link #ahead}): a frame header and a key index, and a little more. */
  static final int AHEAD_BYTES = 256;

  private final SocketChannel channel;
  private final Selector selector;
  private final SelectionKey key;
  private final ByteBufAllocator alloc;
  private final int maxFrameLength;
  private final String peer;
  private final ResponseFlyweights flyweights = new ResponseFlyweights();
  private final ByteBuffer header =
      ByteBuffer.allocateDirect(FrameDescriptor.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
  /** {@link #header} as a ByteBuf, for {@link FrameDescriptor}'s accessors (same memory). */
  private final ByteBuf headerView = Unpooled.wrappedBuffer(header);
  /** A GET_PAGE's key index and reserved field, read before deciding where its page goes. */
  private final ByteBuffer prefix = ByteBuffer.allocateDirect(
      GetPageFlyweight.PAGE_OFFSET - FrameDescriptor.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
  private boolean prefixPending;
  /**
   * Bytes read past what was asked for: the next bytes of the stream, between position and limit.
   * A read into a caller's buffer or a frame's body is a scattering read that lets the bytes after
   * it (the next frame's header and key index, usually already there) land here, so those small
   * reads cost no system call of their own: a GET_PAGE read in place takes one read where it took
   * three. Small, so that little of a next page lands here and has to be copied out. Owner-thread
   * only.
   */
  private final ByteBuffer ahead = ByteBuffer.allocateDirect(AHEAD_BYTES).limit(0);
  private final ByteBuffer[] scatter = new ByteBuffer[2];
  private ByteBuf frame; // reused for frames up to KEEP_BUFFER_BYTES; owner-thread only
  private long nextRequestId = 1;
  private long nextReleaseId = RELEASE_ID_BIT | 1;
  /**
   * QUIET when the daemon speaks version 2 or later; 0 with a version 1 daemon, which refuses the
   * flag as MALFORMED_FRAME and answers each release instead (the answer is skipped).
   */
  private int releaseFlags;
  /** The attached region, or null (pages over TCP); set once while opening. */
  private SyncShm shm;
  /** Where {@link SyncShm#drain} puts the leases to send; used by the calling thread only. */
  private final long[][] drained = new long[1][];
  private ServerLimits limits;
  private long idleSinceNanos;
  private boolean broken; // owner-thread only
  // Guarded by this: who frees the buffers (the owner when it is done, or close when idle).
  private boolean inUse;
  private boolean closed;
  private boolean freed;

  private SyncConnection(SocketChannel channel, Selector selector, ByteBufAllocator alloc,
      int maxFrameLength, String peer) throws IOException {
    this.channel = channel;
    this.selector = selector;
    this.key = channel.register(selector, 0);
    this.alloc = alloc;
    this.maxFrameLength = maxFrameLength;
    this.peer = peer;
  }

  /**
   * Connects and handshakes within {@code timeoutNanos} on the calling thread.
   *
   * @throws KvStoreException CONNECTION_CLOSED when the daemon cannot be reached, CLIENT_TIMEOUT,
   *     or the daemon's refusal
   */
  static SyncConnection open(InetSocketAddress address, Requests.Hello hello, ByteBufAllocator alloc,
      int maxFrameLength, long timeoutNanos) {
    return open(address, hello, alloc, maxFrameLength, timeoutNanos, false);
  }

  /**
   * Connects and handshakes within {@code timeoutNanos} on the calling thread; with {@code
   * sharedMemory}, then negotiates a region of its own (spec/4 §4.1), staying on TCP when the
   * daemon offers none or the region cannot be mapped and proven.
   *
   * @throws KvStoreException CONNECTION_CLOSED when the daemon cannot be reached, CLIENT_TIMEOUT,
   *     or the daemon's refusal
   */
  static SyncConnection open(InetSocketAddress address, Requests.Hello hello, ByteBufAllocator alloc,
      int maxFrameLength, long timeoutNanos, boolean sharedMemory) {
    String peer = address.getHostString() + ":" + address.getPort();
    long deadline = System.nanoTime() + timeoutNanos;
    SocketChannel channel = null;
    Selector selector = null;
    SyncConnection c = null;
    try {
      InetSocketAddress resolved = address.isUnresolved()
          ? new InetSocketAddress(address.getHostString(), address.getPort())
          : address;
      channel = SocketChannel.open();
      channel.configureBlocking(false);
      channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
      selector = Selector.open();
      c = new SyncConnection(channel, selector, alloc, maxFrameLength, peer);
      c.inUse = true;
      if (!channel.connect(resolved)) {
        c.key.interestOps(SelectionKey.OP_CONNECT);
        while (!channel.finishConnect()) {
          c.await(deadline, hello);
        }
      }
      c.call(hello, deadline);
      c.limits = hello.future.join();
      c.releaseFlags = c.limits.version() >= FrameDescriptor.QUIET_RELEASE_VERSION
          ? Opcode.FLAG_SHM_RELEASE_QUIET
          : 0;
      if (sharedMemory) {
        c.negotiateShm(deadline, hello.timeoutNanos);
      }
      c.release();
      return c;
    } catch (IOException | RuntimeException e) {
      if (c != null) {
        c.close();
        c.release();
      } else {
        closeQuietly(channel, selector);
      }
      if (e instanceof java.util.concurrent.CompletionException) {
        throw KvStoreClient.asKvStoreException(e);
      }
      if (e instanceof KvStoreException k) {
        throw k;
      }
      throw new KvStoreException(
          ErrorCode.CONNECTION_CLOSED, "cannot connect to " + peer + ": " + e, e);
    }
  }

  /**
   * SHM_OPEN, map, SHM_ATTACH, on this thread. A refusal or a region that cannot be used leaves the
   * connection on TCP (the daemon unlinks a region it offered when the connection closes); a
   * connection left broken (no answer in time, a closed socket) throws.
   */
  private void negotiateShm(long deadlineNanos, long timeoutNanos) {
    Requests.ShmOpen open = new Requests.ShmOpen(timeoutNanos);
    call(open, deadlineNanos);
    Requests.ShmOffer offer = answerOrNull(open);
    if (offer == null) {
      return;
    }
    ClientRegion region;
    try {
      region = ClientRegion.mapForPages(offer.path(), offer.length(), limits.maxPageLength());
    } catch (IOException | RuntimeException e) {
      // Another host or another user (the file is not ours to read), or too small: TCP.
      LOG.log(Level.DEBUG, "cannot use the daemon''s shared region, using TCP: {0}", e.toString());
      return;
    }
    boolean attached = false;
    try {
      Requests.ShmAttach attach = new Requests.ShmAttach(region.nonce(), timeoutNanos);
      call(attach, deadlineNanos);
      if (answerOrNull(attach) != null) {
        shm = new SyncShm(region);
        attached = true;
      }
    } finally {
      if (!attached) {
        region.close(); // refused, or the connection broke: nothing will use it
      }
    }
  }

  /** A negotiation step's answer, or null when refused; throws when the connection broke. */
  private <T> T answerOrNull(PendingRequest<T> step) {
    try {
      return step.future.join();
    } catch (CompletionException e) {
      if (broken) {
        throw KvStoreClient.asKvStoreException(e);
      }
      LOG.log(Level.DEBUG, "no shared memory on a caller-driven connection, using TCP: {0}",
          e.getCause());
      return null;
    }
  }

  /** The attached region, or null when pages move over TCP. */
  SyncShm shm() {
    return shm;
  }

  /** The daemon's limits from this connection's handshake. */
  ServerLimits limits() {
    return limits;
  }

  /**
   * Sends {@code request} and reads its answer on this thread until the request is settled, by
   * {@code deadlineNanos} at the latest: when this returns, the request's future is complete. A
   * failure of the connection (closed, timed out, interrupted, a protocol violation) fails the
   * request and leaves this connection broken ({@link #isReusable()} false).
   */
  void call(PendingRequest<?> request, long deadlineNanos) {
    long id = nextRequestId++;
    ByteBuf out;
    try {
      if (shm != null) {
        request.useRegion(shm);
      }
      out = request.encodeForSend(alloc, id);
      if (out != null) {
        out = withReleases(out);
      }
    } catch (RuntimeException e) {
      request.fail(e);
      return;
    } catch (InternalError e) {
      // As in ClientHandler#write: a fault in the region raised past the encode's own catch.
      request.fail(ClientRegion.faultFailure(shm == null ? null : shm.region, e));
      return;
    }
    if (out == null) {
      return; // settled before it was sent
    }
    try {
      write(out, deadlineNanos, request);
    } catch (IOException | RuntimeException e) {
      broken = true;
      request.fail(failure(e, request, "could not send"));
      return;
    } finally {
      out.release();
      request.writeCompleted();
    }
    try {
      while (!request.future.isDone()) {
        long length = readHeader(deadlineNanos, request);
        if (request instanceof Requests.Get get && readPageInPlace(get, id, length, deadlineNanos)) {
          continue;
        }
        ByteBuf f = readBody(length, deadlineNanos, request, keepsFrame(request));
        int at = f.readerIndex();
        long frameId = FrameDescriptor.requestId(f, at);
        int opcode = FrameDescriptor.opcode(f, at);
        if ((frameId & RELEASE_ID_BIT) != 0) {
          releaseAnswered(f, opcode);
          continue;
        }
        if (opcode == Opcode.ERROR) {
          ErrorFlyweight error = flyweights.error;
          error.wrap(f);
          KvStoreException failure =
              new KvStoreException(error.code(), error.message() + " (from " + peer + ")");
          if (frameId != id || ErrorCode.closesConnection(error.code())) {
            broken = true; // about the connection itself
          }
          request.fail(failure);
          releaseIfTemporary(f);
          return;
        }
        if (frameId != id) {
          releaseIfTemporary(f);
          throw PendingRequest.violation(Opcode.name(opcode) + " for request " + frameId
              + " on a connection whose only request is " + id);
        }
        int outcome;
        try {
          outcome = request.handle(f, opcode, flyweights);
        } finally {
          releaseIfTemporary(f);
        }
        if ((outcome & PendingRequest.LAST) != 0) {
          // A request failed by a bad frame (a protocol violation, a page too large for its
          // buffer) may have more frames on the way that nobody will read.
          broken |= request.future.isCompletedExceptionally() || !request.future.isDone();
          if (!request.future.isDone()) {
            request.fail(PendingRequest.violation("a final frame that did not settle the request"));
          }
          return;
        }
      }
    } catch (IOException | RuntimeException e) {
      broken = true;
      request.fail(failure(e, request, "no answer to"));
    }
  }

  /**
   * The leases waiting to go back, as SHM_RELEASE frames (quiet, from version 2) (at most the daemon's max batch of
   * descriptors each) in front of {@code out}, all in one buffer for one write: the daemon frees
   * them before it reads the request. {@code out} itself when there are none.
   */
  private ByteBuf withReleases(ByteBuf out) {
    SyncShm region = shm;
    int n = region == null ? 0 : region.drain(drained);
    if (n == 0) {
      return out;
    }
    long[] leases = drained[0];
    drained[0] = null;
    int maxBatch = (int) Math.max(1, Math.min(n, limits.maxBatch()));
    CompositeByteBuf wire = alloc.compositeDirectBuffer(2 + n / maxBatch);
    try {
      for (int from = 0; from < n; from += maxBatch) {
        wire.addComponent(true, ShmFrames.encodeRelease(alloc, nextReleaseId++, releaseFlags,
            leases, from, Math.min(maxBatch, n - from)));
      }
    } catch (RuntimeException e) {
      wire.release();
      out.release();
      throw e;
    } finally {
      region.recycle(leases);
    }
    wire.addComponent(true, out);
    return wire;
  }

  /**
   * The answer to one of the connection's quiet releases: a refusal (logged; the leases it named
   * were not the connection's, so nothing is lost) or SHM_RELEASE_OK from a daemon that answers
   * every release. An ERROR that closes the connection leaves it broken.
   */
  private void releaseAnswered(ByteBuf f, int opcode) {
    try {
      if (opcode == Opcode.ERROR) {
        ErrorFlyweight error = flyweights.error;
        error.wrap(f);
        LOG.log(Level.WARNING, "daemon {0} refused a shared-memory release: {1} {2}", peer,
            ErrorCode.name(error.code()), error.message());
        broken |= ErrorCode.closesConnection(error.code());
      } else if (opcode != Opcode.SHM_RELEASE_OK) {
        throw PendingRequest.violation(Opcode.name(opcode) + " in answer to an SHM_RELEASE");
      }
    } finally {
      releaseIfTemporary(f);
    }
  }

  /**
   * Whether the frame about to be read must outlive the call: a page lent as a view in its frame
   * (a page views GET's inline page) keeps its buffer, so it is read into one of its own.
   */
  private boolean keepsFrame(PendingRequest<?> request) {
    return request instanceof GetViewsRequest
        && FrameDescriptor.opcode(headerBuf(), 0) == Opcode.GET_PAGE
        && (FrameDescriptor.flags(headerBuf(), 0) & Opcode.FLAG_GET_PAGE_SHM) == 0;
  }

  private KvStoreException failure(Throwable e, PendingRequest<?> request, String what) {
    if (e instanceof KvStoreException k) {
      return k;
    }
    if (closedByOwner()) {
      return new KvStoreException(ErrorCode.CONNECTION_CLOSED, "client is closed", e);
    }
    return new KvStoreException(ErrorCode.CONNECTION_CLOSED,
        what + " " + Opcode.name(request.opcode) + ": connection to " + peer + " failed: " + e, e);
  }

  private synchronized boolean closedByOwner() {
    return closed;
  }

  private void write(ByteBuf out, long deadlineNanos, PendingRequest<?> request) throws IOException {
    ByteBuffer[] buffers = out.nioBuffers();
    long left = out.readableBytes();
    while (left > 0) {
      long n = channel.write(buffers);
      if (n < 0) {
        throw new IOException("channel closed");
      }
      left -= n;
      if (left > 0 && n == 0) {
        key.interestOps(SelectionKey.OP_WRITE);
        await(deadlineNanos, request);
      }
    }
  }

  /** Reads the next frame's header into {@link #header}; returns the frame's length, checked. */
  private long readHeader(long deadlineNanos, PendingRequest<?> request) throws IOException {
    header.clear();
    readFully(header, deadlineNanos, request);
    long length = header.getInt(FrameDescriptor.FRAME_LENGTH_OFFSET) & 0xFFFFFFFFL;
    if (length < FrameDescriptor.HEADER_LENGTH) {
      throw new KvStoreException(ErrorCode.BAD_FRAME_LENGTH,
          "daemon " + peer + " sent a frame of length " + length);
    }
    if (length > maxFrameLength) {
      throw new KvStoreException(ErrorCode.FRAME_TOO_LARGE, "daemon " + peer + " sent a frame of "
          + length + " bytes, over the client's max of " + maxFrameLength);
    }
    return length;
  }

  /**
   * A large GET_PAGE over TCP: its page is read from the socket straight into the caller's buffer
   * and checked there, saving the copy out of a receive buffer (the socket read is a copy anyway).
   * Returns false when the frame is not such a page (nothing read past the header), or when the
   * page cannot go to the caller's buffer: then its key index has been read ({@link #prefix}) and
   * {@link #readBody} puts it back in front of the rest, so the frame is handled as usual.
   */
  private boolean readPageInPlace(Requests.Get get, long id, long length, long deadlineNanos)
      throws IOException {
    if (FrameDescriptor.opcode(headerBuf(), 0) != Opcode.GET_PAGE
        || (FrameDescriptor.flags(headerBuf(), 0) & Opcode.FLAG_GET_PAGE_SHM) != 0
        || FrameDescriptor.requestId(headerBuf(), 0) != id
        || length < GetPageFlyweight.PAGE_OFFSET + IN_PLACE_MIN_PAGE_BYTES) {
      return false;
    }
    prefix.clear();
    readFully(prefix, deadlineNanos, get);
    int keyIndex = prefix.getInt(0);
    int reserved = prefix.getInt(4);
    int pageLength = (int) (length - GetPageFlyweight.PAGE_OFFSET);
    // Under the request's monitor, as every access to the caller's buffers (PendingRequest); only
    // this thread ever takes it for a caller-driven call, so waiting for the socket under it
    // blocks nobody.
    synchronized (get) {
      ByteBuffer target =
          reserved == 0 && !get.isSettled() ? get.pageTarget(keyIndex, pageLength) : null;
      if (target == null) {
        prefixPending = true; // readBody puts the 8 bytes back in front of the rest
        return false;
      }
      readFully(target, deadlineNanos, get);
      get.pageLanded(keyIndex, pageLength);
    }
    return true;
  }

  private ByteBuf headerBuf() {
    return headerView;
  }

  /**
   * The rest of the frame whose header was just read, whole in a reused buffer or a temporary one
   * (released by the caller's path).
   */
  private ByteBuf readBody(long length, long deadlineNanos, PendingRequest<?> request,
      boolean ownBuffer) throws IOException {
    int n = (int) length;
    ByteBuf f;
    if (n <= KEEP_BUFFER_BYTES && !ownBuffer) {
      if (frame == null || frame.capacity() < n) {
        if (frame != null) {
          frame.release();
        }
        frame = alloc.directBuffer(Math.max(n, 128 << 10));
      }
      f = frame;
    } else {
      f = alloc.directBuffer(n, n);
    }
    f.clear();
    header.flip();
    f.writeBytes(header);
    if (prefixPending) {
      prefixPending = false;
      prefix.flip();
      f.writeBytes(prefix);
    }
    int at = f.writerIndex();
    ByteBuffer body = f.nioBuffer(at, n - at);
    try {
      readFully(body, deadlineNanos, request);
    } catch (IOException | RuntimeException e) {
      releaseIfTemporary(f);
      throw e;
    }
    f.writerIndex(n);
    return f;
  }

  private void releaseIfTemporary(ByteBuf f) {
    if (f != frame) {
      f.release();
    }
  }

  /**
   * Fills {@code dst}: first from the read-ahead, then from the socket with scattering reads into
   * {@code dst} and the read-ahead (which is empty whenever {@code dst} still has room), so the
   * bytes that follow {@code dst}'s end are kept for the next read.
   */
  private void readFully(ByteBuffer dst, long deadlineNanos, PendingRequest<?> request)
      throws IOException {
    if (ahead.hasRemaining()) {
      int n = Math.min(ahead.remaining(), dst.remaining());
      int end = ahead.limit();
      ahead.limit(ahead.position() + n);
      dst.put(ahead);
      ahead.limit(end);
    }
    while (dst.hasRemaining()) {
      ahead.clear();
      scatter[0] = dst;
      scatter[1] = ahead;
      long n;
      try {
        n = channel.read(scatter);
      } finally {
        scatter[0] = null;
        ahead.flip();
      }
      if (n < 0) {
        throw new KvStoreException(ErrorCode.CONNECTION_CLOSED, "connection to " + peer
            + " closed while waiting for the answer to " + Opcode.name(request.opcode));
      }
      if (n == 0) {
        key.interestOps(SelectionKey.OP_READ);
        await(deadlineNanos, request);
      }
    }
  }

  /** Waits for the key's interest, the deadline, an interrupt or a close. */
  private void await(long deadlineNanos, PendingRequest<?> request) throws IOException {
    long left = deadlineNanos - System.nanoTime();
    if (left <= 0) {
      throw new KvStoreException(ErrorCode.CLIENT_TIMEOUT, "no answer to "
          + Opcode.name(request.opcode) + " from " + peer + " within "
          + TimeUnit.NANOSECONDS.toMillis(request.timeoutNanos) + " ms");
    }
    selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left + 999_999)));
    selector.selectedKeys().clear();
    if (Thread.currentThread().isInterrupted()) {
      throw new KvStoreException(ErrorCode.CLIENT_TIMEOUT, "interrupted while waiting; the request"
          + " was abandoned and its buffers are the caller's again");
    }
    if (closedByOwner()) {
      throw new KvStoreException(ErrorCode.CONNECTION_CLOSED, "client is closed");
    }
  }

  /** Takes the connection for one call: false when it is closed. */
  synchronized boolean lend() {
    if (closed) {
      return false;
    }
    inUse = true;
    return true;
  }

  /** Whether the last call left the stream in an unknown state (then it must be closed). */
  boolean isBroken() {
    return broken;
  }

  /** Whether it may serve another call: not broken, open, and nothing unexpected waiting on it. */
  boolean isReusable() {
    if (broken || !channel.isOpen()) {
      return false;
    }
    if (ahead.hasRemaining()) {
      return false; // bytes nobody asked for: the stream is not where a call expects it
    }
    header.clear();
    try {
      // A daemon that closed an idle connection (or sent an ERROR about it) shows here.
      return channel.read(header) == 0;
    } catch (IOException e) {
      return false;
    }
  }

  /** Gives the connection back after a call; frees its buffers if it was closed meanwhile. */
  void release() {
    boolean free;
    synchronized (this) {
      inUse = false;
      idleSinceNanos = System.nanoTime();
      free = closed && !freed;
      freed |= free;
    }
    if (free) {
      freeBuffers();
    }
  }

  /** When it was last given back. */
  synchronized long idleSinceNanos() {
    return idleSinceNanos;
  }

  /** Closes the socket from any thread; a call under way on it fails at once. */
  void close() {
    if (shm != null) {
      shm.close(); // the daemon drops the connection's leases with it
    }
    boolean free;
    synchronized (this) {
      closed = true;
      free = !inUse && !freed;
      freed |= free;
    }
    closeQuietly(channel, null);
    selector.wakeup();
    if (free) {
      freeBuffers();
    }
  }

  private void freeBuffers() {
    try {
      selector.close();
    } catch (IOException e) {
      // nothing left to do
    }
    if (frame != null) {
      frame.release();
      frame = null;
    }
  }

  private static void closeQuietly(SocketChannel channel, Selector selector) {
    try {
      if (channel != null) {
        channel.close();
      }
    } catch (IOException e) {
      // closing anyway
    }
    try {
      if (selector != null) {
        selector.close();
      }
    } catch (IOException e) {
      // closing anyway
    }
  }
}
