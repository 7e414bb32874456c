package io.kvstore.core.tier.ssd;

/**
 * Test-only access to the SSD tier's package-private hooks for tests of other packages (the
 * store's crash and fault tests): holding an eviction between choosing its victim segment and
 * dropping it; writes that fail midway.
 */
public final class SsdTierTestAccess {

  private SsdTierTestAccess() {}

  /** A segment an eviction chose and took out of the table, not dropped yet. */
  public static final class TakenSegment {
    private final Segment segment;

    private TakenSegment(Segment segment) {
      this.segment = segment;
    }

    /** The segment's id. */
    public long id() {
      return segment.id;
    }
  }

  /** Takes the segment holding the key out of the table as an eviction does; does not drop it. */
  public static TakenSegment takeSegmentOf(SsdTier tier, long hi, long lo) {
    return new TakenSegment(tier.takeSegmentOfForTest(hi, lo));
  }

  /**
   * Makes every later write of the tier write at most {@code bytes} and then fail with an I/O
   * error, as a disk that fails in the middle of a write; -1 ends it.
   */
  public static void failWritesAfter(SsdTier tier, long bytes) {
    tier.partialWriteFaultForTest = bytes;
  }

  /** Finishes the eviction: removes the segment's pages and deletes its file. */
  public static void drop(SsdTier tier, TakenSegment taken) {
    tier.dropForTest(taken.segment);
  }
}
