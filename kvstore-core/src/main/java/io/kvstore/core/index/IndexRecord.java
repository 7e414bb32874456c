package io.kvstore.core.index;

import net.openhft.chronicle.values.Group;

/**
 * The block index's value, a Chronicle "value interface" of fixed size (76 bytes off-heap), so the
 * map needs no per-entry objects and no serializer. Public only because Chronicle generates its
 * implementation at runtime; users read entries through {@link IndexEntry}.
 *
 * <p>The byte layout is part of the index file's format (spec/6-ssd-segments.md, 6.4) and is fixed
 * by the {@link Group} of each field, one field per group in offset order. Without them Chronicle
 * orders fields of equal size as reflection lists the methods, which differs from one JVM run to
 * another: a file written by one process was read by the next with the tier word and the segment
 * slot swapped (a cleanly closed store reopened without its pages).
 *
 * <pre>
 *  offset  field
 *       0  SSD segment id (u64)              SSD fields: valid only
 *       8  SSD offset in the segment (u64)   while the SSD bit is set
 *      16  namespace id (u64)
 *      24  parent hi (u64)
 *      32  parent lo (u64)
 *      40  access count (u64)
 *      48  last access time (ms, u64)
 *      56  insert time (ms, u64)
 *      64  tier word (u32: tier bits, dirty flag)
 *      68  page length (u32)
 *      72  SSD segment slot (u32, in-memory table index, rewritten on open)
 * </pre>
 */
public interface IndexRecord {

  /** Tiers holding the block, as a mask of {@code TierKind.bit()}. */
  @Group(9)
  int getTiers();

  /** Sets the tier mask. */
  void setTiers(int tiers);

  /** Page length (header + payload) in bytes. */
  @Group(10)
  int getPageLength();

  /** Sets the page length. */
  void setPageLength(int pageLength);

  /** Number of recorded accesses. */
  @Group(6)
  long getAccessCount();

  /** Sets the access count. */
  void setAccessCount(long accessCount);

  /** Time of the last recorded access, epoch ms. */
  @Group(7)
  long getLastAccessMs();

  /** Sets the last access time. */
  void setLastAccessMs(long lastAccessMs);

  /** High 64 bits of the parent key. */
  @Group(4)
  long getParentHi();

  /** Sets the parent's high bits. */
  void setParentHi(long parentHi);

  /** Low 64 bits of the parent key. */
  @Group(5)
  long getParentLo();

  /** Sets the parent's low bits. */
  void setParentLo(long parentLo);

  /** Time the entry was created, epoch ms. */
  @Group(8)
  long getInsertTimeMs();

  /** Sets the insert time. */
  void setInsertTimeMs(long insertTimeMs);

  /** Namespace id of the page (from its header). */
  @Group(3)
  long getNamespaceId();

  /** Sets the namespace id. */
  void setNamespaceId(long namespaceId);

  /** Id of the SSD segment file holding the page. */
  @Group(1)
  long getSegmentId();

  /** Sets the segment id. */
  void setSegmentId(long segmentId);

  /** Byte offset of the page in its SSD segment. */
  @Group(2)
  long getSegmentOffset();

  /** Sets the segment offset. */
  void setSegmentOffset(long segmentOffset);

  /** The SSD tier's in-memory slot of the segment (reassigned each time the tier opens). */
  @Group(11)
  int getSegmentSlot();

  /** Sets the segment slot. */
  void setSegmentSlot(int segmentSlot);
}
