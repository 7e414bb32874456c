package io.kvstore.core.index;

/**
 * The block index's value, a Chronicle "value interface" of fixed size (48 bytes off-heap), so the
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
}
