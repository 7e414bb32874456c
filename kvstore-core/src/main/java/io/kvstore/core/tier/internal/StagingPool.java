package io.kvstore.core.tier.internal;

import io.kvstore.core.memory.DeviceMemory;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * Host buffers that pages are copied into for pins when the backend's slabs are not host-visible: at
 * most {@code maxPins} lent at once, each of the largest slot size. Buffers come from {@link
 * DeviceMemory#allocateStaging} (page-locked memory for a CUDA backend) and are freed with it. Shared
 * by every shard of a tier, so it has its own (short) lock; eviction callbacks do not use it (each
 * shard keeps its own buffer for them, so an eviction never waits for or competes with pins).
 */
final class StagingPool {

  private final DeviceMemory memory;
  private final int maxPins;
  private final int bufferBytes;
  private final ArrayDeque<ByteBuffer> idle = new ArrayDeque<>();
  private int allocated;

  StagingPool(DeviceMemory memory, int maxPins, int bufferBytes) {
    if (maxPins < 0) {
      throw new IllegalArgumentException("staging buffers must not be negative: " + maxPins);
    }
    this.memory = memory;
    this.maxPins = maxPins;
    this.bufferBytes = bufferBytes;
  }

  /** A cleared buffer for a pin, or null if all {@code maxPins} are lent. */
  synchronized ByteBuffer take() {
    ByteBuffer buffer = idle.poll();
    if (buffer == null && allocated < maxPins) {
      buffer = memory.allocateStaging(bufferBytes);
      allocated++;
    }
    return buffer == null ? null : buffer.clear();
  }

  /** Returns a buffer from {@link #take()}. */
  synchronized void give(ByteBuffer buffer) {
    idle.push(buffer);
  }
}
