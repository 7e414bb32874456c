package io.kvstore.client;

import io.kvstore.client.shm.ClientRegion;
import java.util.Arrays;

/**
 * A caller-driven connection's attached region ({@link SyncConnection}) and the GET leases waiting
 * to go back. The calling thread records the leases of the pages it copied out while it reads the
 * answer; the caller's code gives back those of page views when it closes them, from any thread.
 * Neither sends anything: the connection writes the recorded leases as quiet SHM_RELEASE frames in
 * front of its next request, in the same write ({@code spec/4-shared-memory.md} §4.3), so giving
 * a lease back costs no round trip, no system call and no thread of its own. Until then the
 * leases stay the connection's; that holds at most its own GET area, and the release reaches the
 * daemon before the next GET on this connection asks for room. A closed connection drops them:
 * the daemon freed every lease of the connection when it closed.
 */
final class SyncShm extends ClientShm {

  private long[] pending = new long[32]; // guarded by this: two longs per lease, packed
  private long[] spare; // guarded by this: the array the last drain took, once sent
  private int count;
  private boolean closed;

  SyncShm(ClientRegion region) {
    super(region);
  }

  @Override
  synchronized void leaseSeen(long offset, long length, int generation) {
    if (!closed) {
      add(offset, ((long) generation << 32) | (length & 0xFFFFFFFFL));
    }
  }

  @Override
  synchronized void giveBack(long[] packed, int n) {
    if (!closed) {
      for (int i = 0; i < n; i++) {
        add(packed[2 * i], packed[2 * i + 1]);
      }
    }
  }

  private void add(long offset, long generationAndLength) {
    if (2 * count + 2 > pending.length) {
      pending = Arrays.copyOf(pending, 2 * pending.length);
    }
    pending[2 * count] = offset;
    pending[2 * count + 1] = generationAndLength;
    count++;
  }

  /**
   * Takes the recorded leases: {@code box[0]} gets the array holding them, two longs each, and the
   * count is returned (0: none, {@code box} untouched). The caller hands the array back with
   * {@link #recycle} once it has encoded them, so a steady stream of GETs allocates nothing here.
   */
  synchronized int drain(long[][] box) {
    int n = count;
    if (n == 0) {
      return 0;
    }
    box[0] = pending;
    pending = spare != null ? spare : new long[32];
    spare = null;
    count = 0;
    return n;
  }

  /** Gives back an array {@link #drain} handed out, for the next drain. */
  synchronized void recycle(long[] drained) {
    if (spare == null) {
      spare = drained;
    }
  }

  /** Leases recorded and not yet sent (for tests). */
  synchronized int pending() {
    return count;
  }

  /**
   * The connection is gone, and its leases with it: nothing more is recorded, and the region's
   * mapping goes once nothing uses it ({@link ClientRegion#close()}).
   */
  void close() {
    synchronized (this) {
      closed = true;
      count = 0;
    }
    region.close();
  }
}
