package io.kvstore.client;

import java.util.Arrays;

/**
 * The answer to a LOOKUP: how many keys, from the first, the store holds, and in which tier.
 *
 * @param runLength number of leading keys present
 * @param tierBlocks blocks of the run by fastest tier holding them, in {@code TierKind} order (hot,
 *     DRAM, SSD); they add up to {@code runLength}
 */
public record LookupResult(int runLength, int[] tierBlocks) {

  /** Blocks of the run held in tier {@code tier} (0 = hot), 0 for a tier the daemon did not report. */
  public int blocksInTier(int tier) {
    return tier < tierBlocks.length ? tierBlocks[tier] : 0;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof LookupResult r
        && r.runLength == runLength
        && Arrays.equals(r.tierBlocks, tierBlocks);
  }

  @Override
  public int hashCode() {
    return 31 * runLength + Arrays.hashCode(tierBlocks);
  }

  @Override
  public String toString() {
    return "LookupResult[run=" + runLength + ", tiers=" + Arrays.toString(tierBlocks) + "]";
  }
}
