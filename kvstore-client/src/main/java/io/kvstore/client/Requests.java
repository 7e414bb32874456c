package io.kvstore.client;

import io.kvstore.client.shm.ClientRegion;
import io.kvstore.client.shm.ShmFrames;
import io.kvstore.client.protocol.BatchDoneFlyweight;
import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.client.protocol.GetPageFlyweight;
import io.kvstore.client.protocol.HelloFlyweight;
import io.kvstore.client.protocol.HelloOkFlyweight;
import io.kvstore.client.protocol.KeyBatchFlyweight;
import io.kvstore.client.protocol.LookupOkFlyweight;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.client.protocol.PingFlyweight;
import io.kvstore.client.protocol.PutFlyweight;
import io.kvstore.client.protocol.PutOkFlyweight;
import io.kvstore.client.protocol.StatsFlyweight;
import io.kvstore.common.PageFormat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.Arrays;

/** The request types of {@code spec/3-wire-protocol.md}, each reading its own responses. */
final class Requests {

  private Requests() {}

  /** Fails with a protocol violation unless the response opcode is {@code expected}. */
  static void expect(int opcode, int expected) {
    if (opcode != expected) {
      throw PendingRequest.violation(
          Opcode.name(opcode) + " where " + Opcode.name(expected) + " was expected");
    }
  }

  /** HELLO → the daemon's limits. */
  static final class Hello extends PendingRequest<ServerLimits> {
    private final int clientMaxFrameLength;
    private final long namespaceId;
    private final byte[] authToken;

    Hello(int clientMaxFrameLength, long namespaceId, byte[] authToken, long timeoutNanos) {
      super(Opcode.HELLO, timeoutNanos);
      this.clientMaxFrameLength = clientMaxFrameLength;
      this.namespaceId = namespaceId;
      this.authToken = authToken;
    }

    @Override
    ByteBuf encode(ByteBufAllocator alloc, long requestId) {
      return HelloFlyweight.encode(
          alloc,
          requestId,
          FrameDescriptor.MIN_PROTOCOL_VERSION,
          FrameDescriptor.PROTOCOL_VERSION,
          clientMaxFrameLength,
          namespaceId,
          authToken);
    }

    @Override
    long inFlightBytes() {
      return HelloFlyweight.TOKEN_OFFSET + authToken.length;
    }

    @Override
    boolean onFrame(ByteBuf frame, int opcode, ResponseFlyweights fw) {
      expect(opcode, Opcode.HELLO_OK);
      HelloOkFlyweight ok = fw.helloOk;
      ok.wrap(frame);
      if (ok.version() < FrameDescriptor.MIN_PROTOCOL_VERSION
          || ok.version() > FrameDescriptor.PROTOCOL_VERSION) {
        throw PendingRequest.violation("HELLO_OK with version " + ok.version()
            + ", outside the offered range " + FrameDescriptor.MIN_PROTOCOL_VERSION + " to "
            + FrameDescriptor.PROTOCOL_VERSION);
      }
      complete(new ServerLimits(ok.version(), ok.maxFrameLength(), ok.maxBatch(),
          ok.maxPageLength(), ok.maxInFlightBytes(), ok.connectionId()));
      return true;
    }
  }

  /** PING → round-trip time in nanoseconds. */
  static final class Ping extends PendingRequest<Long> {
    Ping(long timeoutNanos) {
      super(Opcode.PING, timeoutNanos);
    }

    @Override
    ByteBuf encode(ByteBufAllocator alloc, long requestId) {
      return PingFlyweight.encode(alloc, Opcode.PING, requestId, System.nanoTime());
    }

    @Override
    long inFlightBytes() {
      return PingFlyweight.LENGTH;
    }

    @Override
    boolean onFrame(ByteBuf frame, int opcode, ResponseFlyweights fw) {
      expect(opcode, Opcode.PONG);
      fw.pong.wrap(frame);
      complete(System.nanoTime() - fw.pong.payload());
      return true;
    }
  }

  /** Base of the key-batch requests: the keys are (hi, lo) pairs, all of {@code keys}. */
  abstract static class KeyBatch<T> extends PendingRequest<T> {
    final long[] keys;
    final int keyCount;
    final int flags;
    private final int argument;

    KeyBatch(int opcode, int flags, long[] keys, int argument, long timeoutNanos) {
      super(opcode, timeoutNanos);
      this.keys = keys;
      this.keyCount = keys.length / 2;
      this.flags = flags;
      this.argument = argument;
    }

    @Override
    ByteBuf encode(ByteBufAllocator alloc, long requestId) {
      return KeyBatchFlyweight.encode(alloc, opcode, flags, requestId, keys, 0, keyCount, argument);
    }

    @Override
    long inFlightBytes() {
      return KeyBatchFlyweight.frameLength(keyCount);
    }

    /** Checks a batch-done frame answers this many keys; returns the wrapped flyweight. */
    BatchDoneFlyweight done(ByteBuf frame, ResponseFlyweights fw) {
      BatchDoneFlyweight done = fw.batchDone;
      done.wrap(frame);
      if (done.keyCount() != keyCount) {
        throw PendingRequest.violation(Opcode.name(done.opcode()) + " for " + done.keyCount()
            + " keys in answer to " + keyCount);
      }
      return done;
    }
  }

  /**
   * Base of the GETs that may take their pages through the connection's shared region (spec/4):
   * asks for that when the connection has one, and keeps which region the pages will be in.
   */
  abstract static class ShmGet<T> extends KeyBatch<T> {
    /** The connection's region when this GET asked for pages through it (set by encode). */
    ClientShm shm;

    ShmGet(int flags, long[] keys, long timeoutNanos) {
      super(Opcode.GET, flags, keys, 0, timeoutNanos);
    }

    @Override
    ByteBuf encode(ByteBufAllocator alloc, long requestId) {
      shm = attachedShm();
      if (shm == null) {
        return super.encode(alloc, requestId);
      }
      return KeyBatchFlyweight.encode(alloc, opcode, flags | Opcode.FLAG_GET_SHM, requestId, keys,
          0, keyCount, 0);
    }
  }

  /** LOOKUP → leading run and its tiers. */
  static final class Lookup extends KeyBatch<LookupResult> {
    Lookup(long[] keys, long timeoutNanos) {
      super(Opcode.LOOKUP, 0, keys, 0, timeoutNanos);
    }

    @Override
    boolean onFrame(ByteBuf frame, int opcode, ResponseFlyweights fw) {
      expect(opcode, Opcode.LOOKUP_OK);
      LookupOkFlyweight ok = fw.lookupOk;
      ok.wrap(frame);
      int run = ok.runLength();
      if (run < 0 || run > keyCount) {
        throw PendingRequest.violation("LOOKUP_OK run " + run + " of " + keyCount + " keys");
      }
      int[] tiers = new int[ok.tierCount()];
      long sum = 0;
      for (int i = 0; i < tiers.length; i++) {
        tiers[i] = ok.tierBlocks(i);
        sum += tiers[i];
      }
      if (sum != run) {
        throw PendingRequest.violation("LOOKUP_OK tier counts " + Arrays.toString(tiers)
            + " that do not add up to the run " + run);
      }
      complete(new LookupResult(run, tiers));
      return true;
    }
  }

  /**
   * GET → pages copied into the caller's buffers, one copy from the socket buffer; each page is
   * checked against its key and (optionally) its CRCs, and a page that fails is a miss.
   */
  static final class Get extends ShmGet<GetResult> {
    private final ByteBuffer[] dsts;
    private final boolean verifyChecksums;
    private final int[] lengths;
    private int pagesReceived;
    private int found;
    Get(long[] keys, ByteBuffer[] dsts, boolean prefix, boolean verifyChecksums, long timeoutNanos) {
      super(prefix ? Opcode.FLAG_GET_PREFIX : 0, keys, timeoutNanos);
      this.dsts = dsts;
      this.verifyChecksums = verifyChecksums;
      this.lengths = new int[keyCount];
      Arrays.fill(lengths, GetResult.MISS);
    }

    @Override
    boolean isFinal(int responseOpcode) {
      return responseOpcode != Opcode.GET_PAGE;
    }

    @Override
    boolean onFrame(ByteBuf frame, int opcode, ResponseFlyweights fw) {
      if (opcode == Opcode.GET_PAGE) {
        onPage(frame, fw.getPage);
        return false;
      }
      expect(opcode, Opcode.GET_DONE);
      BatchDoneFlyweight done = done(frame, fw);
      if (done.hitCount() != pagesReceived) {
        throw PendingRequest.violation("GET_DONE with " + done.hitCount() + " hits after "
            + pagesReceived + " pages");
      }
      complete(new GetResult(lengths, found));
      return true;
    }

    /** Runs under the request's monitor, only while it is not settled (see {@link PendingRequest}). */
    private void onPage(ByteBuf frame, GetPageFlyweight page) {
      if ((FrameDescriptor.flags(frame, frame.readerIndex()) & Opcode.FLAG_GET_PAGE_SHM) != 0) {
        onRegionPage(frame);
        return;
      }
      page.wrap(frame);
      int i = page.keyIndex();
      if (i < 0 || i >= keyCount) {
        throw PendingRequest.violation("GET_PAGE for key index " + i + " of " + keyCount);
      }
      if (lengths[i] != GetResult.MISS) {
        throw PendingRequest.violation("a second GET_PAGE for key index " + i);
      }
      pagesReceived++;
      if (page.pageKeyHi() != keys[2 * i] || page.pageKeyLo() != keys[2 * i + 1]) {
        return; // not the requested key: a miss, never returned
      }
      int length = page.pageLength();
      ByteBuffer dst = dsts[i];
      int position = dst.position();
      int limit = dst.limit();
      if (length > limit - position) {
        throw new KvStoreException(ErrorCode.PAGE_TOO_LARGE, "page for key index " + i + " is "
            + length + " bytes, its buffer has " + (limit - position) + " bytes remaining");
      }
      // One copy, frame buffer to the caller's buffer, checked as it goes (position and limit of
      // dst are not moved).
      if (PageCopy.copyAndVerify(frame, page.pageIndex(), dst, position, length, verifyChecksums)
          != PageFormat.OK) {
        return; // corrupted on the way: a miss
      }
      lengths[i] = length;
      found++;
    }

    /**
     * Where the page of a TCP GET_PAGE for key {@code i}, {@code length} bytes, may be read
     * straight from the socket by a caller-driven connection ({@link SyncConnection}): a view of
     * the caller's buffer at its position, or null when the page cannot go there (an index out of
     * range, a second page for the key, a page too large for its buffer, too short to be a page):
     * then the frame is read whole and handled by {@link #onFrame}, which reports what was wrong.
     * Under the monitor, only while the request is not settled.
     */
    ByteBuffer pageTarget(int i, int length) {
      if (i < 0 || i >= keyCount || lengths[i] != GetResult.MISS
          || length < PageFormat.HEADER_LENGTH) {
        return null;
      }
      ByteBuffer dst = dsts[i];
      int position = dst.position();
      if (length > dst.limit() - position) {
        return null;
      }
      ByteBuffer view = dst.duplicate();
      view.limit(position + length).position(position);
      return view;
    }

    /**
     * The page of key {@code i} has been read into {@link #pageTarget}'s view: it is checked in
     * place (key, and both CRCs unless checks are off) and counted; a page that fails is a miss.
     * Under the monitor, only while the request is not settled.
     */
    void pageLanded(int i, int length) {
      pagesReceived++;
      ByteBuffer dst = dsts[i];
      int position = dst.position();
      if (verifyChecksums && PageFormat.verify(dst, position, length) != PageFormat.OK) {
        return; // corrupted on the way: a miss
      }
      if (PageFormat.keyHi(dst, position) != keys[2 * i]
          || PageFormat.keyLo(dst, position) != keys[2 * i + 1]) {
        return; // not the requested key: a miss, never returned
      }
      lengths[i] = length;
      found++;
    }

    /**
     * A page the daemon copied into the region (spec/4 §4.3): the lease is recorded for release
     * first (whatever follows), the descriptor is bounds-checked, the page copied once into the
     * caller's buffer and checked there exactly as a page from the socket.
     */
    private void onRegionPage(ByteBuf frame) {
      int at = frame.readerIndex();
      int i = frame.getIntLE(at + ShmFrames.PAGE_KEY_INDEX_OFFSET);
      long offset = frame.getLongLE(at + ShmFrames.PAGE_REGION_OFFSET);
      long length = frame.getUnsignedIntLE(at + ShmFrames.PAGE_LENGTH_OFFSET);
      int generation = frame.getIntLE(at + ShmFrames.PAGE_GENERATION_OFFSET);
      if (shm == null) {
        throw PendingRequest.violation("a shared-memory GET_PAGE for a GET sent over TCP");
      }
      shm.leaseSeen(offset, length, generation);
      if (!shm.region.inGetArea(offset, length) || length < PageFormat.HEADER_LENGTH) {
        throw PendingRequest.violation("GET_PAGE descriptor [" + offset + ", +" + length
            + ") outside the region's GET area");
      }
      if (i < 0 || i >= keyCount) {
        throw PendingRequest.violation("GET_PAGE for key index " + i + " of " + keyCount);
      }
      if (lengths[i] != GetResult.MISS) {
        throw PendingRequest.violation("a second GET_PAGE for key index " + i);
      }
      pagesReceived++;
      ByteBuffer dst = dsts[i];
      int position = dst.position();
      if (length > dst.limit() - position) {
        throw new KvStoreException(ErrorCode.PAGE_TOO_LARGE, "page for key index " + i + " is "
            + length + " bytes, its buffer has " + (dst.limit() - position) + " bytes remaining");
      }
      int n = (int) length;
      shm.region.copyOut(offset, n, dst, position); // the one copy: region to caller's buffer
      if (PageFormat.keyHi(dst, position) != keys[2 * i]
          || PageFormat.keyLo(dst, position) != keys[2 * i + 1]) {
        return; // not the requested key: a miss, never returned
      }
      if (verifyChecksums && PageFormat.verify(dst, position, n) != PageFormat.OK) {
        return; // a miss
      }
      lengths[i] = n;
      found++;
    }
  }

  /** The daemon's offer of a region: its file and length. */
  record ShmOffer(String path, long length) {}

  /** SHM_OPEN → the region file to map (spec/4 §4.1). */
  static final class ShmOpen extends PendingRequest<ShmOffer> {
    ShmOpen(long timeoutNanos) {
      super(Opcode.SHM_OPEN, timeoutNanos);
    }

    @Override
    ByteBuf encode(ByteBufAllocator alloc, long requestId) {
      return ShmFrames.encodeOpen(alloc, requestId, 0);
    }

    @Override
    long inFlightBytes() {
      return ShmFrames.OPEN_LENGTH;
    }

    @Override
    boolean onFrame(ByteBuf frame, int opcode, ResponseFlyweights fw) {
      expect(opcode, Opcode.SHM_OPEN_OK);
      int at = frame.readerIndex();
      complete(new ShmOffer(ShmFrames.path(frame, at),
          frame.getLongLE(at + ShmFrames.OPEN_OK_REGION_LENGTH_OFFSET)));
      return true;
    }
  }

  /** SHM_ATTACH: echoes the region's nonce (spec/4 §4.1). */
  static final class ShmAttach extends PendingRequest<Boolean> {
    private final byte[] nonce;

    ShmAttach(byte[] nonce, long timeoutNanos) {
      super(Opcode.SHM_ATTACH, timeoutNanos);
      this.nonce = nonce;
    }

    @Override
    ByteBuf encode(ByteBufAllocator alloc, long requestId) {
      return ShmFrames.encodeAttach(alloc, requestId, nonce);
    }

    @Override
    long inFlightBytes() {
      return ShmFrames.ATTACH_LENGTH;
    }

    @Override
    boolean onFrame(ByteBuf frame, int opcode, ResponseFlyweights fw) {
      expect(opcode, Opcode.SHM_ATTACH_OK);
      complete(Boolean.TRUE);
      return true;
    }
  }

  /** SHM_RELEASE of GET leases → how many the daemon released (spec/4 §4.3). */
  static final class ShmRelease extends PendingRequest<Integer> {
    private final long[] descriptors;
    private final int count;

    ShmRelease(long[] descriptors, int count, long timeoutNanos) {
      super(Opcode.SHM_RELEASE, timeoutNanos);
      this.descriptors = descriptors;
      this.count = count;
    }

    @Override
    ByteBuf encode(ByteBufAllocator alloc, long requestId) {
      return ShmFrames.encodeRelease(alloc, requestId, descriptors, count);
    }

    @Override
    long inFlightBytes() {
      return ShmFrames.DESCRIPTORS_OFFSET + (long) ShmFrames.DESCRIPTOR_LENGTH * count;
    }

    @Override
    boolean onFrame(ByteBuf frame, int opcode, ResponseFlyweights fw) {
      expect(opcode, Opcode.SHM_RELEASE_OK);
      complete(frame.getIntLE(frame.readerIndex() + ShmFrames.RELEASED_OFFSET));
      return true;
    }
  }

  /** PREFETCH → keys in memory at the end. */
  static final class Prefetch extends KeyBatch<Integer> {
    Prefetch(long[] keys, int deadlineMs, long timeoutNanos) {
      super(Opcode.PREFETCH, 0, keys, deadlineMs, timeoutNanos);
    }

    @Override
    boolean onFrame(ByteBuf frame, int opcode, ResponseFlyweights fw) {
      expect(opcode, Opcode.PREFETCH_OK);
      fw.prefetchOk.wrap(frame);
      if (fw.prefetchOk.keyCount() != keyCount) {
        throw PendingRequest.violation("PREFETCH_OK for " + fw.prefetchOk.keyCount() + " keys");
      }
      complete(fw.prefetchOk.promotedCount());
      return true;
    }
  }

  /** DELETE → keys deleted. */
  static final class Delete extends KeyBatch<Integer> {
    Delete(long[] keys, long timeoutNanos) {
      super(Opcode.DELETE, 0, keys, 0, timeoutNanos);
    }

    @Override
    boolean onFrame(ByteBuf frame, int opcode, ResponseFlyweights fw) {
      expect(opcode, Opcode.DELETE_OK);
      complete(done(frame, fw).hitCount());
      return true;
    }
  }

  /** STATS → the daemon's counters as text. */
  static final class Stats extends PendingRequest<String> {
    Stats(long timeoutNanos) {
      super(Opcode.STATS, timeoutNanos);
    }

    @Override
    ByteBuf encode(ByteBufAllocator alloc, long requestId) {
      return StatsFlyweight.encodeRequest(alloc, requestId);
    }

    @Override
    long inFlightBytes() {
      return FrameDescriptor.HEADER_LENGTH;
    }

    @Override
    boolean onFrame(ByteBuf frame, int opcode, ResponseFlyweights fw) {
      expect(opcode, Opcode.STATS_OK);
      fw.statsOk.wrap(frame);
      complete(fw.statsOk.text());
      return true;
    }
  }

  /**
   * PUT of pages {@code [from, from + count)} → their statuses. Pages are either whole pages
   * ({@code headers == null}) or a header from {@code headers} plus a payload.
   */
  static final class Put extends PendingRequest<int[]> {
    private final ByteBuffer[] buffers;
    private final byte[] headers;
    private final int headersOffset;
    private final int from;
    private final int count;
    private final long frameLength;
    // Set by encode (under the monitor).
    private boolean viaTcp;
    private ClientRegion region;
    private long[] regionOffsets;
    private int[] regionLengths;

    Put(ByteBuffer[] pages, int from, int count, long frameLength, long timeoutNanos) {
      this(pages, null, 0, from, count, frameLength, timeoutNanos);
    }

    Put(ByteBuffer[] buffers, byte[] headers, int headersOffset, int from, int count,
        long frameLength, long timeoutNanos) {
      super(Opcode.PUT, timeoutNanos);
      this.buffers = buffers;
      this.headers = headers;
      this.headersOffset = headersOffset;
      this.from = from;
      this.count = count;
      this.frameLength = frameLength;
    }

    @Override
    ByteBuf encode(ByteBufAllocator alloc, long requestId) {
      ClientShm shm = attachedShm();
      if (shm != null) {
        ByteBuf viaRegion = encodeThroughRegion(alloc, requestId, shm.region);
        if (viaRegion != null) {
          return viaRegion;
        }
      }
      viaTcp = true;
      return headers == null
          ? PutFlyweight.encode(alloc, requestId, buffers, from, count)
          : PutFlyweight.encode(alloc, requestId, headers, headersOffset, buffers, from, count);
    }

    /**
     * Over TCP the frame wraps the caller's pages: the future waits for Netty to finish writing
     * them. Through the region they were copied while encoding.
     */
    @Override
    boolean wrapsCallerBuffers() {
      return viaTcp;
    }

    /**
     * Copies every page into room reserved in the region's PUT area and encodes descriptors
     * (spec/4 §4.4); null when the area has no room for the whole batch (nothing kept reserved).
     */
    private ByteBuf encodeThroughRegion(ByteBufAllocator alloc, long requestId, ClientRegion r) {
      long[] offs = new long[count];
      int[] lens = new int[count];
      for (int i = 0; i < count; i++) {
        ByteBuffer b = buffers[from + i];
        lens[i] = headers == null ? b.remaining() : PageFormat.HEADER_LENGTH + b.remaining();
        offs[i] = r.allocatePut(lens[i]);
        if (offs[i] < 0) {
          for (int j = 0; j < i; j++) {
            r.freePut(offs[j], lens[j]);
          }
          return null;
        }
      }
      // The daemon reads descriptors in increasing offset order only (spec/4 §4.4): allocation
      // order is not always offset order (the allocator wraps), so check and fall back to TCP.
      for (int i = 1; i < count; i++) {
        if (offs[i] < offs[i - 1] + lens[i - 1]) {
          for (int j = 0; j < count; j++) {
            r.freePut(offs[j], lens[j]);
          }
          return null;
        }
      }
      // Held from now on, until the answer is delivered, or given back below.
      region = r;
      regionOffsets = offs;
      regionLengths = lens;
      boolean copied = true;
      try {
        for (int i = 0; i < count && copied; i++) {
          ByteBuffer b = buffers[from + i];
          copied = r.copyIn(offs[i], headers, headersOffset + PageFormat.HEADER_LENGTH * i,
              PageFormat.HEADER_LENGTH, b);
        }
      } catch (RuntimeException e) {
        releaseRoom(); // the request fails with e; its room goes back now
        throw e;
      }
      if (!copied) {
        releaseRoom(); // the region's memory faulted (copyIn caught it): this PUT goes over TCP
        return null;
      }
      return ShmFrames.encodePut(alloc, requestId, offs, lens, 0, count);
    }

    /**
     * Gives back the room this PUT holds in the region's PUT area, once: when its answer is
     * delivered, or when its encode fails or falls back to TCP.
     */
    private void releaseRoom() {
      ClientRegion r;
      synchronized (this) {
        r = region;
        region = null;
      }
      if (r != null) {
        for (int i = 0; i < count; i++) {
          r.freePut(regionOffsets[i], regionLengths[i]);
        }
      }
    }

    @Override
    void onDelivered() {
      releaseRoom();
    }

    @Override
    long inFlightBytes() {
      return frameLength;
    }

    @Override
    boolean onFrame(ByteBuf frame, int opcode, ResponseFlyweights fw) {
      expect(opcode, Opcode.PUT_OK);
      PutOkFlyweight ok = fw.putOk;
      ok.wrap(frame);
      if (ok.pageCount() != count) {
        throw PendingRequest.violation("PUT_OK for " + ok.pageCount() + " pages of " + count);
      }
      int[] statuses = new int[count];
      for (int i = 0; i < count; i++) {
        statuses[i] = ok.status(i);
      }
      complete(statuses);
      return true;
    }
  }
}
