package io.kvstore.bench.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.bench.TestTraces;
import io.kvstore.bench.trace.Trace;
import io.kvstore.core.policy.AdmissionPolicy;
import io.kvstore.core.policy.Policies;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Pins the simulator's semantics to the hit ratios published with the trace (traces/README.md):
 * LRU and Belady's MIN at 5%, 10% and 20% of the unique blocks. And checks the store's default
 * policy against LRU over the whole default sweep.
 */
class SimSweepOnMooncakeTest {

  private static final double TOLERANCE = 0.001;

  private static int[] capacities(Trace t, String specs) {
    return java.util.Arrays.stream(specs.split(","))
        .map(CapacitySpec::parse)
        .mapToInt(s -> s.resolve(t.uniqueBlocks()))
        .toArray();
  }

  @Test
  void shouldReproduceThePublishedLruAndMinHitRatios() {
    Trace t = TestTraces.mooncake();
    int[] caps = capacities(t, "5%,10%,20%");
    assertEquals(2196, caps[0]);
    SimReport report = SimSweep.run(t, List.of("lru"), caps, c -> AdmissionPolicy.ALWAYS, true);
    double[] lru = {0.1548, 0.2598, 0.3905};
    double[] min = {0.3955, 0.5063, 0.6080};
    for (int i = 0; i < caps.length; i++) {
      assertEquals(lru[i], report.result("lru", caps[i]).hitRatio(), TOLERANCE, "LRU at " + caps[i]);
      assertEquals(min[i], report.result(BeladySimulator.NAME, caps[i]).hitRatio(), TOLERANCE,
          "MIN at " + caps[i]);
    }
  }

  @Test
  void shouldKeepTheDefaultPolicyAtOrAboveLruAndBelowMin() {
    Trace t = TestTraces.mooncake();
    int[] caps = capacities(t, SimCommand.DEFAULT_CAPACITIES);
    SimReport report = SimSweep.run(
        t, List.of("lru", Policies.DEFAULT), caps, c -> AdmissionPolicy.ALWAYS, true);
    for (int c : caps) {
      double lru = report.result("lru", c).hitRatio();
      double def = report.result(Policies.DEFAULT, c).hitRatio();
      double min = report.result(BeladySimulator.NAME, c).hitRatio();
      assertTrue(def >= lru, Policies.DEFAULT + " " + def + " < lru " + lru + " at " + c);
      assertTrue(def <= min, Policies.DEFAULT + " " + def + " > MIN " + min + " at " + c);
    }
  }
}
