package io.kvstore.bench.targets;

import io.kvstore.common.PageFormat;
import java.nio.ByteBuffer;

/**
 * The memory baseline of {@code kvbench compare}: the same page bytes copied between two direct
 * buffers in this process, nothing else. A fetch writes each page's header (the asked-for key, a
 * fresh header checksum, as {@link RawSocketTarget} does) and copies the payload from a template
 * into the caller's buffer; a put copies each page into a sink buffer. What a shared-memory path
 * can at best approach: one copy per page.
 */
public final class MemcpyTarget implements Target {

  private final long namespaceId;

  /** A baseline whose pages carry {@code namespaceId}. */
  public MemcpyTarget(long namespaceId) {
    this.namespaceId = namespaceId;
  }

  @Override
  public String name() {
    return "memcpy";
  }

  @Override
  public Session openSession() {
    return new MemcpySession(namespaceId);
  }

  @Override
  public TierCounters counters() {
    return TierCounters.NONE;
  }

  @Override
  public void close() {
    // Nothing held beyond the sessions' buffers, which the collector frees.
  }

  private static final class MemcpySession implements Session {
    private final long namespaceId;
    private ByteBuffer template;
    private ByteBuffer sink;

    MemcpySession(long namespaceId) {
      this.namespaceId = namespaceId;
    }

    @Override
    public int fetchPrefix(long[] keys, int count, ByteBuffer[] dsts) {
      int length = dsts[0].capacity();
      if (template == null || template.capacity() != length) {
        template = ByteBuffer.allocateDirect(length);
        BenchPages.build(template, BenchPages.payloadTemplate(length - PageFormat.HEADER_LENGTH, 7),
            0, 0, 0, 0, namespaceId, 16, length - PageFormat.HEADER_LENGTH);
      }
      for (int i = 0; i < count; i++) {
        ByteBuffer d = dsts[i];
        d.clear();
        d.put(0, template, 0, length); // the one copy
        PageFormat.putLongLE(d, PageFormat.KEY_HI_OFFSET, keys[2 * i]);
        PageFormat.putLongLE(d, PageFormat.KEY_LO_OFFSET, keys[2 * i + 1]);
        PageFormat.putIntLE(d, PageFormat.HEADER_CRC_OFFSET,
            PageFormat.crc32c(d, 0, PageFormat.HEADER_CRC_OFFSET));
        d.limit(length);
      }
      return count;
    }

    @Override
    public int put(ByteBuffer[] pages, int count) {
      for (int i = 0; i < count; i++) {
        ByteBuffer p = pages[i];
        if (sink == null || sink.capacity() < p.remaining()) {
          sink = ByteBuffer.allocateDirect(p.remaining());
        }
        sink.put(0, p, p.position(), p.remaining()); // the one copy
      }
      return count;
    }

    @Override
    public void close() {
      template = null;
      sink = null;
    }
  }
}
