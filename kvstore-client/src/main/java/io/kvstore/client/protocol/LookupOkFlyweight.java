package io.kvstore.client.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * LOOKUP_OK (0x83): the leading run of present keys and its split by tier
 * ({@code spec/3-wire-protocol.md} §3.4.1).
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                         frame header                          |  0
 *  |                          (16 bytes)                           |
 *  +---------------------------------------------------------------+
 *  |              leading run length (u32, in keys)                | 16
 *  +---------------------------------------------------------------+
 *  |                     tier count (u32) = T                      | 20
 *  +---------------------------------------------------------------+
 *  |    blocks of the run in tier 0 (hot) (u32)                    | 24
 *  |    blocks of the run in tier 1 (DRAM) (u32)                   | 28
 *  |    blocks of the run in tier 2 (SSD) (u32)                    | 32
 *  |    ... T counts                                              ...
 *  +---------------------------------------------------------------+
 * </pre>
 */
public final class LookupOkFlyweight extends Flyweight {

  public static final int RUN_LENGTH_OFFSET = 16;
  public static final int TIER_COUNT_OFFSET = 20;
  public static final int TIER_BLOCKS_OFFSET = 24;
  /** Tiers a version-1 daemon reports: hot, DRAM, SSD. */
  public static final int V1_TIER_COUNT = 3;
  /** Most tier counts a frame may carry (a guard against a nonsense count). */
  public static final int MAX_TIER_COUNT = 64;

  /** Encodes a LOOKUP_OK with the first {@code tierCount} entries of {@code tierBlocks}. */
  public static ByteBuf encode(
      ByteBufAllocator alloc, long requestId, int runLength, int[] tierBlocks, int tierCount) {
    if (tierCount < 0 || tierCount > MAX_TIER_COUNT || tierCount > tierBlocks.length) {
      throw new IllegalArgumentException("tier count out of range: " + tierCount);
    }
    int length = TIER_BLOCKS_OFFSET + 4 * tierCount;
    ByteBuf out = alloc.buffer(length);
    FrameDescriptor.writeHeader(out, length, Opcode.LOOKUP_OK, 0, requestId);
    out.writeIntLE(runLength);
    out.writeIntLE(tierCount);
    for (int i = 0; i < tierCount; i++) {
      out.writeIntLE(tierBlocks[i]);
    }
    return out;
  }

  static String check(ByteBuf buf, int index, int length) {
    if (length < TIER_BLOCKS_OFFSET) {
      return "LOOKUP_OK shorter than " + TIER_BLOCKS_OFFSET + " bytes";
    }
    long tiers = buf.getUnsignedIntLE(index + TIER_COUNT_OFFSET);
    if (tiers > MAX_TIER_COUNT || length != TIER_BLOCKS_OFFSET + 4 * tiers) {
      return "LOOKUP_OK of " + tiers + " tiers does not fit its length " + length;
    }
    return null;
  }

  /** Number of keys, from the first, that are all present. */
  public int runLength() {
    return buffer.getIntLE(offset + RUN_LENGTH_OFFSET);
  }

  /** Number of per-tier counts in the frame. */
  public int tierCount() {
    return buffer.getIntLE(offset + TIER_COUNT_OFFSET);
  }

  /** Blocks of the run whose fastest tier is tier {@code tier} (0 = hot). */
  public int tierBlocks(int tier) {
    return buffer.getIntLE(offset + TIER_BLOCKS_OFFSET + 4 * tier);
  }
}
