package io.kvstore.client;

import io.kvstore.client.protocol.ErrorCode;

/** The answer to a PUT: a status per page, {@link ErrorCode#OK} when stored. */
public final class PutResult {

  private final int[] statuses;
  private final int stored;

  PutResult(int[] statuses) {
    this.statuses = statuses;
    int count = 0;
    for (int status : statuses) {
      if (status == ErrorCode.OK) {
        count++;
      }
    }
    this.stored = count;
  }

  /** Number of pages sent. */
  public int pageCount() {
    return statuses.length;
  }

  /** Number of pages stored. */
  public int stored() {
    return stored;
  }

  /** Status of page {@code i}: {@link ErrorCode#OK} or why it was not stored. */
  public int status(int i) {
    return statuses[i];
  }

  /** Whether every page was stored. */
  public boolean allStored() {
    return stored == statuses.length;
  }

  @Override
  public String toString() {
    StringBuilder s = new StringBuilder("PutResult[stored=").append(stored).append(", statuses=[");
    for (int i = 0; i < statuses.length; i++) {
      s.append(i == 0 ? "" : ", ").append(ErrorCode.name(statuses[i]));
    }
    return s.append("]]").toString();
  }
}
