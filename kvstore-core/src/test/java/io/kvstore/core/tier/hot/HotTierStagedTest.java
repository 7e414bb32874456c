package io.kvstore.core.tier.hot;

import io.kvstore.core.memory.DeviceMemory;
import io.kvstore.core.memory.HostDeviceMemory;
import io.kvstore.core.policy.LruPolicy;
import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.TierContractTest;
import java.nio.ByteBuffer;

/**
 * The tier contract for the hot tier over a backend whose frames are not host-visible (as with
 * CUDA device memory): pins and eviction callbacks go through staging buffers.
 */
class HotTierStagedTest extends TierContractTest {

  @Override
  protected Tier newTier(long capacityBytes, int maxPageBytes) {
    int frameCount = (int) (capacityBytes / maxPageBytes);
    HostDeviceMemory frames = new HostDeviceMemory(frameCount, maxPageBytes);
    // One staging buffer per frame, so that every page can be pinned at once, as the contract asks.
    return new HotTier(new HiddenFrames(frames), LruPolicy::new, frameCount);
  }

  /** Host memory that pretends its frames cannot be addressed from the host. */
  static final class HiddenFrames implements DeviceMemory {
    private final DeviceMemory delegate;

    HiddenFrames(DeviceMemory delegate) {
      this.delegate = delegate;
    }

    @Override
    public String name() {
      return "hidden-" + delegate.name();
    }

    @Override
    public int frameCount() {
      return delegate.frameCount();
    }

    @Override
    public int frameBytes() {
      return delegate.frameBytes();
    }

    @Override
    public void copyIn(int frame, ByteBuffer src) {
      delegate.copyIn(frame, src);
    }

    @Override
    public void copyOut(int frame, int length, ByteBuffer dst) {
      delegate.copyOut(frame, length, dst);
    }

    @Override
    public ByteBuffer hostView(int frame) {
      return null;
    }

    @Override
    public ByteBuffer allocateStaging() {
      return delegate.allocateStaging();
    }

    @Override
    public void close() {
      delegate.close();
    }
  }
}
