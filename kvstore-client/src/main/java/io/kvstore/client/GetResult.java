package io.kvstore.client;

import java.util.Arrays;

/**
 * The answer to a GET: for each key, the length of the page copied into its destination buffer
 * (at the buffer's position, which is not moved), or {@link #MISS}.
 */
public final class GetResult {

  /** Length reported for a key with no page. */
  public static final int MISS = -1;

  private final int[] lengths;
  private final int found;

  GetResult(int[] lengths, int found) {
    this.lengths = lengths;
    this.found = found;
  }

  /** Number of keys requested. */
  public int keyCount() {
    return lengths.length;
  }

  /** Number of pages copied. */
  public int found() {
    return found;
  }

  /** Whether key {@code i} had a page. */
  public boolean isHit(int i) {
    return lengths[i] != MISS;
  }

  /** Length of key {@code i}'s page, or {@link #MISS}. */
  public int length(int i) {
    return lengths[i];
  }

  /** Number of keys, from the first, that all have pages. */
  public int leadingRun() {
    int run = 0;
    while (run < lengths.length && lengths[run] != MISS) {
      run++;
    }
    return run;
  }

  @Override
  public String toString() {
    return "GetResult[found=" + found + ", lengths=" + Arrays.toString(lengths) + "]";
  }
}
