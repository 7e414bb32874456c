package io.kvstore.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TtftModelTest {

  private final TtftModel model = new TtftModel(10_000);

  @Test
  void shouldComputeEveryTokenWithoutTheStore() {
    assertEquals(819_200_000L, model.withoutStoreNanos(8192)); // 8192 / 10k tokens/s = 0.8192 s
    assertEquals(0L, model.withoutStoreNanos(0));
  }

  @Test
  void shouldChargeHitTokensTheirFetchTimeInstead() {
    // 6144 of 8192 tokens fetched in 3 ms: 3 ms + 2048 / 10k s.
    assertEquals(3_000_000L + 204_800_000L, model.withStoreNanos(8192, 6144, 3_000_000L));
    // A full miss still pays its lookup.
    assertEquals(819_200_000L + 50_000L, model.withStoreNanos(8192, 0, 50_000L));
    // A full hit costs only the fetch.
    assertEquals(1_234L, model.withStoreNanos(8192, 8192, 1_234L));
  }

  @Test
  void shouldBeWorseWithTheStoreOnlyWhenFetchingCostsMoreThanComputing() {
    long slowFetch = model.withStoreNanos(1024, 1024, 200_000_000L);
    assertTrue(slowFetch > model.withoutStoreNanos(1024));
  }

  @Test
  void shouldRefuseBadParameters() {
    assertThrows(IllegalArgumentException.class, () -> new TtftModel(0));
    assertThrows(IllegalArgumentException.class, () -> new TtftModel(Double.NaN));
    assertThrows(IllegalArgumentException.class, () -> model.withStoreNanos(10, 11, 0));
  }
}
