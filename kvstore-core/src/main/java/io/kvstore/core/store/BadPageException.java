package io.kvstore.core.store;

import io.kvstore.common.PageFormat;

/** A page given to the store is not a well-formed page of {@code spec/2-page-format.md}. */
public final class BadPageException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final int code;

  /** @param code one of {@code PageFormat.ERR_*} */
  public BadPageException(int code) {
    super("bad page: " + PageFormat.describe(code));
    this.code = code;
  }

  /** The {@code PageFormat.ERR_*} code of the failed check. */
  public int code() {
    return code;
  }
}
