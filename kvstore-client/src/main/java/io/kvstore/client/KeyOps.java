package io.kvstore.client;

import io.kvstore.common.BlockKey;
import io.kvstore.common.PageFormat;
import java.nio.ByteBuffer;

/** The token-level API's key work: keys of full blocks through the {@link KeyChain}, page headers. */
final class KeyOps {

  private final KeyChain chain;

  KeyOps(KeyChain chain) {
    this.chain = chain;
  }

  private KeyChain chain() {
    if (chain == null) {
      throw new IllegalStateException(
          "the token-level API needs a KeyChain: set one with KvStoreClientBuilder.keyChain");
    }
    return chain;
  }

  int tokensPerBlock() {
    return chain().tokensPerBlock();
  }

  int fullBlocks(int[] tokens) {
    return tokens.length / tokensPerBlock();
  }

  /** Keys of the first {@code blocks} blocks as (hi, lo) pairs. */
  long[] keysOf(int[] tokens, int blocks) {
    long[] keys = new long[2 * blocks];
    if (blocks > 0) {
      chain().keys(tokens, blocks, keys);
    }
    return keys;
  }

  /**
   * Page headers of blocks {@code [firstBlock, firstBlock + payloads.length)} of the chain, each
   * with its parent (the previous block's key, or the root for block 0), 64 bytes per block.
   */
  byte[] headers(long[] keys, int firstBlock, ByteBuffer[] payloads, long namespaceId) {
    byte[] headers = new byte[PageFormat.HEADER_LENGTH * payloads.length];
    ByteBuffer out = ByteBuffer.wrap(headers);
    int tokensPerBlock = tokensPerBlock();
    for (int j = 0; j < payloads.length; j++) {
      int block = firstBlock + j;
      long parentHi = block == 0 ? BlockKey.ROOT_PARENT.hi() : keys[2 * (block - 1)];
      long parentLo = block == 0 ? BlockKey.ROOT_PARENT.lo() : keys[2 * (block - 1) + 1];
      ByteBuffer payload = payloads[j];
      int payloadCrc = PageFormat.crc32c(payload, payload.position(), payload.remaining());
      PageFormat.writeHeader(out, PageFormat.HEADER_LENGTH * j, keys[2 * block], keys[2 * block + 1],
          parentHi, parentLo, namespaceId, tokensPerBlock, payload.remaining(), payloadCrc);
    }
    return headers;
  }
}
