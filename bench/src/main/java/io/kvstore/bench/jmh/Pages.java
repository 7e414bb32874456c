package io.kvstore.bench.jmh;

import io.kvstore.common.PageFormat;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;

/** Builds well-formed pages for the benchmarks: key {@code (ns, i)}, random payload. */
final class Pages {
  private Pages() {}

  /** A direct buffer holding one page of {@code payloadBytes} random bytes for key {@code (hi, lo)}. */
  static ByteBuffer page(long hi, long lo, int payloadBytes, long seed) {
    ByteBuffer b = ByteBuffer.allocateDirect(PageFormat.pageLength(payloadBytes));
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = PageFormat.HEADER_LENGTH; i + 8 <= b.capacity(); i += 8) {
      b.putLong(i, r.nextLong());
    }
    PageFormat.writeHeader(b, 0, hi, lo, 0, 0, 42L, 512, payloadBytes);
    return b;
  }
}
