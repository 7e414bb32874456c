package io.kvstore.bench.compare;

import io.kvstore.bench.targets.BenchPages;
import io.kvstore.common.PageFormat;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;

/**
 * The pages a comparison moves for one page size: {@code count} random 128-bit keys and their pages,
 * built once (direct buffers) and shared read-only by every target and cell, so that every target
 * moves exactly the same bytes.
 */
final class WorkingSet {

  final int pageBytes;
  final int pageLength;
  final long[] keys;
  final ByteBuffer[] pages;

  WorkingSet(int pageBytes, int count, long namespaceId) {
    this.pageBytes = pageBytes;
    this.pageLength = PageFormat.pageLength(pageBytes);
    this.keys = new long[2 * count];
    this.pages = new ByteBuffer[count];
    SplittableRandom r = new SplittableRandom(pageBytes * 31L + count);
    ByteBuffer template = BenchPages.payloadTemplate(pageBytes, r.nextLong());
    for (int i = 0; i < count; i++) {
      keys[2 * i] = r.nextLong();
      keys[2 * i + 1] = r.nextLong();
      pages[i] = ByteBuffer.allocateDirect(pageLength);
      BenchPages.build(pages[i], template, keys[2 * i], keys[2 * i + 1], 0, 0, namespaceId, 512,
          pageBytes);
    }
  }

  int count() {
    return pages.length;
  }
}
