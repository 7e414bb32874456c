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
  synchronized void releaseLater(long[] packed, int n) {
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

  /** Takes the recorded leases: two longs each, {@code length / 2} of them; null when none. */
  synchronized long[] drain() {
    if (count == 0) {
      return null;
    }
    long[] taken = Arrays.copyOf(pending, 2 * count);
    count = 0;
    return taken;
  }

  /** Leases recorded and not yet sent (for tests). */
  synchronized int pending() {
    return count;
  }

  /** The connection is gone, and its leases with it: nothing more is recorded. */
  synchronized void close() {
    closed = true;
    count = 0;
  }
}
