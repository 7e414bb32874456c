package io.kvstore.client;

import io.kvstore.client.protocol.BatchDoneFlyweight;
import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.client.protocol.GetPageFlyweight;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.client.shm.ShmFrames;
import io.kvstore.common.PageFormat;
import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.util.Set;

/**
 * GET whose pages are lent to the caller in place as {@link PageViews}: a page in the region is
 * viewed where the daemon copied it (its lease kept for the views), a page from the socket is
 * viewed in the received frame (a retained slice). Each is checked in place (key, and both CRCs
 * unless turned off) before it becomes a view; one that fails is an error for its key, and its
 * lease goes back at once. If the GET fails or is abandoned, whatever it had kept goes back.
 */
final class GetViewsRequest extends Requests.ShmGet<PageViews> {
  private final boolean verifyChecksums;
  private final Set<PageViews> openViews;
  private final ByteBuffer[] views;
  private int[] errors;
  private long[] leases;
  private int leaseCount;
  private ByteBuf[] frames;
  private int pagesReceived;
  private int found;
  /** The views were handed to the caller (so their leases and frames are theirs to release). */
  private boolean handedOver;

  /**
   * @param openViews where the result is kept until closed, so that the client can close it on
   *     {@link KvStoreClient#close()}
   */
  GetViewsRequest(long[] keys, boolean prefix, boolean verifyChecksums, Set<PageViews> openViews,
      long timeoutNanos) {
    super(prefix ? Opcode.FLAG_GET_PREFIX : 0, keys, timeoutNanos);
    this.verifyChecksums = verifyChecksums;
    this.openViews = openViews;
    this.views = new ByteBuffer[keyCount];
  }

  @Override
  boolean isFinal(int responseOpcode) {
    return responseOpcode != Opcode.GET_PAGE;
  }

  @Override
  boolean onFrame(ByteBuf frame, int opcode, ResponseFlyweights fw) {
    if (opcode == Opcode.GET_PAGE) {
      if ((FrameDescriptor.flags(frame, frame.readerIndex()) & Opcode.FLAG_GET_PAGE_SHM) != 0) {
        onRegionPage(frame);
      } else {
        onInlinePage(frame, fw.getPage);
      }
      return false;
    }
    Requests.expect(opcode, Opcode.GET_DONE);
    BatchDoneFlyweight done = done(frame, fw);
    if (done.hitCount() != pagesReceived) {
      throw PendingRequest.violation("GET_DONE with " + done.hitCount() + " hits after "
          + pagesReceived + " pages");
    }
    PageViews result = new PageViews(views, errors, found, leases, leaseCount, frames,
        leaseCount > 0 ? shm : null, openViews);
    handedOver = true;
    complete(result);
    return true;
  }

  private void checkIndex(int i) {
    if (i < 0 || i >= keyCount) {
      throw PendingRequest.violation("GET_PAGE for key index " + i + " of " + keyCount);
    }
    if (views[i] != null || (errors != null && errors[i] != ErrorCode.OK)) {
      throw PendingRequest.violation("a second GET_PAGE for key index " + i);
    }
  }

  /** Records why key {@code i}'s page was refused (no view for it). */
  private void refuse(int i, int pageCheck) {
    if (errors == null) {
      errors = new int[keyCount];
    }
    errors[i] = PageViews.errorOf(pageCheck);
  }

  /** Checks a page in place: key, then (optionally) both CRCs; a PageFormat result code. */
  private int check(ByteBuffer page, int i) {
    int length = page.remaining();
    if (length < PageFormat.HEADER_LENGTH) {
      return PageFormat.ERR_TOO_SHORT;
    }
    if (verifyChecksums) {
      int verdict = PageFormat.verify(page, 0, length);
      if (verdict != PageFormat.OK) {
        return verdict;
      }
    }
    if (PageFormat.keyHi(page, 0) != keys[2 * i] || PageFormat.keyLo(page, 0) != keys[2 * i + 1]) {
      return PageViews.WRONG_KEY;
    }
    return PageFormat.OK;
  }

  /** A page from the socket: viewed in the frame it came in, which the view keeps retained. */
  private void onInlinePage(ByteBuf frame, GetPageFlyweight page) {
    page.wrap(frame);
    int i = page.keyIndex();
    checkIndex(i);
    pagesReceived++;
    int length = page.pageLength();
    ByteBuf slice = frame.retainedSlice(page.pageIndex(), length);
    boolean kept = false;
    try {
      ByteBuffer view = slice.nioBuffer().asReadOnlyBuffer();
      int verdict = check(view, i);
      if (verdict != PageFormat.OK) {
        refuse(i, verdict);
        return;
      }
      if (frames == null) {
        frames = new ByteBuf[keyCount];
      }
      frames[i] = slice;
      views[i] = view;
      found++;
      kept = true;
    } finally {
      if (!kept) {
        slice.release();
      }
    }
  }

  /**
   * A page the daemon copied into the region (spec/4 §4.3): the descriptor is bounds-checked and
   * the page checked in place; its lease stays with the view, or goes back at once if the page is
   * refused or the descriptor is bad.
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
    if (!shm.region.inGetArea(offset, length) || length < PageFormat.HEADER_LENGTH
        || i < 0 || i >= keyCount || views[i] != null
        || (errors != null && errors[i] != ErrorCode.OK)) {
      shm.leaseSeen(offset, length, generation); // not kept by anyone: back with this read
      if (!shm.region.inGetArea(offset, length) || length < PageFormat.HEADER_LENGTH) {
        throw PendingRequest.violation("GET_PAGE descriptor [" + offset + ", +" + length
            + ") outside the region's GET area");
      }
      checkIndex(i);
    }
    pagesReceived++;
    ByteBuffer view = shm.region.view(offset, (int) length);
    int verdict = check(view, i);
    if (verdict != PageFormat.OK) {
      shm.leaseSeen(offset, length, generation);
      shm.region.viewsReturned(1);
      refuse(i, verdict);
      return;
    }
    if (leases == null) {
      leases = new long[2 * keyCount];
    }
    leases[2 * i] = offset;
    leases[2 * i + 1] = ((long) generation << 32) | length;
    leaseCount++;
    views[i] = view;
    found++;
  }

  /** The GET failed or was abandoned: what it kept for views that will never be handed out goes back. */
  @Override
  void onDelivered() {
    long[] keptLeases;
    int keptCount;
    ByteBuf[] keptFrames;
    ClientShm region;
    synchronized (this) {
      if (handedOver) {
        return;
      }
      keptLeases = leases;
      keptCount = leaseCount;
      keptFrames = frames;
      region = shm;
      leases = null;
      leaseCount = 0;
      frames = null;
    }
    if (keptCount > 0 && region != null) {
      long[] packed = new long[2 * keptCount];
      int n = 0;
      for (int i = 0; i < keyCount; i++) {
        if (keptLeases[2 * i + 1] != 0) {
          packed[2 * n] = keptLeases[2 * i];
          packed[2 * n + 1] = keptLeases[2 * i + 1];
          n++;
        }
      }
      region.releaseLater(packed, n);
    }
    if (keptFrames != null) {
      for (ByteBuf f : keptFrames) {
        if (f != null) {
          f.release();
        }
      }
    }
  }
}
