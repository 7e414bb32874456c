package io.kvstore.core.tier.internal;

import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kvstore.core.memory.HostDeviceMemory;
import io.kvstore.core.policy.LruPolicy;
import org.junit.jupiter.api.Test;

class SlotEngineTest {

  /**
   * The engine owns the memory it is given: when its constructor refuses it, the memory is closed
   * (its preparer thread stopped and its slab allocated ahead freed), not left behind.
   */
  @Test
  void shouldCloseTheMemoryWhenTheConstructorFails() {
    SlabLayout layout = SlabLayout.of(64L << 20, 1 << 20, 0, 4096, 1.25, 1);
    HostDeviceMemory tooSmall = new HostDeviceMemory(1, 4096);
    assertThrows(IllegalArgumentException.class,
        () -> new SlotEngine("test tier", layout, tooSmall, LruPolicy::new, false, 0));
    assertThrows(IllegalStateException.class, () -> tooSmall.allocate(0), "closed");
  }
}
