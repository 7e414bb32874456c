package io.kvstore.core.tier.hot;

import io.kvstore.core.memory.DeviceMemory;
import io.kvstore.core.memory.HostDeviceMemory;
import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.TierContractTest;
import io.kvstore.core.tier.internal.SlabLayout;
import java.nio.ByteBuffer;

/**
 * The tier contract for the hot tier over a backend whose frames are not host-visible (as with
 * CUDA device memory): pins and eviction callbacks go through staging buffers.
 */
public class HotTierStagedTest extends TierContractTest {

  @Override
  protected Tier newTier(long capacityBytes, int maxPageBytes) {
    // One staging buffer per smallest frame, so that every page can be pinned at once, as the
    // contract asks.
    int frames = (int) (capacityBytes / SlabLayout.DEFAULT_MIN_SLOT_BYTES);
    return HotTier.builder(capacityBytes, maxPageBytes)
        .memory((slabs, slabBytes) -> new HiddenFrames(new HostDeviceMemory(slabs, slabBytes)))
        .stagingBuffers(frames)
        .build();
  }

  /**
   * Host memory that pretends its frames cannot be addressed from the host, as a device backend
   * would (also used by MemoryTierReservationTest).
   */
  public static final class HiddenFrames implements DeviceMemory {
    private final DeviceMemory delegate;

    /** Wraps {@code delegate}, hiding its host view. */
    public HiddenFrames(DeviceMemory delegate) {
      this.delegate = delegate;
    }

    @Override
    public String name() {
      return "hidden-" + delegate.name();
    }

    @Override
    public int slabCount() {
      return delegate.slabCount();
    }

    @Override
    public int slabBytes() {
      return delegate.slabBytes();
    }

    @Override
    public void allocate(int slab) {
      delegate.allocate(slab);
    }

    @Override
    public void copyIn(int slab, int offset, ByteBuffer src) {
      delegate.copyIn(slab, offset, src);
    }

    @Override
    public void copyOut(int slab, int offset, int length, ByteBuffer dst) {
      delegate.copyOut(slab, offset, length, dst);
    }

    @Override
    public ByteBuffer hostView(int slab) {
      return null;
    }

    @Override
    public ByteBuffer allocateStaging(int bytes) {
      return delegate.allocateStaging(bytes);
    }

    @Override
    public long heldBytes() {
      return delegate.heldBytes();
    }

    @Override
    public void close() {
      delegate.close();
    }
  }
}
