package io.kvstore.core.index;

import io.kvstore.core.tier.TierKind;

/**
 * A reusable, mutable copy of one block index entry, filled by {@link BlockIndex#get} and handed to
 * {@link IndexVisitor}s. Callers keep one per thread so reading the index makes no object.
 */
public final class IndexEntry {

  long keyHi;
  long keyLo;
  int tiers;
  boolean dirty;
  int pageLength;
  long accessCount;
  long lastAccessMs;
  long parentHi;
  long parentLo;
  long insertTimeMs;
  long namespaceId;
  long segmentId;
  long segmentOffset;
  int segmentSlot;

  /** High 64 bits of the block key. */
  public long keyHi() {
    return keyHi;
  }

  /** Low 64 bits of the block key. */
  public long keyLo() {
    return keyLo;
  }

  /** The tiers holding the block, as a mask of {@link TierKind#bit()}. */
  public int tiers() {
    return tiers;
  }

  /** Whether {@code tier} holds the block. */
  public boolean isIn(TierKind tier) {
    return (tiers & tier.bit()) != 0;
  }

  /**
   * Whether the memory copy is dirty: put and not yet handed to write-back or written to SSD (a
   * dirty page must be written before it may leave memory).
   */
  public boolean dirty() {
    return dirty;
  }

  /** Page length (header + payload) in bytes. */
  public int pageLength() {
    return pageLength;
  }

  /** Number of accesses recorded by {@link BlockIndex#recordAccess}. */
  public long accessCount() {
    return accessCount;
  }

  /** Time of the last recorded access (or of the insert), epoch ms. */
  public long lastAccessMs() {
    return lastAccessMs;
  }

  /** High 64 bits of the parent block key ({@code 0, 0} for the first block of a chain). */
  public long parentHi() {
    return parentHi;
  }

  /** Low 64 bits of the parent block key. */
  public long parentLo() {
    return parentLo;
  }

  /** Time the entry was created, epoch ms. */
  public long insertTimeMs() {
    return insertTimeMs;
  }

  /** Namespace id of the page (from its header; recorded by every tier that holds it). */
  public long namespaceId() {
    return namespaceId;
  }

  /** Id of the SSD segment holding the page (meaningful while the SSD bit is set). */
  public long segmentId() {
    return segmentId;
  }

  /** Offset of the page in its SSD segment. */
  public long segmentOffset() {
    return segmentOffset;
  }

  /** The SSD tier's slot of that segment. */
  public int segmentSlot() {
    return segmentSlot;
  }

  void copyFrom(long hi, long lo, IndexRecord r) {
    keyHi = hi;
    keyLo = lo;
    tiers = r.getTiers() & BlockIndex.TIER_MASK;
    dirty = (r.getTiers() & BlockIndex.DIRTY_FLAG) != 0;
    pageLength = r.getPageLength();
    accessCount = r.getAccessCount();
    lastAccessMs = r.getLastAccessMs();
    parentHi = r.getParentHi();
    parentLo = r.getParentLo();
    insertTimeMs = r.getInsertTimeMs();
    namespaceId = r.getNamespaceId();
    segmentId = r.getSegmentId();
    segmentOffset = r.getSegmentOffset();
    segmentSlot = r.getSegmentSlot();
  }

  @Override
  public String toString() {
    return String.format(
        "IndexEntry{key=%016x%016x, tiers=%s, dirty=%b, namespace=%d, pageLength=%d, accessCount=%d}",
        keyHi, keyLo, Integer.toBinaryString(tiers), dirty, namespaceId, pageLength, accessCount);
  }
}
