package io.kvstore.bench.targets;

import io.kvstore.common.PageFormat;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The memory baselines of {@code kvbench compare}: the same page bytes copied between direct
 * buffers in this process, nothing else. A fetch writes each page's header (the asked-for key, a
 * fresh header checksum, as {@link RawSocketTarget} does) and copies the payload into the caller's
 * buffer; a put copies each page into a sink. What a shared-memory path can at best approach: one
 * copy per page.
 *
 * <p>Two forms. {@code memcpy} copies from one template and into one sink, so both stay in the
 * CPU's caches: the fastest a copy runs. {@code memcpy-ws} copies from and into a working set as
 * large as the other targets' ({@code --working-set}), a page-sized slot after another, so the
 * bytes come from (and go to) memory that is not in cache, as a store's pages do: what one copy
 * of the pages a store holds costs. On the development host the first runs at 26 to 44 GB/s, the
 * second at 9 to 12 (bench/README.md).
 */
public final class MemcpyTarget implements Target {

  private final long namespaceId;
  private final long workingSetBytes;
  /** {@code memcpy-ws}: where fetched pages come from and put pages go; null for {@code memcpy}. */
  private final ByteBuffer source;
  private final ByteBuffer sinks;

  /** The in-cache baseline, {@code memcpy}, whose pages carry {@code namespaceId}. */
  public MemcpyTarget(long namespaceId) {
    this.namespaceId = namespaceId;
    this.workingSetBytes = 0;
    this.source = null;
    this.sinks = null;
  }

  /**
   * The working-set baseline, {@code memcpy-ws}: {@code workingSetBytes} to copy from and as many
   * to copy into (direct memory, held until the collector frees the target).
   *
   * @throws IllegalArgumentException if the working set is not between 1 byte and 1 GiB
   */
  public MemcpyTarget(long namespaceId, long workingSetBytes) {
    if (workingSetBytes <= 0 || workingSetBytes > 1L << 30) {
      throw new IllegalArgumentException("memcpy-ws working set of " + workingSetBytes
          + " bytes; expected 1 byte to 1 GiB");
    }
    this.namespaceId = namespaceId;
    this.workingSetBytes = workingSetBytes;
    // Every byte written now (not in the measured time), one pattern over every slot
    // (PatternedSlots): one header (and payload CRC) per length serves every slot.
    this.source = PatternedSlots.allocate(workingSetBytes);
    this.sinks = PatternedSlots.allocate(workingSetBytes);
  }


  @Override
  public String name() {
    return source == null ? "memcpy" : "memcpy-ws";
  }

  /**
   * Writes the asked-for key and a fresh header CRC into the copied page {@code d} (the payload
   * CRC, which does not cover the key, stays valid) and sets its limit to the page's end.
   */
  private static void stampKey(ByteBuffer d, long hi, long lo, int length) {
    PageFormat.putLongLE(d, PageFormat.KEY_HI_OFFSET, hi);
    PageFormat.putLongLE(d, PageFormat.KEY_LO_OFFSET, lo);
    PageFormat.putIntLE(d, PageFormat.HEADER_CRC_OFFSET,
        PageFormat.crc32c(d, 0, PageFormat.HEADER_CRC_OFFSET));
    d.limit(length);
  }

  @Override
  public Session openSession() {
    return source == null ? new MemcpySession(namespaceId) : new WorkingSetSession();
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
        stampKey(d, keys[2 * i], keys[2 * i + 1], length);
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
  /**
   * {@code memcpy-ws}: each page is copied from (fetch) or into (put) the next slot of the working
   * set (slots of the page's length rounded up to 4 KiB), wrapping at its end. Sessions share the
   * two buffers: a put's bytes are never read back, so writers racing on a slot change nothing
   * measured. A fetched page gets its length's header (built once: every slot holds the same
   * payload) with the asked-for key and a fresh header CRC, as {@code memcpy}'s does.
   */
  private final class WorkingSetSession implements Session {
    private long next;
    private int headerFor = -1;
    private final ByteBuffer header =
        ByteBuffer.allocateDirect(PageFormat.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);

    /** The offset of the next slot for a page of {@code length} bytes. */
    private int slot(int length) {
      if (length > workingSetBytes) {
        throw new IllegalStateException("a page of " + length + " bytes is larger than the"
            + " memcpy-ws working set of " + workingSetBytes);
      }
      long stride = PatternedSlots.stride(length);
      long slots = Math.max(1, workingSetBytes / stride);
      return (int) ((next++ % slots) * stride);
    }

    @Override
    public int fetchPrefix(long[] keys, int count, ByteBuffer[] dsts) {
      for (int i = 0; i < count; i++) {
        ByteBuffer d = dsts[i];
        int length = d.capacity();
        int at = slot(length);
        if (headerFor != length) {
          ByteBuffer page = source.duplicate().position(at).limit(at + length).slice()
              .order(ByteOrder.LITTLE_ENDIAN);
          int payload = length - PageFormat.HEADER_LENGTH;
          ByteBuffer copy = ByteBuffer.allocateDirect(length).order(ByteOrder.LITTLE_ENDIAN);
          copy.put(0, page, 0, length);
          PageFormat.writeHeader(copy, 0, 0, 0, 0, 0, namespaceId, 16, payload);
          header.put(0, copy, 0, PageFormat.HEADER_LENGTH);
          headerFor = length;
        }
        d.clear();
        d.put(0, source, at, length); // the one copy, from memory not in cache
        d.put(0, header, 0, PageFormat.HEADER_LENGTH);
        stampKey(d, keys[2 * i], keys[2 * i + 1], length);
      }
      return count;
    }

    @Override
    public int put(ByteBuffer[] pages, int count) {
      for (int i = 0; i < count; i++) {
        ByteBuffer p = pages[i];
        int length = p.remaining();
        sinks.put(slot(length), p, p.position(), length); // the one copy, into memory not in cache
      }
      return count;
    }

    @Override
    public void close() {
      // The working set's buffers are the target's.
    }
  }
}
