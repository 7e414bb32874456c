package io.kvstore.server.e2e;

import io.kvstore.client.protocol.Opcode;

/**
 * A client process for {@link SharedMemorySafetyE2ETest}: attaches a shared region over a raw
 * connection, fetches pages through it without ever releasing their leases, prints {@code HOLDING
 * <n>} and waits to be killed.
 *
 * <p>Arguments: daemon port, namespace id, number of keys (0..n-1, key hi = key lo = i).
 */
public final class ShmLeaseHolderMain {

  private ShmLeaseHolderMain() {}

  /** Runs the client; never returns normally (it is SIGKILLed). */
  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    long ns = Long.parseLong(args[1]);
    int n = Integer.parseInt(args[2]);
    RawClient raw = new RawClient(port);
    raw.hello(1, 1, 1, ns, "");
    ShmRaw.attach(raw, 2);
    long[] keys = new long[2 * n];
    for (int i = 0; i < n; i++) {
      keys[2 * i] = i;
      keys[2 * i + 1] = i;
    }
    raw.keyBatch(Opcode.GET, Opcode.FLAG_GET_SHM, 3, 0, keys);
    int leases = 0;
    for (RawClient.Frame f = raw.read(); f.opcode() != Opcode.GET_DONE; f = raw.read()) {
      if (f.opcode() == Opcode.GET_PAGE) {
        leases++;
      }
    }
    System.out.println("HOLDING " + leases);
    System.out.flush();
    Thread.sleep(600_000);
    raw.close();
  }
}
