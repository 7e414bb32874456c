package io.kvstore.core.index;

/** A test on a 128-bit block key, taken as two longs so no key object is made. */
@FunctionalInterface
public interface KeyPredicate {

  /** Whether the key passes. */
  boolean test(long hi, long lo);
}
