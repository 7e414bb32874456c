package io.kvstore.core.memory;

import java.nio.ByteBuffer;

/**
 * The memory behind the hot tier: {@link #frameCount()} frames of {@link #frameBytes()} bytes each,
 * addressed by frame index, plus the host-side staging buffers the tier reads through when the frames
 * are not host-visible. The hot tier decides what lives in which frame; a backend only moves bytes.
 *
 * <p>The store never touches frame memory except through this interface, so a backend can put the
 * frames anywhere. {@link HostDeviceMemory} (the default) keeps them in off-heap host memory. A CUDA
 * backend maps onto the same calls without any change to the tier or the store:
 *
 * <ul>
 *   <li>construction: one {@code cudaMalloc} of {@code frameCount × frameBytes} (or a few, under the
 *       allocator's limit); frame {@code i} is the device pointer {@code base + i × stride};
 *   <li>{@link #copyIn}: {@code cudaMemcpy(HostToDevice)} from the source buffer's address (for a
 *       heap source, first into a pinned staging buffer), synchronous, so the tier may publish the
 *       frame when the call returns;
 *   <li>{@link #copyOut}: {@code cudaMemcpy(DeviceToHost)} into the destination buffer's address;
 *   <li>{@link #hostView}: returns {@code null}, since device memory is not host-addressable; the
 *       tier then serves pins by copying the frame into a buffer from {@link #allocateStaging()},
 *       which that backend allocates with {@code cudaHostAlloc} (page-locked), so the copy runs at
 *       full DMA speed and the pinned page can go to a socket without another copy;
 *   <li>{@link #close()}: {@code cudaFree} of the frames and {@code cudaFreeHost} of every staging
 *       buffer handed out.
 * </ul>
 *
 * <p>Thread safety: copies to or from distinct frames may run concurrently; the hot tier guarantees
 * that no frame is written while it is read. {@link #allocateStaging()} and {@link #close()} are
 * called under the tier's lock.
 */
public interface DeviceMemory extends AutoCloseable {

  /** A short name for logs and reports (e.g. {@code "host"}, {@code "cuda:0"}). */
  String name();

  /** Number of frames. */
  int frameCount();

  /** Size of every frame, in bytes: the largest page the hot tier can hold. */
  int frameBytes();

  /**
   * Copies {@code src[position, limit)} to the start of frame {@code frame}. Does not move {@code
   * src}'s position.
   *
   * @throws IndexOutOfBoundsException if the frame index is out of range or the source is larger
   *     than a frame
   */
  void copyIn(int frame, ByteBuffer src);

  /**
   * Copies the first {@code length} bytes of frame {@code frame} into {@code dst} at its position,
   * advancing the position by {@code length}.
   *
   * @throws IndexOutOfBoundsException if the frame index or length is out of range
   * @throws java.nio.BufferOverflowException if {@code dst} has less than {@code length} remaining
   */
  void copyOut(int frame, int length, ByteBuffer dst);

  /**
   * A read-write buffer over the frame itself (position 0, limit {@link #frameBytes()}), valid until
   * {@link #close()}, or {@code null} if frames are not host-addressable (device memory).
   */
  ByteBuffer hostView(int frame);

  /**
   * A new host buffer of {@link #frameBytes()} bytes suited to receiving {@link #copyOut} (for a
   * CUDA backend: page-locked memory). Owned by this object: freed by {@link #close()}.
   */
  ByteBuffer allocateStaging();

  /** Frees the frames and every staging buffer. Idempotent. */
  @Override
  void close();
}
