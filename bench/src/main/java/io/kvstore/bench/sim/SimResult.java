package io.kvstore.bench.sim;

/**
 * The outcome of replaying a trace through one policy at one capacity.
 *
 * @param policy the policy's name
 * @param capacityBlocks the cache capacity, in blocks
 * @param hitBlocks block references that were prefix hits
 * @param references all block references of the trace
 * @param insertions blocks stored (misses that were admitted)
 * @param evictions blocks evicted to make room
 */
public record SimResult(
    String policy,
    int capacityBlocks,
    long hitBlocks,
    long references,
    long insertions,
    long evictions) {

  /** Hit blocks over all block references; 0 for an empty trace. */
  public double hitRatio() {
    return references == 0 ? 0.0 : (double) hitBlocks / references;
  }
}
