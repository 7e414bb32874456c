package io.kvstore.core.policy;

/*
 * Implementation notes.
 *
 * Hill climbing on the observed hit rate, the way Caffeine sizes its admission window (Einziger,
 * Eytan, Friedman and Manes, "Adaptive Software Cache Management", Middleware 2018, section 3.2:
 * "hill climbing"): every epoch, compare the epoch's hit rate with the previous one; if it got
 * worse, reverse the direction; take a step; let the step decay so the value settles, down to a
 * floor so it can still follow a changing workload. It needs no model of the workload and no ghost
 * entries, only a hit/miss signal, which a policy on dense ids has (onAccess = hit, onInsert =
 * miss).
 */

/** Adapts one parameter in {@code [min, max]} to the hit rate, one step per epoch. */
final class HillClimber {

  private final double initial;
  private final double min;
  private final double max;
  private final double initialStep;
  private final double minStep;
  private final double decay;
  private final long epochEvents;
  private double value;
  private double step;
  private int direction = 1;
  private double previousHitRate = Double.NaN;
  private long hits;
  private long events;

  /**
   * @param initial the starting value
   * @param step the first step (0 keeps the value fixed)
   * @param minStep the smallest step after decay
   * @param decay the factor applied to the step after each epoch
   * @param epochEvents hits plus misses per epoch
   */
  HillClimber(
      double initial,
      double min,
      double max,
      double step,
      double minStep,
      double decay,
      long epochEvents) {
    if (!(min <= initial && initial <= max) || step < 0 || minStep < 0 || epochEvents <= 0) {
      throw new IllegalArgumentException("bad hill climber settings");
    }
    this.initial = initial;
    this.min = min;
    this.max = max;
    this.initialStep = step;
    this.minStep = Math.min(minStep, step);
    this.decay = decay;
    this.epochEvents = epochEvents;
    reset();
  }

  /** Counts one hit or miss; adapts the value at the end of an epoch. */
  void record(boolean hit) {
    if (hit) {
      hits++;
    }
    if (++events >= epochEvents) {
      adapt();
    }
  }

  double value() {
    return value;
  }

  void reset() {
    value = initial;
    step = initialStep;
    direction = 1;
    previousHitRate = Double.NaN;
    hits = 0;
    events = 0;
  }

  private void adapt() {
    double hitRate = (double) hits / events;
    hits = 0;
    events = 0;
    if (hitRate < previousHitRate) {
      direction = -direction;
    }
    previousHitRate = hitRate;
    value = Math.max(min, Math.min(max, value + direction * step));
    step = Math.max(minStep, step * decay);
  }
}
