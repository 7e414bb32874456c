package io.kvstore.bench.trace;

/**
 * A request trace loaded into primitive arrays: per request its arrival time, token counts and the
 * ids of its prompt's prefix blocks, in order. Block hash ids are remapped to dense ints in
 * {@code [0, uniqueBlocks())} in order of first appearance, so simulators can index arrays by block.
 *
 * <p>Block references are stored flat: request {@code r}'s blocks are references
 * {@code [requestStart(r), requestEnd(r))}, and {@link #block(int)} gives the dense id of a
 * reference. Immutable.
 */
public final class Trace {

  private final String source;
  private final String format;
  private final int blockTokens;
  private final long[] timestampMicros;
  private final int[] inputLength;
  private final int[] outputLength;
  private final int[] requestOffsets;
  private final int[] blocks;
  private final long[] hashIds;

  Trace(
      String source,
      String format,
      int blockTokens,
      long[] timestampMicros,
      int[] inputLength,
      int[] outputLength,
      int[] requestOffsets,
      int[] blocks,
      long[] hashIds) {
    if (requestOffsets.length != timestampMicros.length + 1
        || inputLength.length != timestampMicros.length
        || outputLength.length != timestampMicros.length
        || requestOffsets[timestampMicros.length] != blocks.length) {
      throw new IllegalArgumentException("inconsistent trace arrays");
    }
    this.source = source;
    this.format = format;
    this.blockTokens = blockTokens;
    this.timestampMicros = timestampMicros;
    this.inputLength = inputLength;
    this.outputLength = outputLength;
    this.requestOffsets = requestOffsets;
    this.blocks = blocks;
    this.hashIds = hashIds;
  }

  /** Where the trace came from (a file name), for reports. */
  public String source() {
    return source;
  }

  /** The name of the trace format it was read with. */
  public String format() {
    return format;
  }

  /** Tokens per block in this trace. */
  public int blockTokens() {
    return blockTokens;
  }

  /** Number of requests. */
  public int requestCount() {
    return timestampMicros.length;
  }

  /** Number of distinct blocks. */
  public int uniqueBlocks() {
    return hashIds.length;
  }

  /** Number of block references (the sum of all requests' block counts). */
  public int blockReferences() {
    return blocks.length;
  }

  /** Arrival time of request {@code r}, in microseconds from the trace's time origin. */
  public long timestampMicros(int r) {
    return timestampMicros[r];
  }

  /** Prompt length of request {@code r}, in tokens. */
  public int inputLength(int r) {
    return inputLength[r];
  }

  /** Output length of request {@code r}, in tokens. */
  public int outputLength(int r) {
    return outputLength[r];
  }

  /** Index of request {@code r}'s first block reference. */
  public int requestStart(int r) {
    return requestOffsets[r];
  }

  /** One past the index of request {@code r}'s last block reference. */
  public int requestEnd(int r) {
    return requestOffsets[r + 1];
  }

  /** Number of blocks of request {@code r}. */
  public int blockCount(int r) {
    return requestOffsets[r + 1] - requestOffsets[r];
  }

  /** The dense block id of block reference {@code ref}. */
  public int block(int ref) {
    return blocks[ref];
  }

  /** The hash id, as written in the trace, of dense block id {@code block}. */
  public long hashId(int block) {
    return hashIds[block];
  }

  /**
   * Whether request {@code r}'s last block holds fewer than {@link #blockTokens()} tokens (its
   * prompt length is not a multiple of the block size).
   */
  public boolean lastBlockPartial(int r) {
    return blockCount(r) > 0 && inputLength[r] % blockTokens != 0;
  }

  @Override
  public String toString() {
    return String.format(
        "%s (%s): %,d requests, %,d unique blocks, %,d block references, %d tokens per block",
        source, format, requestCount(), uniqueBlocks(), blockReferences(), blockTokens);
  }
}
