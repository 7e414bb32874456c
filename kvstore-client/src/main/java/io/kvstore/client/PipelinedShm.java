package io.kvstore.client;

import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.client.shm.ClientRegion;
import io.kvstore.client.shm.ShmFrames;
import io.netty.buffer.ByteBuf;
import java.util.Arrays;
import java.util.concurrent.RejectedExecutionException;

/**
 * A pipelined connection's attached shared region and the GET leases waiting to be given back
 * ({@code spec/4-shared-memory.md} §4.3). Every lease the daemon names in a GET_PAGE is recorded
 * here as soon as its frame is read, whether the GET uses the page, rejects it, or was already
 * settled (a late frame); after each socket read the recorded leases go back in one SHM_RELEASE.
 * So no lease outlives the read that delivered it by more than one round trip, whatever happened
 * to its request, except the leases lent to the caller as {@link PageViews}: those are kept by
 * the views and come back through {@link #releaseLater} when the caller closes them (or when the
 * GET that received them fails). Confined to the connection's event loop, but for {@link
 * #releaseLater}.
 */
final class PipelinedShm extends ClientShm {

  private static final System.Logger LOG = System.getLogger(PipelinedShm.class.getName());

  private final Connection connection;
  private final long timeoutNanos;
  private long[] pending = new long[32];
  private int count;

  PipelinedShm(ClientRegion region, Connection connection, long timeoutNanos) {
    super(region);
    this.connection = connection;
    this.timeoutNanos = timeoutNanos;
  }

  @Override
  void leaseSeen(long offset, long length, int generation) {
    if (2 * count + 2 > pending.length) {
      pending = Arrays.copyOf(pending, 2 * pending.length);
    }
    pending[2 * count] = offset;
    pending[2 * count + 1] = ((long) generation << 32) | (length & 0xFFFFFFFFL);
    count++;
  }

  /** A GET_PAGE nobody reads any more (its request settled): its lease, if any, goes back. */
  void latePage(ByteBuf frame) {
    int at = frame.readerIndex();
    if (FrameDescriptor.opcode(frame, at) == Opcode.GET_PAGE
        && (FrameDescriptor.flags(frame, at) & Opcode.FLAG_GET_PAGE_SHM) != 0
        && frame.readableBytes() >= ShmFrames.GET_PAGE_SHM_LENGTH) {
      leaseSeen(frame.getLongLE(at + ShmFrames.PAGE_REGION_OFFSET),
          frame.getUnsignedIntLE(at + ShmFrames.PAGE_LENGTH_OFFSET),
          frame.getIntLE(at + ShmFrames.PAGE_GENERATION_OFFSET));
    }
  }

  /**
   * Gives back {@code count} packed leases (see {@link ShmFrames}) from any thread: they are
   * recorded on the connection's event loop and sent at once, in one SHM_RELEASE per max batch.
   * Nothing is sent once the connection is gone: the daemon dropped its leases when it closed.
   */
  @Override
  void giveBack(long[] packed, int n) {
    Runnable release = () -> {
      for (int i = 0; i < n; i++) {
        leaseSeen(packed[2 * i], packed[2 * i + 1] & 0xFFFFFFFFL, (int) (packed[2 * i + 1] >>> 32));
      }
      flushReleases();
    };
    try {
      connection.execute(release);
    } catch (RejectedExecutionException e) {
      // The client is closing: the connection, and with it every lease, goes.
    }
  }

  /**
   * Sends the recorded leases back (after a socket read), in frames of at most the daemon's max
   * batch (a larger SHM_RELEASE would be refused whole).
   */
  void flushReleases() {
    if (count == 0) {
      return;
    }
    ServerLimits limits = connection.limits();
    int maxBatch = limits == null ? count : (int) Math.max(1, Math.min(count, limits.maxBatch()));
    for (int from = 0; from < count; from += maxBatch) {
      int n = Math.min(maxBatch, count - from);
      Requests.ShmRelease release = new Requests.ShmRelease(
          Arrays.copyOfRange(pending, 2 * from, 2 * (from + n)), n, timeoutNanos);
      release.future.whenComplete((released, e) -> {
        if (e != null) {
          LOG.log(System.Logger.Level.DEBUG, "shared-memory release failed: {0}", e.toString());
        }
      });
      connection.send(release);
    }
    count = 0;
  }
}
