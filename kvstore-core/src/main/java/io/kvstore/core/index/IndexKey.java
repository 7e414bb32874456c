package io.kvstore.core.index;

import net.openhft.chronicle.values.Group;

/**
 * The block index's key: a 128-bit block key as a Chronicle "value interface", so Chronicle Map
 * stores it as 16 fixed bytes off-heap and a reusable heap instance serves every lookup (no object
 * per query). Public only because Chronicle generates its implementation at runtime. Its layout
 * (hi at offset 0, lo at 8, native byte order) is fixed by the {@link Group}s, as for {@link
 * IndexRecord}.
 */
public interface IndexKey {

  /** High 64 bits of the block key. */
  @Group(1)
  long getHi();

  /** Sets the high 64 bits. */
  void setHi(long hi);

  /** Low 64 bits of the block key. */
  @Group(2)
  long getLo();

  /** Sets the low 64 bits. */
  void setLo(long lo);
}
