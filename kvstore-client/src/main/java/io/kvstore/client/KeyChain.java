package io.kvstore.client;

import io.kvstore.common.Namespace;

/**
 * Turns a token sequence into the chained block keys of {@code spec/1-block-key.md}, for one
 * namespace. The token-level API of {@link KvStoreClient} computes keys through this interface so
 * that the SDK and every engine use the one spec'd hashing ({@code io.kvstore.common.BlockHasher}).
 *
 * <p>Implementations must be deterministic and thread-safe.
 */
public interface KeyChain {

  /**
   * The spec'd key chain of a namespace: keys computed by {@code io.kvstore.common.BlockHasher}
   * exactly as {@code spec/1-block-key.md} §1.4 defines them, block 0 after the root parent, with
   * no per-block extra bytes; the namespace id and block size are the namespace's.
   *
   * @param namespace the namespace (model, dtype, layout, tensor-parallel rank, tenant)
   * @return a thread-safe key chain
   */
  static KeyChain of(Namespace namespace) {
    return new NamespaceKeyChain(namespace);
  }

  /** The namespace id the keys belong to (chapter 1: first 8 bytes of the namespace digest, LE). */
  long namespaceId();

  /** Tokens per block (B). Only full blocks have keys. */
  int tokensPerBlock();

  /**
   * Writes the keys of the first {@code blocks} full blocks of {@code tokens} into {@code keysOut}
   * as (hi, lo) pairs: block {@code i}'s key at {@code keysOut[2i], keysOut[2i + 1]}. Block 0's
   * parent is the root; block {@code i}'s parent is block {@code i - 1}.
   *
   * @throws IllegalArgumentException if {@code tokens} holds fewer than {@code blocks} full blocks
   *     or {@code keysOut} is shorter than {@code 2 * blocks}
   */
  void keys(int[] tokens, int blocks, long[] keysOut);
}
