package io.kvstore.bench.compare;

import java.util.List;

/**
 * One performance goal checked over the cells it applies to.
 *
 * @param description what is required, e.g. {@code 2 MiB pages: GB/s >= redis}
 * @param cells cells where both sides were measured
 * @param missed the cells that miss it, each with the measured values
 */
public record Goal(String description, int cells, List<String> missed) {

  /** Cells that meet it. */
  public int met() {
    return cells - missed.size();
  }

  /** One line: met in how many cells, and where it is missed. */
  public String line() {
    if (cells == 0) {
      return description + ": not measured (no such cells, or a side is missing)";
    }
    return description + ": met in " + met() + " of " + cells + " cells"
        + (missed.isEmpty() ? "" : "; missed in " + String.join(", ", missed));
  }
}
