package io.kvstore.bench.targets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.PageFormat;
import java.nio.ByteBuffer;

/** Checks every target must pass: pages put come back verified, a missing key ends the run. */
final class TargetContract {

  static final long NAMESPACE = 0x1234_5678_9ABC_DEF0L;

  private TargetContract() {}

  /** Puts {@code n} pages, fetches them back (and one absent key after them), verifies each. */
  static void roundTrip(Target target, int payloadBytes, int n, boolean storesPages) throws Exception {
    int length = PageFormat.pageLength(payloadBytes);
    ByteBuffer template = BenchPages.payloadTemplate(payloadBytes, 3);
    ByteBuffer[] pages = new ByteBuffer[n];
    ByteBuffer[] dsts = new ByteBuffer[n + 1];
    long[] keys = new long[2 * (n + 1)];
    for (int i = 0; i <= n; i++) {
      keys[2 * i] = 0x1000 + i;
      keys[2 * i + 1] = 0x2000 + payloadBytes + i;
      dsts[i] = ByteBuffer.allocateDirect(length);
      if (i < n) {
        pages[i] = ByteBuffer.allocateDirect(length);
        BenchPages.build(pages[i], template, keys[2 * i], keys[2 * i + 1], 0, 0, NAMESPACE, 16,
            payloadBytes);
      }
    }
    try (Session s = target.openSession()) {
      assertEquals(n, s.put(pages, n));
      for (ByteBuffer p : pages) {
        assertEquals(0, p.position(), "put must not move the page's position");
        assertEquals(length, p.limit());
      }
      int run = s.fetchPrefix(keys, n, dsts);
      assertEquals(n, run);
      for (int i = 0; i < n; i++) {
        assertTrue(BenchPages.verify(dsts[i], keys[2 * i], keys[2 * i + 1], NAMESPACE, length),
            "page " + i);
        if (storesPages) {
          assertEquals(pages[i], dsts[i], "the exact bytes put");
        }
      }
      if (storesPages) {
        // Key n was never put: the run stops before it, and a run starting at it is empty.
        assertEquals(n, s.fetchPrefix(keys, n + 1, dsts));
        long[] absentFirst = {keys[2 * n], keys[2 * n + 1], keys[0], keys[1]};
        assertEquals(0, s.fetchPrefix(absentFirst, 2, dsts));
        // One key at a time takes the single-key path where a target has one.
        assertEquals(1, s.fetchPrefix(keys, 1, dsts));
        assertTrue(BenchPages.verify(dsts[0], keys[0], keys[1], NAMESPACE, length));
      }
      if (s.fetchesInPlace()) {
        // Lent in place: the same bytes, verified the same way, unreadable once released.
        ByteBuffer[] views = new ByteBuffer[n + 1];
        assertEquals(n, s.fetchPrefixInPlace(keys, n + 1, views, length));
        for (int i = 0; i < n; i++) {
          assertTrue(BenchPages.verify(views[i], keys[2 * i], keys[2 * i + 1], NAMESPACE, length),
              "lent page " + i);
          assertEquals(pages[i], views[i], "the exact bytes put");
        }
        s.releaseFetched();
        s.releaseFetched();
        assertEquals(0, views[0].remaining(), "a released page reads nothing");
      }
    }
  }
}
