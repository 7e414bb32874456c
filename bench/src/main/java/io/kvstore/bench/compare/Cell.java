package io.kvstore.bench.compare;

import io.kvstore.bench.report.ReportFormat;

/**
 * One cell of the comparison matrix: an operation on pages of one size, in batches of one size,
 * over a number of connections (one worker thread each).
 *
 * @param op {@code get} (look up and fetch the batch: kvstore GET with prefixOnly, Redis MGET) or
 *     {@code put}
 * @param pageBytes payload bytes per page
 * @param batch keys or pages per call
 * @param connections concurrent connections
 */
public record Cell(String op, int pageBytes, int batch, int connections) {

  /** Checks the fields. */
  public Cell {
    if (!op.equals("get") && !op.equals("put")) {
      throw new IllegalArgumentException("unknown op '" + op + "'; valid ops: get, put");
    }
    if (batch < 1 || connections < 1) {
      throw new IllegalArgumentException("batch and connections must be >= 1");
    }
  }

  /** A short name, e.g. {@code get 64 KiB x32 c4}. */
  public String name() {
    return String.format("%s %s x%d c%d", op, ReportFormat.bytes(pageBytes), batch, connections);
  }
}
