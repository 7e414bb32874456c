package io.kvstore.core.memory;

/**
 * Run in a JVM with {@code -XX:MaxDirectMemorySize=8m} by {@link HostDeviceMemoryTest}: four slabs
 * of 3 MiB cannot all fit. Asking for each slab once the preparer has allocated it or stopped, the
 * first two come from the preparer, which then stops on the limit (and says so), and the third is
 * allocated by {@link HostDeviceMemory#allocate} itself, which fails with the limit and changes
 * nothing. Exits 0 when that is what happened; otherwise prints what differed and exits 1.
 */
public final class DirectLimitProbe {

  private DirectLimitProbe() {}

  public static void main(String[] args) throws Exception {
    int slab = 3 << 20;
    try (HostDeviceMemory m = new HostDeviceMemory(4, slab)) {
      int allocated = 0;
      OutOfMemoryError refused = null;
      for (int i = 0; i < 4 && refused == null; i++) {
        // Each slab asked for once the preparer has either allocated it or stopped on the limit.
        long wait = System.nanoTime() + 10_000_000_000L;
        while (!m.preparedSlabReady() && m.preparerFailure() == null && System.nanoTime() < wait) {
          Thread.sleep(1);
        }
        try {
          m.allocate(i);
          allocated++;
        } catch (OutOfMemoryError e) {
          refused = e;
        }
      }
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (m.preparerFailure() == null && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      String state = "allocated " + allocated + ", refused " + refused + ", preparer failure "
          + m.preparerFailure() + ", allocatedBytes " + m.allocatedBytes();
      boolean ok = refused != null
          && allocated == 2
          && m.slabsFromPrepared() == 2
          && m.slabsAllocatedInline() == 0
          && m.preparerFailure() != null
          && m.allocatedBytes() == 2L * slab;
      if (!ok) {
        System.out.println("unexpected: " + state);
        System.exit(1);
      }
      System.out.println("ok: " + state);
    }
    System.exit(0);
  }
}
