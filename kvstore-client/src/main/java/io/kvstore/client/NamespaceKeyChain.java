package io.kvstore.client;

import io.kvstore.common.BlockHasher;
import io.kvstore.common.BlockKey;
import io.kvstore.common.Namespace;
import java.util.Objects;

/**
 * {@link KeyChain#of(Namespace)}: the spec's chained block keys through {@link BlockHasher}'s
 * allocation-free form, which writes the (hi, lo) pairs straight into the caller's array.
 */
final class NamespaceKeyChain implements KeyChain {

  private final Namespace namespace;

  NamespaceKeyChain(Namespace namespace) {
    this.namespace = Objects.requireNonNull(namespace, "namespace");
  }

  @Override
  public long namespaceId() {
    return namespace.id();
  }

  @Override
  public int tokensPerBlock() {
    return namespace.blockSize();
  }

  @Override
  public void keys(int[] tokens, int blocks, long[] keysOut) {
    if (blocks < 0 || (long) blocks * namespace.blockSize() > tokens.length) {
      throw new IllegalArgumentException(blocks + " blocks of " + namespace.blockSize()
          + " tokens do not fit in " + tokens.length + " tokens");
    }
    if (keysOut.length < 2 * blocks) {
      throw new IllegalArgumentException(
          blocks + " keys need " + 2 * blocks + " longs, the output array has " + keysOut.length);
    }
    BlockHasher.keys(namespace, BlockKey.ROOT_PARENT.hi(), BlockKey.ROOT_PARENT.lo(), tokens, 0,
        blocks * namespace.blockSize(), null, keysOut, 0);
  }

  @Override
  public String toString() {
    return "KeyChain.of(" + namespace + ")";
  }
}
