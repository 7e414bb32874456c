package io.kvstore.bench.replay;

/**
 * One request of a workload: when it arrives, its prompt length, and the chained keys of its prompt's
 * blocks ({@code (hi, lo)} pairs, block {@code i} at {@code [2i, 2i + 1]}; block {@code i}'s parent is
 * block {@code i - 1}, the first block's is the root).
 *
 * @param index position in the workload, from 0
 * @param arrivalMicros arrival time, microseconds from the workload's time origin
 * @param inputLength prompt tokens
 * @param blockTokens tokens per block
 * @param keys the blocks' keys
 */
public record Request(long index, long arrivalMicros, int inputLength, int blockTokens, long[] keys) {

  /** Number of blocks. */
  public int blocks() {
    return keys.length / 2;
  }

  /** Prompt tokens in block {@code i}: the block size, less for a last partial block, at least 1. */
  public int tokensInBlock(int i) {
    return Math.max(1, Math.min(blockTokens, inputLength - i * blockTokens));
  }

  /** Prompt tokens covered by the first {@code blocks} blocks (at most the prompt length). */
  public int tokensInFirst(int blocks) {
    return (int) Math.min(inputLength, (long) blocks * blockTokens);
  }
}
