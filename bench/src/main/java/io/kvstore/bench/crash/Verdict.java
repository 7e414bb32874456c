package io.kvstore.bench.crash;

/** What one GET of one key showed, judged against the record of acknowledged writes. */
enum Verdict {
  /** The exact bytes of the key's last acknowledged put, or of a put in flight at the kill. */
  EXACT,
  /** No page: allowed (eviction, or the SSD durability mode's bound after a crash). */
  MISS,
  /** Bytes that are no version ever written for the key: never allowed. */
  WRONG,
  /** An intact older version of the key after a newer put was acknowledged: never allowed. */
  STALE,
  /** An intact version of the key after a delete was acknowledged: never allowed. */
  RESURRECTED;

  /** Whether this outcome fails the crash test. */
  boolean isFailure() {
    return this == WRONG || this == STALE || this == RESURRECTED;
  }
}
