package io.kvstore.core.tier.hot;

import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.TierContractTest;

/** The tier contract for the hot tier over host memory (zero-copy pins on the frames). */
class HotTierTest extends TierContractTest {

  @Override
  protected Tier newTier(long capacityBytes, int maxPageBytes) {
    return HotTier.create(capacityBytes, maxPageBytes);
  }
}
