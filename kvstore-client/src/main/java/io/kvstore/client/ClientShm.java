package io.kvstore.client;

import io.kvstore.client.shm.ClientRegion;

/**
 * A connection's attached shared region ({@code spec/4-shared-memory.md}) and where the GET leases
 * the daemon names go back. Two kinds of connection hold one: a pipelined connection ({@link
 * PipelinedShm}: leases go back in one SHM_RELEASE after each socket read, from its event loop)
 * and a caller-driven one ({@link SyncShm}: leases go back in front of the connection's next
 * request, in the same write).
 */
abstract class ClientShm {

  /** The mapped region. */
  final ClientRegion region;

  ClientShm(ClientRegion region) {
    this.region = region;
  }

  /**
   * Records a lease the daemon named in a GET_PAGE, to give back: called by whoever reads the
   * connection's frames, for every shared-memory GET_PAGE, whatever becomes of its page.
   */
  abstract void leaseSeen(long offset, long length, int generation);

  /**
   * Gives back {@code n} packed leases (offset, generation &lt;&lt; 32 | length) from any thread:
   * those kept for page views, when the views are closed or never handed out. The views count back
   * in the region (its mapping may go once the connection is closed); nothing is sent once the
   * connection is gone: the daemon dropped its leases when it closed.
   */
  final void releaseLater(long[] packed, int n) {
    region.viewsReturned(n);
    giveBack(packed, n);
  }

  /** Sends {@code n} packed leases back to the daemon (see {@link #releaseLater}). */
  abstract void giveBack(long[] packed, int n);
}
