package io.kvstore.bench.sim;

/**
 * A cache capacity on the command line: a share of the trace's unique blocks ({@code 5%} or {@code
 * 0.05}, rounded down) or an absolute number of blocks ({@code 2000}: an integer without a dot).
 *
 * @param text the value as written, for reports
 * @param fraction the share of unique blocks, or {@code NaN} for an absolute capacity
 * @param blocks the absolute capacity, or {@code -1} for a share
 */
public record CapacitySpec(String text, double fraction, int blocks) {

  /**
   * Parses {@code 5%}, {@code 0.05} or {@code 2000}.
   *
   * @throws IllegalArgumentException with a message saying what is accepted
   */
  public static CapacitySpec parse(String text) {
    String s = text.trim();
    try {
      if (s.endsWith("%")) {
        return share(text, Double.parseDouble(s.substring(0, s.length() - 1)) / 100.0);
      }
      if (s.contains(".") || s.contains("e") || s.contains("E")) {
        return share(text, Double.parseDouble(s));
      }
      int blocks = Integer.parseInt(s);
      if (blocks <= 0) {
        throw new IllegalArgumentException("capacity must be positive: '" + text + "'");
      }
      return new CapacitySpec(s, Double.NaN, blocks);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "capacity '" + text + "' is not a share (5%, 0.05) or a block count (2000)");
    }
  }

  private static CapacitySpec share(String text, double fraction) {
    if (!(fraction > 0 && fraction <= 1)) {
      throw new IllegalArgumentException(
          "capacity share must be in (0%, 100%]: '" + text.trim() + "'");
    }
    return new CapacitySpec(text.trim(), fraction, -1);
  }

  /** Whether this is a share of the unique blocks. */
  public boolean isShare() {
    return blocks < 0;
  }

  /**
   * The capacity in blocks for a trace with {@code uniqueBlocks} distinct blocks.
   *
   * @throws IllegalArgumentException if a share rounds down to 0 blocks
   */
  public int resolve(int uniqueBlocks) {
    if (!isShare()) {
      return blocks;
    }
    int n = (int) Math.floor(fraction * uniqueBlocks + 1e-9);
    if (n <= 0) {
      throw new IllegalArgumentException(
          "capacity " + text + " of " + uniqueBlocks + " unique blocks rounds down to 0 blocks");
    }
    return n;
  }
}
