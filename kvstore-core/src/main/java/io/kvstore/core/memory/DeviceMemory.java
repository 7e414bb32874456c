package io.kvstore.core.memory;

import java.nio.ByteBuffer;

/**
 * The memory behind a memory tier: {@link #slabCount()} slabs of {@link #slabBytes()} bytes each,
 * addressed by slab index and byte offset, plus the host-side staging buffers the tier reads through
 * when the slabs are not host-visible. The tier (its slot engine) decides which page lives at which
 * offset of which slab; a backend only moves bytes.
 *
 * <p>The tiers never touch slab memory except through this interface, so a backend can put the
 * slabs anywhere. {@link HostDeviceMemory} (the default, used by the hot and the DRAM tier) keeps
 * them in off-heap host memory. A CUDA backend for the hot tier maps onto the same calls without any
 * change to the tier or the store:
 *
 * <ul>
 *   <li>{@link #allocate}: one {@code cudaMalloc} of {@code slabBytes} (or all slabs up front at
 *       construction, the call then doing nothing);
 *   <li>{@link #copyIn}: {@code cudaMemcpy(HostToDevice)} from the source buffer's address to {@code
 *       base(slab) + offset} (for a heap source, first into a pinned staging buffer), synchronous, so
 *       the tier may publish the page when the call returns;
 *   <li>{@link #copyOut}: {@code cudaMemcpy(DeviceToHost)} into the destination buffer's address;
 *   <li>{@link #hostView}: returns {@code null}, since device memory is not host-addressable; the
 *       tier then serves pins and eviction callbacks by copying the page into a buffer from {@link
 *       #allocateStaging}, which that backend allocates with {@code cudaHostAlloc} (page-locked), so
 *       the copy runs at full DMA speed and the pinned page can go to a socket without another copy;
 *   <li>{@link #close()}: {@code cudaFree} of the slabs and {@code cudaFreeHost} of every staging
 *       buffer handed out.
 * </ul>
 *
 * <p>Thread safety: copies to or from distinct byte ranges may run concurrently (the tier guarantees
 * that no range is written while it is read, and that a slab's {@link #allocate} happens-before any
 * copy of it on any thread). {@link #allocateStaging} may be called concurrently. {@link #close()} is
 * called once, after every other call has returned.
 */
public interface DeviceMemory extends AutoCloseable {

  /** Makes a backend of {@code slabCount} slabs of {@code slabBytes} bytes each. */
  @FunctionalInterface
  interface Factory {
    /**
     * A new backend; it is owned (and closed) by the tier from now on.
     *
     * @throws IllegalArgumentException if the backend cannot have slabs of that size
     */
    DeviceMemory create(int slabCount, int slabBytes);
  }

  /** A short name for logs and reports (e.g. {@code "host"}, {@code "cuda:0"}). */
  String name();

  /** Number of slabs. */
  int slabCount();

  /** Size of every slab, in bytes. */
  int slabBytes();

  /**
   * Makes slab {@code slab} usable; called by the tier once, before the first copy into the slab. A
   * backend that allocated everything up front does nothing.
   *
   * @throws IndexOutOfBoundsException if the slab index is out of range
   * @throws OutOfMemoryError if the memory cannot be obtained; nothing is changed then
   */
  void allocate(int slab);

  /**
   * Copies {@code src[position, limit)} to slab {@code slab} at {@code offset}. Does not move {@code
   * src}'s position.
   *
   * @throws IndexOutOfBoundsException if the slab is out of range or not allocated, or the bytes do
   *     not fit in it at that offset
   */
  void copyIn(int slab, int offset, ByteBuffer src);

  /**
   * Copies {@code length} bytes of slab {@code slab} from {@code offset} into {@code dst} at its
   * position, advancing the position by {@code length}.
   *
   * @throws IndexOutOfBoundsException if the range is not inside an allocated slab
   * @throws java.nio.BufferOverflowException if {@code dst} has less than {@code length} remaining
   */
  void copyOut(int slab, int offset, int length, ByteBuffer dst);

  /**
   * A read-write buffer over the whole slab (position 0, limit {@link #slabBytes()}), the same object
   * on every call, valid until {@link #close()}; or {@code null} if slabs are not host-addressable
   * (device memory). Use only absolute accessors or {@code slice} on it, never its position.
   */
  ByteBuffer hostView(int slab);

  /**
   * A new host buffer of {@code bytes} suited to receiving {@link #copyOut} (for a CUDA backend:
   * page-locked memory). Owned by this object: freed by {@link #close()}.
   */
  ByteBuffer allocateStaging(int bytes);

  /**
   * Bytes of memory this backend holds now: the slabs allocated, any allocated ahead of {@link
   * #allocate} (not yet used), and the staging buffers. 0 after {@link #close()}. Safe to call from
   * any thread at any time (a metrics scrape).
   */
  long heldBytes();

  /** Frees the slabs and every staging buffer. Idempotent. */
  @Override
  void close();
}
