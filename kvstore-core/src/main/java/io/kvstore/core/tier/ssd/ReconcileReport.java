package io.kvstore.core.tier.ssd;

/**
 * What {@link SsdTier} found and repaired when it opened its data directory.
 *
 * @param pagesLoaded pages found in RocksDB and kept
 * @param bytesLoaded sum of their lengths (the tier's {@code usedBytes} after opening)
 * @param invalidRemoved records removed because they were unreadable or larger than {@code
 *     maxPageBytes} allows, or beyond {@code maxPages}
 * @param evictedToFit pages evicted because the stored pages exceeded the configured capacity
 * @param orphansIndexed pages in RocksDB that the block index did not list (or listed with a wrong
 *     length or parent), now indexed
 * @param danglingRepaired block index entries naming the SSD tier for a page RocksDB does not hold,
 *     now cleared
 * @param source where the directory came from
 * @param recordsRepaired location records of puts a killed process was between (records written,
 *     index entries not) rewritten or deleted, with {@link Source#INDEX_AFTER_CRASH}
 * @param recordsRestored location records written anew from the index for the pages it kept,
 *     after damaged records were discarded ({@link SsdTier#open})
 * @param deletesFinished deletes the killed process had answered without their location record's
 *     delete yet (its crash journal's tombstones): those records deleted before anything read them
 */
public record ReconcileReport(
    long pagesLoaded,
    long bytesLoaded,
    long invalidRemoved,
    long evictedToFit,
    long orphansIndexed,
    long danglingRepaired,
    Source source,
    long recordsRepaired,
    long recordsRestored,
    long deletesFinished) {

  /** Where the SSD tier's directory came from when it opened (spec/6-ssd-segments.md, 6.5). */
  public enum Source {
    /** The index, closed cleanly (rule 5). */
    INDEX,
    /** The index a killed process left, reopened as it was (rule 6, a process crash). */
    INDEX_AFTER_CRASH,
    /** The index after Chronicle's recovery, every entry checked against its page ({@code none}). */
    INDEX_CHECKED,
    /** Rebuilt from RocksDB's location records (rule 6; or a new index after a clean close). */
    RECORDS
  }

  /** Number of index entries repaired (orphans + dangling). */
  public long indexRepairs() {
    return orphansIndexed + danglingRepaired;
  }
}
