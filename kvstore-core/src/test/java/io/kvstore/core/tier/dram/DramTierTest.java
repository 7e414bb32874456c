package io.kvstore.core.tier.dram;

import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.TierContractTest;

/** The tier contract for the DRAM tier with default size classes and slabs. */
class DramTierTest extends TierContractTest {

  @Override
  protected Tier newTier(long capacityBytes, int maxPageBytes) {
    return DramTier.builder(capacityBytes, maxPageBytes).build();
  }
}
