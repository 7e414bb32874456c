package io.kvstore.bench.crash;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * The record of what the daemon acknowledged, per key: the last acknowledged put's version or an
 * acknowledged delete, and the puts whose outcome is unknown (in flight when the daemon was killed,
 * or refused with an error), any of which the daemon may hold. Judges what a GET returned.
 *
 * <p>Key {@code k} is written by one writer thread only, so each entry has one writer; the
 * verifier reads after the writers have been joined.
 */
final class KeyModel {

  /** {@link #acked} value of a key never acknowledged. */
  static final long NEVER = 0;
  /** {@link #acked} value of a key whose last acknowledged write was a delete. */
  static final long DELETED = -1;

  private final PagePattern pattern;
  /** Last acknowledged write per key: a version (>= 1), {@link #NEVER} or {@link #DELETED}. */
  private final long[] acked;
  /** Highest version ever sent per key (versions start at 1). */
  private final long[] issued;
  /** Writes (puts and deletes) sent per key, whatever their outcome. */
  private final long[] writes;
  /** Versions sent without a clear answer, per key; cleared by the next acknowledged write. */
  private final Map<Integer, long[]> uncertain = new HashMap<>();

  KeyModel(PagePattern pattern, int keys) {
    this.pattern = pattern;
    this.acked = new long[keys];
    this.issued = new long[keys];
    this.writes = new long[keys];
  }

  /** Number of keys. */
  int keys() {
    return acked.length;
  }

  /** The next version of key {@code k}, recorded as sent. */
  long nextVersion(int k) {
    writes[k]++;
    return ++issued[k];
  }

  /** A delete of key {@code k} is about to be sent. */
  void deleteSent(int k) {
    writes[k]++;
  }

  /**
   * Writes (puts and deletes) sent for key {@code k} so far, whatever their outcome: equal at two
   * moments means nothing was written to the key in between.
   */
  long writes(int k) {
    return writes[k];
  }

  /** A put of {@code version} was acknowledged. */
  void putAcked(int k, long version) {
    acked[k] = version;
    clearUncertain(k);
  }

  /** A delete was acknowledged. */
  void deleteAcked(int k) {
    acked[k] = DELETED;
    clearUncertain(k);
  }

  /** A put of {@code version} may or may not have been stored (no answer, or an error). */
  void putUncertain(int k, long version) {
    synchronized (uncertain) {
      long[] old = uncertain.get(k);
      long[] now = old == null ? new long[1] : java.util.Arrays.copyOf(old, old.length + 1);
      now[now.length - 1] = version;
      uncertain.put(k, now);
    }
  }

  private void clearUncertain(int k) {
    synchronized (uncertain) {
      uncertain.remove(k);
    }
  }

  /** Whether anything was ever sent for key {@code k}. */
  boolean written(int k) {
    return issued[k] > 0;
  }

  /**
   * Whether key {@code k} must be found after a graceful stop: its last acknowledged write is a
   * put and no later put's outcome is unknown.
   */
  boolean ackedPutOnly(int k) {
    if (acked[k] < 1) {
      return false;
    }
    synchronized (uncertain) {
      return !uncertain.containsKey(k);
    }
  }

  /** The last acknowledged put's version of key {@code k} (or {@link #NEVER}, {@link #DELETED}). */
  long ackedVersion(int k) {
    return acked[k];
  }

  /** Number of keys with puts of unknown outcome. */
  int uncertainKeys() {
    synchronized (uncertain) {
      return uncertain.size();
    }
  }

  /**
   * Judges a GET of key {@code k}: {@code length} bytes at {@code page}'s index {@code at}, or a
   * miss when {@code length} is negative. {@code scratch} (a page or more) is overwritten.
   */
  Verdict judge(int k, ByteBuffer page, int at, int length, ByteBuffer scratch) {
    if (length < 0) {
      return Verdict.MISS;
    }
    long v = pattern.claimedVersion(page, at, length);
    if (v < 1 || v > issued[k] || !pattern.matches(page, at, length, k, v, scratch)) {
      return Verdict.WRONG;
    }
    if (acked[k] == v || isUncertain(k, v)) {
      return Verdict.EXACT;
    }
    return acked[k] == DELETED ? Verdict.RESURRECTED : Verdict.STALE;
  }

  private boolean isUncertain(int k, long v) {
    synchronized (uncertain) {
      long[] vs = uncertain.get(k);
      if (vs != null) {
        for (long x : vs) {
          if (x == v) {
            return true;
          }
        }
      }
      return false;
    }
  }
}
