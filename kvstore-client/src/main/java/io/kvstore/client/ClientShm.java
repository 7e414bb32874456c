package io.kvstore.client;

import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.client.shm.ClientRegion;
import io.kvstore.client.shm.ShmFrames;
import io.netty.buffer.ByteBuf;
import java.util.Arrays;

/**
 * A connection's attached shared region and the GET leases waiting to be given back
 * ({@code spec/4-shared-memory.md} §4.3). Every lease the daemon names in a GET_PAGE is recorded
 * here as soon as its frame is read, whether the GET uses the page, rejects it, or was already
 * settled (a late frame); after each socket read the recorded leases go back in one SHM_RELEASE.
 * So no lease outlives the read that delivered it by more than one round trip, whatever happened
 * to its request. Confined to the connection's event loop.
 */
final class ClientShm {

  private static final System.Logger LOG = System.getLogger(ClientShm.class.getName());

  final ClientRegion region;
  private final Connection connection;
  private final long timeoutNanos;
  private long[] pending = new long[32];
  private int count;

  ClientShm(ClientRegion region, Connection connection, long timeoutNanos) {
    this.region = region;
    this.connection = connection;
    this.timeoutNanos = timeoutNanos;
  }

  /** Records a lease to give back. */
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

  /** Sends the recorded leases back (after a socket read). */
  void flushReleases() {
    if (count == 0) {
      return;
    }
    Requests.ShmRelease release = new Requests.ShmRelease(Arrays.copyOf(pending, 2 * count), count,
        timeoutNanos);
    count = 0;
    release.future.whenComplete((n, e) -> {
      if (e != null) {
        LOG.log(System.Logger.Level.DEBUG, "shared-memory release failed: {0}", e.toString());
      }
    });
    connection.send(release);
  }
}
