package io.kvstore.bench.trace;

import org.agrona.collections.IntArrayList;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.LongArrayList;

/**
 * Accumulates requests into growable primitive arrays and remaps hash ids to dense block ids in
 * order of first appearance (a primitive open-addressing map: no object per block). For format
 * readers: call {@link #beginRequest}, then {@link #addBlock} for each of its blocks in order.
 */
public final class TraceBuilder {

  private static final long ABSENT = -1L;

  private final LongArrayList timestamps = new LongArrayList();
  private final IntArrayList inputs = new IntArrayList();
  private final IntArrayList outputs = new IntArrayList();
  private final IntArrayList offsets = new IntArrayList();
  private final IntArrayList blocks = new IntArrayList();
  private final LongArrayList hashIds = new LongArrayList();
  private final Long2LongHashMap denseIds = new Long2LongHashMap(ABSENT);

  /** Starts the next request. */
  public void beginRequest(long timestampMicros, int inputLength, int outputLength) {
    offsets.addInt(blocks.size());
    timestamps.addLong(timestampMicros);
    inputs.addInt(inputLength);
    outputs.addInt(outputLength);
  }

  /** Appends a block, by its hash id in the trace, to the current request. */
  public void addBlock(long hashId) {
    if (offsets.isEmpty()) {
      throw new IllegalStateException("addBlock before beginRequest");
    }
    long dense = denseIds.get(hashId);
    if (dense == ABSENT) {
      dense = hashIds.size();
      denseIds.put(hashId, dense);
      hashIds.addLong(hashId);
    }
    blocks.addInt((int) dense);
  }

  /** Number of blocks added to the current request so far. */
  public int currentRequestBlocks() {
    return offsets.isEmpty() ? 0 : blocks.size() - offsets.getInt(offsets.size() - 1);
  }

  /** The trace built so far. */
  public Trace build(String source, String format, int blockTokens) {
    int[] requestOffsets = new int[offsets.size() + 1];
    for (int i = 0; i < offsets.size(); i++) {
      requestOffsets[i] = offsets.getInt(i);
    }
    requestOffsets[offsets.size()] = blocks.size();
    return new Trace(
        source,
        format,
        blockTokens,
        timestamps.toLongArray(),
        inputs.toIntArray(),
        outputs.toIntArray(),
        requestOffsets,
        blocks.toIntArray(),
        hashIds.toLongArray());
  }
}
