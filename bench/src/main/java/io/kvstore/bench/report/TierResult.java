package io.kvstore.bench.report;

/**
 * What one tier of the store did during a run (counter differences from before to after).
 * Promoted and demoted bytes are pages times the run's page length: every page of a run has the same
 * length, and the store counts pages.
 *
 * @param tier the tier's name: {@code hot}, {@code dram}, {@code ssd} (or {@code redis})
 * @param hits pages served from this tier
 * @param promotedPages pages copied into this tier from a slower one
 * @param promotedBytes their bytes
 * @param demotedPages pages written into this tier when a faster one evicted them
 * @param demotedBytes their bytes
 */
public record TierResult(
    String tier,
    long hits,
    long promotedPages,
    long promotedBytes,
    long demotedPages,
    long demotedBytes) {}
