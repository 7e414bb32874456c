package io.kvstore.core.index;

/**
 * The block index's value, a Chronicle "value interface" of fixed size (76 bytes off-heap), so the
 * map needs no per-entry objects and no serializer. Public only because Chronicle generates its
 * implementation at runtime; users read entries through {@link IndexEntry}.
 *
 * <pre>
 *  +---------------------------------------------------------------+
 *  |  tiers present (u32 bitmask)  |   page length (u32)           |
 *  +---------------------------------------------------------------+
 *  |                      access count (u64)                       |
 *  |                   last access time (ms, u64)                  |
 *  |                        parent hi (u64)                        |
 *  |                        parent lo (u64)                        |
 *  |                     insert time (ms, u64)                     |
 *  |                      namespace id (u64)                       |   SSD fields: valid only
 *  |                  SSD segment id (u64)                         |   while the SSD bit is set
 *  |                  SSD offset in the segment (u64)              |
 *  |  SSD segment slot (u32, in-memory table index, rewritten on open)
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * (Chronicle orders the fields itself; the diagram shows what is stored, not the byte order.)
 */
public interface IndexRecord {

  /** Tiers holding the block, as a mask of {@code TierKind.bit()}. */
  int getTiers();

  /** Sets the tier mask. */
  void setTiers(int tiers);

  /** Page length (header + payload) in bytes. */
  int getPageLength();

  /** Sets the page length. */
  void setPageLength(int pageLength);

  /** Number of recorded accesses. */
  long getAccessCount();

  /** Sets the access count. */
  void setAccessCount(long accessCount);

  /** Time of the last recorded access, epoch ms. */
  long getLastAccessMs();

  /** Sets the last access time. */
  void setLastAccessMs(long lastAccessMs);

  /** High 64 bits of the parent key. */
  long getParentHi();

  /** Sets the parent's high bits. */
  void setParentHi(long parentHi);

  /** Low 64 bits of the parent key. */
  long getParentLo();

  /** Sets the parent's low bits. */
  void setParentLo(long parentLo);

  /** Time the entry was created, epoch ms. */
  long getInsertTimeMs();

  /** Sets the insert time. */
  void setInsertTimeMs(long insertTimeMs);

  /** Namespace id of the page (from its header). */
  long getNamespaceId();

  /** Sets the namespace id. */
  void setNamespaceId(long namespaceId);

  /** Id of the SSD segment file holding the page. */
  long getSegmentId();

  /** Sets the segment id. */
  void setSegmentId(long segmentId);

  /** Byte offset of the page in its SSD segment. */
  long getSegmentOffset();

  /** Sets the segment offset. */
  void setSegmentOffset(long segmentOffset);

  /** The SSD tier's in-memory slot of the segment (reassigned each time the tier opens). */
  int getSegmentSlot();

  /** Sets the segment slot. */
  void setSegmentSlot(int segmentSlot);
}
