package io.kvstore.server.net;

import io.kvstore.client.protocol.BatchDoneFlyweight;
import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.client.protocol.GetPageFlyweight;
import io.kvstore.client.protocol.KeyBatchFlyweight;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.client.shm.ShmFrames;
import io.kvstore.common.PageFormat;
import io.kvstore.core.store.TieredStore;
import io.kvstore.core.tier.PinnedPage;
import io.kvstore.server.shm.ServerRegion;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelPromise;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One GET ({@code spec/3-wire-protocol.md} §3.4.1): for each key in order it pins the page, sends
 * it as its own GET_PAGE frame, and ends with GET_DONE.
 *
 * <h2>Threads</h2>
 *
 * A GET starts on the connection's event loop and serves there every page a memory tier holds
 * ({@link TieredStore#pinIfInMemory}: no SSD read, no key lock), writing pages without a flush each
 * and flushing once with GET_DONE (descriptors of pages copied into the shared-memory region
 * also every {@link #REGION_FLUSH_BYTES}), so a GET of pages in memory costs no thread hand-off. At
 * the first key that is stored but not in memory (on SSD) it hands itself, from that key on, to the
 * store executor, where {@link TieredStore#getPinned} may read the SSD and promote; it stays there
 * to the end. A key stored nowhere is a miss on either side.
 *
 * <h2>Zero copy</h2>
 *
 * A page goes to the socket straight from the tier's off-heap memory: the pinned view is wrapped
 * (not copied) in a {@link ByteBuf} and written behind a 24-byte prefix, as one composite message.
 * The pin is closed by the write's promise listener, which Netty completes only after it has
 * released the buffer (written or failed, also when the channel is already closed), so the tier
 * memory stays pinned exactly as long as the socket may read it. A page that cannot be pinned (a
 * store without memory tiers, or every frame pinned) is copied once into a direct buffer instead.
 *
 * <h2>Namespace isolation</h2>
 *
 * A page whose header names another namespace than the connection's is reported as a miss: knowing
 * a key is not enough to read another namespace's page. On a store thread the key's ownership is
 * checked ({@link StoreOps#ownership}) before {@link StoreOps#getPinned}, so another namespace's
 * page on SSD is not promoted into memory either.
 *
 * <h2>Failures and pins</h2>
 *
 * Whatever a store call throws ends the GET with an ERROR ({@link Errors#codeOf}) after the pages
 * already sent. A pinned page is released by its write's promise listener whatever happens to the
 * write (also when the connection is closed by the write timeout), or at once if it is not sent.
 *
 * <h2>Back-pressure</h2>
 *
 * Pages are produced only while the channel is writable and while this GET has less than {@link
 * #MAX_QUEUED_BYTES} written but not yet on the socket; otherwise the stream flushes, parks (returns
 * its thread) and is resumed, on the thread kind it runs on, by the write listener or by the
 * channel becoming writable.
 * So a GET of many large pages pins a bounded amount of tier memory at any time.
 */
final class GetStream implements Runnable {

  /** Bytes of one GET's pages that may be queued for the socket before the stream parks. */
  static final long MAX_QUEUED_BYTES = 8L << 20;

  /**
   * On the event loop, the descriptors of region pages are flushed once the pages copied since the
   * last flush reach this many bytes, not only with GET_DONE: the client then checks those pages
   * (their CRC, in place) while this loop copies the next ones, instead of after the last. A copy
   * of this many bytes takes tens of microseconds, a flush (one small {@code send}) a few; pages
   * sent inline over TCP are still flushed once.
   */
  static final int REGION_FLUSH_BYTES = 256 << 10;

  private final RequestHandler handler;
  private final RequestHandler.Request request;
  private final Channel channel;
  private final StoreOps store;
  private final long namespaceId;
  private final long clientMaxFrame;
  /** The connection's region when the GET asked for shared memory (flag SHM), else null. */
  private final ServerRegion region;
  private final ByteBuf frame;
  private final int keyCount;
  private final boolean prefix;
  private final long[] misses;
  private final AtomicLong queuedBytes = new AtomicLong();
  private final AtomicBoolean parked = new AtomicBoolean();
  /** True while on the event loop; set false once, when the rest is handed to a store thread. */
  private volatile boolean onLoop = true;
  // Touched only by the thread running run(); runs are serialized by the park/resume hand-over.
  private int next;
  private boolean stopped;
  /** Bytes of region pages copied on the event loop since the last flush. */
  private long unflushedRegionBytes;

  GetStream(
      RequestHandler handler,
      RequestHandler.Request request,
      Channel channel,
      StoreOps store,
      long namespaceId,
      long clientMaxFrame,
      ServerRegion region) {
    this.handler = handler;
    this.request = request;
    this.channel = channel;
    this.store = store;
    this.namespaceId = namespaceId;
    this.clientMaxFrame = clientMaxFrame;
    this.region = region;
    this.frame = request.frame;
    int at = frame.readerIndex();
    this.keyCount = frame.getIntLE(at + KeyBatchFlyweight.KEY_COUNT_OFFSET);
    this.prefix = (FrameDescriptor.flags(frame, at) & Opcode.FLAG_GET_PREFIX) != 0;
    this.misses = new long[BatchDoneFlyweight.missWords(keyCount)];
  }

  /** Whether the stream runs on the event loop (memory hits only) rather than a store thread. */
  boolean onLoop() {
    return onLoop;
  }

  @Override
  public void run() {
    boolean loop = onLoop;
    try {
      while (next < keyCount) {
        if (!channel.isActive()) {
          handler.completeLater(request, null); // nobody to answer; release the request
          return;
        }
        if (queuedBytes.get() >= MAX_QUEUED_BYTES) {
          flushIf(loop);
          if (park()) {
            return;
          }
          continue;
        }
        if (!channel.isWritable()) {
          flushIf(loop);
          handler.resumeWhenWritable(this);
          return;
        }
        int i = next;
        if (stopped) {
          next++;
          miss(i);
          continue;
        }
        int keyAt = frame.readerIndex() + KeyBatchFlyweight.KEYS_OFFSET + KeyBatchFlyweight.KEY_LENGTH * i;
        long hi = frame.getLongLE(keyAt);
        long lo = frame.getLongLE(keyAt + 8);
        PinnedPage page;
        if (loop) {
          page = store.pinIfInMemory(hi, lo);
          if (page == null && store.length(hi, lo) >= 0) {
            // Stored but not pinnable in memory (on SSD): this key and the rest go to a store
            // thread, which may read the SSD and promote.
            onLoop = false;
            flushIf(true);
            handler.resume(this);
            return;
          }
        } else {
          if (store.ownership(hi, lo, namespaceId) != TieredStore.OWN) {
            next++;
            miss(i); // absent, or another namespace's: not read, not copied, not promoted
            continue;
          }
          page = store.getPinned(hi, lo);
        }
        next++;
        if (page == null) {
          if (loop || !copyAndSend(i, hi, lo)) {
            miss(i);
          }
          continue;
        }
        if (!sendable(page.buffer())) {
          page.close();
          miss(i);
          continue;
        }
        send(i, page, loop);
      }
      ByteBuf done = BatchDoneFlyweight.encode(
          channel.alloc(), Opcode.GET_DONE, request.requestId, keyCount, misses);
      if (loop) {
        handler.complete(request, done); // writes and flushes every page written before it
      } else {
        handler.completeLater(request, done);
      }
    } catch (RuntimeException e) {
      int code = Errors.codeOf(e);
      handler.failLater(request, code, "GET failed in the daemon: " + ErrorCode.name(code) + ": "
          + e.getMessage());
    } catch (InternalError e) {
      // A fault in the region's memory that the JVM raised past the copy's own catch (it raises
      // it where it notices it): the region takes no more pages, this GET fails, and the thread
      // (an event loop or a store thread) lives on.
      if (region != null) {
        region.fault(e);
      }
      handler.failLater(request, ErrorCode.INTERNAL, "GET failed in the daemon: a fault in the"
          + " connection's shared-memory region (" + e.getMessage() + "); retry: its pages now"
          + " come inline");
    }
  }

  /** On the event loop, pages are written without a flush each: flush before stopping. */
  private void flushIf(boolean loop) {
    if (loop) {
      unflushedRegionBytes = 0;
      channel.flush();
    }
  }

  /** Fails the GET (after the executor refused to resume it). */
  void abort(int code, String message) {
    handler.failLater(request, code, message);
  }

  private boolean sendable(ByteBuffer page) {
    return PageFormat.namespaceId(page, 0) == namespaceId
        && GetPageFlyweight.frameLength(page.remaining()) <= clientMaxFrame;
  }

  private void miss(int i) {
    misses[i >>> 6] |= 1L << i;
    if (prefix) {
      stopped = true; // every later key is a miss without a lookup (spec §3.4.1 PREFIX)
    }
  }

  private void send(int keyIndex, PinnedPage page, boolean loop) {
    if (region != null && sendThroughRegion(keyIndex, page.buffer(), loop, page)) {
      return;
    }
    ByteBuf frameOut;
    int length;
    try {
      ByteBuf body = Unpooled.wrappedBuffer(page.buffer());
      length = body.readableBytes();
      // One message (prefix + page as a two-part composite, nothing copied): writes from several
      // executor threads to one channel may interleave between messages, never inside one.
      frameOut = GetPageFlyweight.encode(channel.alloc(), request.requestId, keyIndex, body);
    } catch (RuntimeException e) {
      page.close(); // not handed to a write: nobody else will unpin it
      throw e;
    }
    queuedBytes.addAndGet(length);
    ChannelPromise written = channel.newPromise();
    written.addListener(f -> {
      page.close();
      onWritten(length);
    });
    if (loop) {
      channel.write(frameOut, written); // flushed once, with GET_DONE or before the stream stops
    } else {
      channel.writeAndFlush(frameOut, written);
    }
  }

  /**
   * Copies the page once into a lease of the connection's region and sends its descriptor
   * (spec/4 §4.3); false when the GET area has no free run (the caller sends the page inline).
   * Closes {@code pin} (if any) once the page is copied.
   */
  private boolean sendThroughRegion(int keyIndex, ByteBuffer page, boolean loop, PinnedPage pin) {
    long lease;
    int length = page.remaining();
    try {
      lease = region.leaseAndCopy(page.duplicate()); // -1 if its copy faulted: the page goes inline
    } catch (RuntimeException e) {
      if (pin != null) {
        pin.close();
      }
      throw e;
    }
    if (lease < 0) {
      return false;
    }
    if (pin != null) {
      pin.close(); // copied: the tier memory is free to move
    }
    ByteBuf out = ShmFrames.encodeGetPage(channel.alloc(), request.requestId, keyIndex,
        ServerRegion.offsetOf(lease), length, ServerRegion.generationOf(lease));
    if (!loop) {
      channel.writeAndFlush(out, channel.voidPromise());
    } else if ((unflushedRegionBytes += length) >= REGION_FLUSH_BYTES) {
      unflushedRegionBytes = 0;
      channel.writeAndFlush(out, channel.voidPromise());
    } else {
      channel.write(out, channel.voidPromise());
    }
    return true;
  }

  /**
   * The page could not be pinned: the store has no memory tier to promote an SSD page into, or
   * every frame there is pinned. Copies it from its tier into a direct buffer (one copy, off-heap)
   * and sends that; returns false on a miss.
   */
  private boolean copyAndSend(int keyIndex, long hi, long lo) {
    int length = store.length(hi, lo);
    if (length < 0 || GetPageFlyweight.frameLength(length) > clientMaxFrame) {
      return false;
    }
    ByteBuf body = channel.alloc().directBuffer(length);
    boolean sent = false;
    try {
      ByteBuffer dst = body.nioBuffer(0, length);
      int n = store.get(hi, lo, dst);
      if (n < 0 || !sendable(dst.flip())) {
        return false;
      }
      if (region != null && sendThroughRegion(keyIndex, dst, false, null)) {
        return true; // body released below
      }
      body.writerIndex(n);
      ByteBuf frameOut = GetPageFlyweight.encode(channel.alloc(), request.requestId, keyIndex, body);
      sent = true;
      queuedBytes.addAndGet(n);
      ChannelPromise written = channel.newPromise();
      written.addListener(f -> onWritten(n));
      channel.writeAndFlush(frameOut, written);
      return true;
    } catch (IllegalArgumentException e) {
      return false; // replaced by a longer page between length() and get(): a miss this time
    } finally {
      if (!sent) {
        body.release();
      }
    }
  }

  /** Parks the stream; returns false if it was resumed at once and should go on in this thread. */
  private boolean park() {
    parked.set(true);
    if (queuedBytes.get() >= MAX_QUEUED_BYTES) {
      return true; // onWritten resumes it
    }
    // The queue drained between the check and the park: unpark ourselves unless a listener did.
    return !parked.compareAndSet(true, false);
  }

  private void onWritten(long bytes) {
    if (queuedBytes.addAndGet(-bytes) < MAX_QUEUED_BYTES && parked.compareAndSet(true, false)) {
      handler.resume(this);
    }
  }
}
