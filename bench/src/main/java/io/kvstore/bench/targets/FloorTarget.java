package io.kvstore.bench.targets;

import io.kvstore.common.PageFormat;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code kvbench compare}'s {@code floor} target: the least work any same-host path between an
 * engine and a store must do per page, measured in the same matrix as the stores (bench/README.md,
 * "The floor of any same-host path").
 *
 * <ul>
 *   <li>A <b>get</b> lends each page where it lies in a working set of {@code --working-set} bytes
 *       (not in the CPU's caches, as a store's pages are not), after the check the SDK makes of
 *       every page it lends ({@link PageFormat#verify} in place: header, length, payload CRC32C,
 *       spec/4 §4.3.1); {@code compare} then verifies it as it verifies every fetched page. No
 *       copy, no round trip, no lookup: a zero-copy GET of tier memory, with nothing else.
 *   <li>A <b>put</b> copies each page into the next slot of the working set and computes its
 *       payload CRC32C from that slot: the one write into memory not in cache that any design
 *       storing the page makes, and the check a daemon makes of its own copy (spec/4 §4.4).
 * </ul>
 *
 * <p>The working set (twice: one for gets, one for puts, as {@code memcpy-ws}) is {@link
 * PatternedSlots}: it repeats a 4 KiB pattern and slots start at multiples of 4 KiB, so every slot
 * holds the same payload for a page length: a get writes only the page's 64-byte header (the
 * asked-for key and namespace, the payload's CRC computed once per length) and puts the pattern
 * back when the page is released, since a page of another length may span those bytes. A slot
 * lent by a get is claimed until {@link Session#releaseFetched()}, so sessions never stamp a page
 * another session holds; a put writes whichever slot comes next (its bytes are never read back, and
 * {@code compare} never runs gets and puts at once).
 */
public final class FloorTarget implements Target {

  /** Largest working set (each of the two). */
  public static final long MAX_BYTES = 1L << 30;

  /**
   * The working set for a matrix whose gets lend up to {@code lentBytes} at once (connections x
   * batch x page slot, the largest over its cells) with a working set of {@code workingSetBytes}:
   * the larger of the two, so that every page lent at once has a slot of its own, at most {@link
   * #MAX_BYTES}.
   */
  public static long workingSetFor(long workingSetBytes, long lentBytes) {
    return Math.min(MAX_BYTES, Math.max(workingSetBytes, lentBytes));
  }

  /** Bytes of a slot for a page of {@code length}: the length rounded up to 4 KiB. */
  public static long slotBytes(int length) {
    return PatternedSlots.stride(length);
  }

  private final long namespaceId;
  private final long workingSetBytes;
  /** Where gets' pages lie: the pattern, only headers ever written. */
  private final ByteBuffer ring;
  /** {@link #ring} read-only, which gets' views are sliced from (one object per page lent). */
  private final ByteBuffer lendable;
  /** Where puts' pages go (never read back), apart so that puts never change what gets lend. */
  private final ByteBuffer sinks;
  /** Per slot of the current stride: 1 while a get has it lent. */
  private final AtomicIntegerArray lent;
  private final AtomicLong next = new AtomicLong();
  /** Payload CRC32C per page length (every slot holds the same payload): guarded by itself. */
  private final Map<Integer, Integer> payloadCrcs = new HashMap<>();

  /**
   * @param workingSetBytes bytes of the working set, 1 byte to 1 GiB (held twice in direct memory,
   *     for gets and for puts, as {@code memcpy-ws} holds it, until the collector frees the target)
   * @throws IllegalArgumentException outside that range
   */
  public FloorTarget(long namespaceId, long workingSetBytes) {
    if (workingSetBytes <= 0 || workingSetBytes > MAX_BYTES) {
      throw new IllegalArgumentException("floor working set of " + workingSetBytes
          + " bytes; expected 1 byte to 1 GiB");
    }
    this.namespaceId = namespaceId;
    this.workingSetBytes = workingSetBytes;
    this.ring = PatternedSlots.allocate(workingSetBytes).order(ByteOrder.LITTLE_ENDIAN);
    this.sinks = PatternedSlots.allocate(workingSetBytes);
    this.lendable = ring.asReadOnlyBuffer();
    this.lent =
        new AtomicIntegerArray((int) Math.max(1, workingSetBytes / PatternedSlots.SLOT_ALIGN));
  }

  @Override
  public String name() {
    return "floor";
  }

  @Override
  public Session openSession() {
    return new FloorSession();
  }

  @Override
  public TierCounters counters() {
    return TierCounters.NONE;
  }

  @Override
  public void close() {
    // The working set is freed with the target.
  }

  private long slots(int length) {
    if (length > workingSetBytes) {
      throw new IllegalStateException("a page of " + length + " bytes is larger than the floor's"
          + " working set of " + workingSetBytes);
    }
    return Math.max(1, workingSetBytes / PatternedSlots.stride(length));
  }

  /**
   * The payload CRC32C of a page of {@code length} bytes at any slot: computed from the pattern
   * itself, not from the working set, whose bytes under a lent page's header differ from it.
   */
  private int payloadCrc(int length) {
    synchronized (payloadCrcs) {
      return payloadCrcs.computeIfAbsent(length, l -> {
        ByteBuffer page = PatternedSlots.allocate(l);
        return PageFormat.crc32c(page, PageFormat.HEADER_LENGTH, l - PageFormat.HEADER_LENGTH);
      });
    }
  }

  /** Claims a slot for a page of {@code length} that no get holds, and returns its index. */
  private int claim(int length) {
    long slots = slots(length);
    for (long tried = 0; tried < slots; tried++) {
      int slot = (int) (Math.floorMod(next.getAndIncrement(), slots));
      if (lent.compareAndSet(slot, 0, 1)) {
        return slot;
      }
    }
    throw new IllegalStateException("every slot of the floor's working set (" + slots + " pages of "
        + length + " bytes) is lent at once; give --working-set room for more pages than the"
        + " connections x batch lent together");
  }

  private final class FloorSession implements Session {
    /** Payload CRC of a page of {@link #crcLength} bytes (every slot holds the same payload). */
    private int crcLength = -1;
    private int payloadCrc;
    /** Slots lent by the last in-place fetch, their offsets, and their count. */
    private int[] held = new int[0];
    private int[] heldAt = new int[0];
    private int heldCount;
    /** The puts' CRCs summed into a field (a store the compiler keeps), so that none is dead code. */
    private long checksums;

    @Override
    public boolean fetchesInPlace() {
      return true;
    }

    @Override
    public int fetchPrefix(long[] keys, int count, ByteBuffer[] dsts) {
      throw new UnsupportedOperationException("the floor target only lends pages in place");
    }

    @Override
    public int fetchPrefixInPlace(long[] keys, int count, ByteBuffer[] views, int pageLength) {
      releaseFetched();
      slots(pageLength); // a page larger than the working set is refused before anything is read
      int payload = pageLength - PageFormat.HEADER_LENGTH;
      if (crcLength != pageLength) {
        payloadCrc = payloadCrc(pageLength);
        crcLength = pageLength;
      }
      if (held.length < count) {
        held = new int[count];
        heldAt = new int[count];
      }
      long stride = PatternedSlots.stride(pageLength);
      for (int i = 0; i < count; i++) {
        int slot = claim(pageLength);
        int at = (int) (slot * stride);
        held[heldCount] = slot;
        heldAt[heldCount++] = at;
        PageFormat.writeHeader(ring, at, keys[2 * i], keys[2 * i + 1], 0, 0, namespaceId, 16,
            payload, payloadCrc);
        // The SDK's check before it lends a page (spec/4 §4.3.1), in place.
        int code = PageFormat.verify(ring, at, pageLength);
        if (code != PageFormat.OK) {
          throw new IllegalStateException("the floor's page does not verify: "
              + PageFormat.describe(code));
        }
        views[i] = lendable.slice(at, pageLength);
      }
      return count;
    }

    @Override
    public void releaseFetched() {
      for (int i = 0; i < heldCount; i++) {
        // The pattern back under the header: a page of another length may span these bytes.
        PatternedSlots.fill(ring, heldAt[i], PageFormat.HEADER_LENGTH);
        lent.set(held[i], 0);
      }
      heldCount = 0;
    }

    @Override
    public int put(ByteBuffer[] pages, int count) {
      for (int i = 0; i < count; i++) {
        ByteBuffer p = pages[i];
        int length = p.remaining();
        long slot = Math.floorMod(next.getAndIncrement(), slots(length));
        int at = (int) (slot * PatternedSlots.stride(length));
        sinks.put(at, p, p.position(), length); // the one copy, into memory not in cache
        // The daemon's check of its own copy: the payload's CRC32C, read back from the slot.
        checksums += PageFormat.crc32c(sinks, at + PageFormat.HEADER_LENGTH,
            length - PageFormat.HEADER_LENGTH);
      }
      return count;
    }

    @Override
    public void close() {
      releaseFetched();
    }
  }
}
