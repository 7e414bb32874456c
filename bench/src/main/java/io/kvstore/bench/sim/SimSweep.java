package io.kvstore.bench.sim;

import io.kvstore.bench.trace.Trace;
import io.kvstore.core.policy.AdmissionPolicy;
import io.kvstore.core.policy.Policies;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Runs a trace through several policies at several capacities (and Belady's MIN as the bound) and
 * collects a {@link SimReport}. Each run gets a fresh policy and admission policy.
 */
public final class SimSweep {

  private SimSweep() {}

  /**
   * Runs the sweep.
   *
   * @param policies names known to {@link Policies}
   * @param capacities capacities in blocks, each positive
   * @param admission makes a fresh admission policy for a capacity ({@code c ->
   *     AdmissionPolicy.ALWAYS} for none)
   * @param withBelady whether to add Belady's MIN
   */
  public static SimReport run(
      Trace trace,
      List<String> policies,
      int[] capacities,
      IntFunction<AdmissionPolicy> admission,
      boolean withBelady) {
    List<SimResult> results = new ArrayList<>();
    String admissionName = admission.apply(1).name();
    for (String name : policies) {
      for (int capacity : capacities) {
        results.add(
            PrefixCacheSimulator.run(
                trace, Policies.create(name, capacity), capacity, admission.apply(capacity)));
      }
    }
    List<SimResult> min = new ArrayList<>();
    if (withBelady) {
      BeladySimulator belady = new BeladySimulator(trace);
      for (int capacity : capacities) {
        min.add(belady.run(capacity));
      }
    }
    return new SimReport(trace, capacities, admissionName, results, min);
  }
}
