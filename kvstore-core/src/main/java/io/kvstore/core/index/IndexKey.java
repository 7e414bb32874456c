package io.kvstore.core.index;

/**
 * The block index's key: a 128-bit block key as a Chronicle "value interface", so Chronicle Map
 * stores it as 16 fixed bytes off-heap and a reusable heap instance serves every lookup (no object
 * per query). Public only because Chronicle generates its implementation at runtime.
 */
public interface IndexKey {

  /** High 64 bits of the block key. */
  long getHi();

  /** Sets the high 64 bits. */
  void setHi(long hi);

  /** Low 64 bits of the block key. */
  long getLo();

  /** Sets the low 64 bits. */
  void setLo(long lo);
}
