package io.kvstore.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BackoffTest {

  @Test
  void shouldDoubleUpToTheBoundWithinHalfToAllOfTheCeiling() {
    Backoff backoff = new Backoff(100, 1_000, new SplittableRandom(7)::nextLong);
    long[] ceilings = {100, 200, 400, 800, 1_000, 1_000, 1_000};
    for (int attempt = 1; attempt <= ceilings.length; attempt++) {
      for (int k = 0; k < 200; k++) {
        long d = backoff.delayNanos(attempt);
        long ceiling = ceilings[attempt - 1];
        assertTrue(d >= ceiling / 2 && d <= ceiling, "attempt " + attempt + ": " + d);
      }
    }
    assertTrue(backoff.delayNanos(Integer.MAX_VALUE) <= 1_000, "no overflow on a long outage");
    assertEquals(1_000, backoff.maxNanos());
  }

  @Test
  void shouldJitterTheDelays() {
    Backoff backoff = new Backoff(1_000_000, 8_000_000, new SplittableRandom(1)::nextLong);
    Set<Long> seen = new HashSet<>();
    for (int k = 0; k < 50; k++) {
      seen.add(backoff.delayNanos(3));
    }
    assertTrue(seen.size() > 40, "slots that lost the same daemon must not retry in step: " + seen.size());
  }

  @Test
  void shouldRejectABoundBelowTheBase() {
    assertThrows(IllegalArgumentException.class, () -> new Backoff(10, 5, () -> 0L));
    assertThrows(IllegalArgumentException.class, () -> new Backoff(0, 5, () -> 0L));
  }
}
