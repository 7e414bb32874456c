package io.kvstore.core.tier;

/** The tiers of the store, fastest first. The ordinal is the tier's position in the chain. */
public enum TierKind {
  /** Frames sized to their pages behind {@code MemoryHandle}s, in a {@code DeviceMemory}. */
  HOT,
  /** Size-classed slots in large off-heap slabs. */
  DRAM,
  /** RocksDB with BlobDB; survives restarts. */
  SSD;

  /** Bit of this tier in a "tiers present" mask (as kept by the block index). */
  public int bit() {
    return 1 << ordinal();
  }
}
