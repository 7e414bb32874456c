package io.kvstore.core.tier.hot;

import io.kvstore.core.memory.DeviceMemory;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * Host buffers that hot-tier pages are copied into when the backend's frames are not host-visible:
 * at most {@code maxPins} lent to pins at once, plus one kept for eviction callbacks so that an
 * eviction never waits for or competes with pins. Buffers come from {@link
 * DeviceMemory#allocateStaging()} (page-locked memory for a CUDA backend) and are freed with it.
 * Guarded by the tier's lock.
 */
final class StagingPool {

  private final DeviceMemory memory;
  private final int maxPins;
  private final ArrayDeque<ByteBuffer> idle = new ArrayDeque<>();
  private int allocated;
  private ByteBuffer forEviction;

  StagingPool(DeviceMemory memory, int maxPins) {
    if (maxPins < 0) {
      throw new IllegalArgumentException("staging buffers must not be negative: " + maxPins);
    }
    this.memory = memory;
    this.maxPins = maxPins;
  }

  /** A cleared buffer for a pin, or null if all {@code maxPins} are lent. */
  ByteBuffer take() {
    ByteBuffer buffer = idle.poll();
    if (buffer == null && allocated < maxPins) {
      buffer = memory.allocateStaging();
      allocated++;
    }
    return buffer == null ? null : buffer.clear();
  }

  /** Returns a buffer from {@link #take()}. */
  void give(ByteBuffer buffer) {
    idle.push(buffer);
  }

  /** The cleared buffer reserved for eviction callbacks. */
  ByteBuffer forEviction() {
    if (forEviction == null) {
      forEviction = memory.allocateStaging();
    }
    return forEviction.clear();
  }
}
