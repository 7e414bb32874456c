package io.kvstore.core.store;

import io.kvstore.common.MappedFaults;
import io.kvstore.common.PageFormat;
import io.kvstore.core.policy.AdmissionPolicy;
import io.kvstore.core.tier.Tier;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32C;

/**
 * {@link TieredStore#putCopyVerified}: a put from a source the store must not trust to hold still
 * (a client's shared-memory region, which the client may rewrite at any moment).
 *
 * <h2>Implementation notes</h2>
 *
 * <p><b>Every byte read once, only the copy trusted.</b> The header is read first, as eight
 * little-endian words kept in locals: that snapshot is the store's copy of the header, and the key,
 * namespace, length and CRC fields are taken from it and never read from the source again. Its
 * magic, version, header CRC and payload length are checked before any room is taken. Then a slot
 * is {@link Tier#reserve reserved} in the first memory tier the page fits (the tier {@code put}
 * would choose), the header words are written into it, and the payload is copied from the source
 * into the slot in chunks of {@link #CHUNK_BYTES}, each chunk's CRC32C computed over the slot's
 * bytes right after its copy, while they are still in cache. A source rewritten during the copy
 * therefore yields either a slot that matches the snapshot's CRC (a page the client could have
 * written) or a mismatch, which aborts the reservation: the page is refused and nothing stored.
 *
 * <p><b>Locks.</b> The copy and the CRC run under no lock: a reserved slot is pinned and in no key
 * table, so nobody else can see it (a plain {@link TieredStore#put} copies under the key lock and
 * the tier's shard lock). Only the commit takes the key lock, then does what {@code put} does under
 * it (ownership check, removal of every older copy, publication), so a page that fails its check
 * never disturbs the key's current page. Waiting for write-back room happens before the
 * reservation, as in {@code put}, so no slot is held while waiting.
 *
 * <p><b>Fallback.</b> A page no memory tier can reserve for (larger than every memory tier's pages,
 * a tier whose memory the host cannot address, every candidate pinned, no memory tier at all) is
 * copied once into one of the store's staging buffers instead (header from the snapshot, payload
 * from the source) and that copy is stored by {@link TieredStore#put}, which checks it: one more
 * copy on that path, as before.
 *
 * <p><b>A source that faults.</b> A client can truncate its region file under the daemon's
 * mapping; reading the missing pages raises SIGBUS, which the JVM turns into an {@link
 * InternalError} where the thread next checks. Each read of the source (the header snapshot, each
 * chunk, the staged copy) is followed by {@link MappedFaults#raisePending()}, so the error comes
 * out there, before anything is published: the reservation is aborted or the staging buffer given
 * back, and the caller gets the error with the store as it was.
 */
final class VerifiedCopyPut {

  /**
   * Bytes copied before their CRC is computed: small enough to stay in a core's L2 cache between
   * the copy and the CRC, large enough that the per-chunk work is noise.
   */
  static final int CHUNK_BYTES = 256 << 10;

  /** Test hook: called after each chunk is copied and checked, with the end of what was copied. */
  @FunctionalInterface
  interface ChunkHook {
    void copied(int pageOffset);
  }

  private final TieredStore store;
  private final Tier[] tiers;
  private final int memoryTiers;
  private final TierChain chain;
  private final KeyLocks locks;
  private final StagingPool staging;
  private final WriteBack writeBack;
  private final StoreCounters counters;
  private final AdmissionPolicy admission;
  private final int maxPageBytes;
  private volatile ChunkHook hook;

  VerifiedCopyPut(
      TieredStore store,
      Tier[] tiers,
      int memoryTiers,
      TierChain chain,
      KeyLocks locks,
      StagingPool staging,
      WriteBack writeBack,
      StoreCounters counters,
      AdmissionPolicy admission,
      int maxPageBytes) {
    this.store = store;
    this.tiers = tiers;
    this.memoryTiers = memoryTiers;
    this.chain = chain;
    this.locks = locks;
    this.staging = staging;
    this.writeBack = writeBack;
    this.counters = counters;
    this.admission = admission;
    this.maxPageBytes = maxPageBytes;
  }

  void hook(ChunkHook hook) {
    this.hook = hook;
  }

  /** See {@link TieredStore#putCopyVerified(ByteBuffer, long)}; the caller has entered the store. */
  boolean put(ByteBuffer src, boolean checkNamespace, long namespaceId) {
    int pos = src.position();
    int len = src.remaining();
    if (len < PageFormat.HEADER_LENGTH) {
      throw new BadPageException(PageFormat.ERR_TOO_SHORT);
    }
    // The header snapshot: the only read of these 64 bytes.
    long w0 = PageFormat.getLongLE(src, pos);
    long keyHi = PageFormat.getLongLE(src, pos + PageFormat.KEY_HI_OFFSET);
    long keyLo = PageFormat.getLongLE(src, pos + PageFormat.KEY_LO_OFFSET);
    long parentHi = PageFormat.getLongLE(src, pos + PageFormat.PARENT_HI_OFFSET);
    long parentLo = PageFormat.getLongLE(src, pos + PageFormat.PARENT_LO_OFFSET);
    long ns = PageFormat.getLongLE(src, pos + PageFormat.NAMESPACE_ID_OFFSET);
    long w6 = PageFormat.getLongLE(src, pos + PageFormat.TOKEN_COUNT_OFFSET);
    long w7 = PageFormat.getLongLE(src, pos + PageFormat.PAYLOAD_CRC_OFFSET);
    MappedFaults.raisePending();
    CRC32C crc = new CRC32C();
    checkHeader(crc, len, w0, keyHi, keyLo, parentHi, parentLo, ns, w6, w7);
    if (checkNamespace && ns != namespaceId) {
      throw ForeignPageException.notCallers(keyHi, keyLo, ns, namespaceId);
    }
    int first = 0;
    while (first < memoryTiers && len > tiers[first].maxPageBytes()) {
      first++;
    }
    if (first == memoryTiers || !tiers[first].reservable()) {
      return putStaged(src, len, w0, keyHi, keyLo, parentHi, parentLo, ns, w6, w7);
    }
    if (writeBack != null) {
      writeBack.awaitRoom(len); // before any slot is taken: the only wait a put has
    }
    int t = first;
    long reservation = Tier.NO_RESERVATION;
    for (; t < memoryTiers && reservation == Tier.NO_RESERVATION; t++) {
      if (len <= tiers[t].maxPageBytes() && tiers[t].reservable()) {
        reservation = tiers[t].reserve(keyHi, keyLo, len);
      }
    }
    if (reservation == Tier.NO_RESERVATION) {
      return putStaged(src, len, w0, keyHi, keyLo, parentHi, parentLo, ns, w6, w7);
    }
    t--;
    Tier tier = tiers[t];
    boolean ended = false;
    try {
      ByteBuffer page = tier.reservedPage(reservation);
      writeHeader(page, w0, keyHi, keyLo, parentHi, parentLo, ns, w6, w7);
      if (copyPayload(src, pos, page, crc) != (int) w7) {
        throw new BadPageException(PageFormat.ERR_PAYLOAD_CRC);
      }
      page.clear();
      admission.record(keyHi, keyLo);
      ReentrantLock lock = locks.lockForRemoval(keyHi, keyLo, writeBack);
      try {
        // Under the key lock, so the held page cannot change between this check and the replace.
        if (chain.ownershipOf(keyHi, keyLo, ns) == TieredStore.FOREIGN) {
          throw new ForeignPageException(keyHi, keyLo, ns);
        }
        if (chain.prepareReplace(keyHi, keyLo, len, parentHi, parentLo, ns)
            != TierChain.REPLACE_OK) {
          counters.putRejects.increment();
          return false; // no index room, or an older SSD copy could not be removed
        }
        ended = true; // the commit ends the reservation whatever it answers
        if (chain.commitReserved(t, reservation, page)) {
          counters.puts.increment();
          counters.putBytes.add(len);
          return true;
        }
        counters.putRejects.increment();
        return false;
      } finally {
        lock.unlock();
      }
    } finally {
      if (!ended) {
        tier.abort(reservation);
      }
    }
  }

  /**
   * Copies {@code src[pos + 64, pos + page.capacity())} into {@code page} at 64, a chunk at a time,
   * and returns the CRC32C of what landed in {@code page}.
   */
  private int copyPayload(ByteBuffer src, int pos, ByteBuffer page, CRC32C crc) {
    crc.reset();
    int len = page.capacity();
    ChunkHook h = hook;
    for (int at = PageFormat.HEADER_LENGTH; at < len; ) {
      int n = Math.min(CHUNK_BYTES, len - at);
      page.limit(at + n); // an absolute put is bounded by the limit, a CRC update by both
      page.put(at, src, pos + at, n);
      MappedFaults.raisePending();
      page.position(at);
      crc.update(page); // the copy's bytes, never the source's
      at += n;
      if (h != null) {
        h.copied(at);
      }
    }
    return (int) crc.getValue();
  }

  /** The staged path (see the class notes): one copy into a staging buffer, checked by put. */
  private boolean putStaged(ByteBuffer src, int len, long w0, long keyHi, long keyLo, long parentHi,
      long parentLo, long ns, long w6, long w7) {
    if (len > maxPageBytes) {
      counters.putRejects.increment();
      return false; // no tier could hold it: nothing read, nothing changed
    }
    ByteBuffer buf = staging.acquireUninterruptibly();
    try {
      buf.clear().limit(len);
      writeHeader(buf, w0, keyHi, keyLo, parentHi, parentLo, ns, w6, w7);
      buf.put(PageFormat.HEADER_LENGTH, src, src.position() + PageFormat.HEADER_LENGTH,
          len - PageFormat.HEADER_LENGTH);
      MappedFaults.raisePending();
      return store.put(buf);
    } finally {
      staging.release(buf);
    }
  }

  /**
   * Checks the snapshot as {@link PageFormat#verifyHeader} checks a header, and that its payload
   * length is exactly the rest of the page.
   */
  private static void checkHeader(CRC32C crc, int len, long w0, long keyHi, long keyLo,
      long parentHi, long parentLo, long ns, long w6, long w7) {
    if ((int) w0 != PageFormat.MAGIC) {
      throw new BadPageException(PageFormat.ERR_BAD_MAGIC);
    }
    if ((short) (w0 >>> 32) != PageFormat.VERSION) {
      throw new BadPageException(PageFormat.ERR_BAD_VERSION);
    }
    crc.reset();
    update(crc, w0, 8);
    update(crc, keyHi, 8);
    update(crc, keyLo, 8);
    update(crc, parentHi, 8);
    update(crc, parentLo, 8);
    update(crc, ns, 8);
    update(crc, w6, 8);
    update(crc, w7, 4); // the payload CRC; the header CRC (the high half) covers bytes 0..59
    if ((int) crc.getValue() != (int) (w7 >>> 32)) {
      throw new BadPageException(PageFormat.ERR_HEADER_CRC);
    }
    int payloadLength = (int) (w6 >>> 32);
    if (payloadLength < 0
        || payloadLength > PageFormat.MAX_PAYLOAD_LENGTH
        || payloadLength != len - PageFormat.HEADER_LENGTH) {
      throw new BadPageException(PageFormat.ERR_LENGTH);
    }
  }

  /** Feeds the low {@code bytes} bytes of {@code v} to the CRC in little-endian order. */
  private static void update(CRC32C crc, long v, int bytes) {
    for (int i = 0; i < bytes; i++) {
      crc.update((int) (v >>> (8 * i)));
    }
  }

  private static void writeHeader(ByteBuffer page, long w0, long keyHi, long keyLo, long parentHi,
      long parentLo, long ns, long w6, long w7) {
    PageFormat.putLongLE(page, 0, w0);
    PageFormat.putLongLE(page, PageFormat.KEY_HI_OFFSET, keyHi);
    PageFormat.putLongLE(page, PageFormat.KEY_LO_OFFSET, keyLo);
    PageFormat.putLongLE(page, PageFormat.PARENT_HI_OFFSET, parentHi);
    PageFormat.putLongLE(page, PageFormat.PARENT_LO_OFFSET, parentLo);
    PageFormat.putLongLE(page, PageFormat.NAMESPACE_ID_OFFSET, ns);
    PageFormat.putLongLE(page, PageFormat.TOKEN_COUNT_OFFSET, w6);
    PageFormat.putLongLE(page, PageFormat.PAYLOAD_CRC_OFFSET, w7);
  }
}
