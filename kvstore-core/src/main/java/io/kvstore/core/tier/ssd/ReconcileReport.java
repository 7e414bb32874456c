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
 */
public record ReconcileReport(
    long pagesLoaded,
    long bytesLoaded,
    long invalidRemoved,
    long evictedToFit,
    long orphansIndexed,
    long danglingRepaired) {

  /** Number of index entries repaired (orphans + dangling). */
  public long indexRepairs() {
    return orphansIndexed + danglingRepaired;
  }
}
