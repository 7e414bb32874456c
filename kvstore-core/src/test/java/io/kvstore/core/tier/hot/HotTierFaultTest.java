package io.kvstore.core.tier.hot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.PageFormat;
import io.kvstore.core.memory.DeviceMemory;
import io.kvstore.core.memory.HostDeviceMemory;
import io.kvstore.core.tier.TestPages;
import io.kvstore.core.tier.Tier;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Faults of the backend (a copy or an allocation fails, as a CUDA call can) and of the eviction
 * listener, injected into the slot engine through the hot tier: the call that met the fault fails
 * with the backend's exception, and afterwards every page is exact or a miss, the accounting adds
 * up, and the tier keeps working.
 */
class HotTierFaultTest {

  private static final int MAX_PAGE = 16 * 1024;

  /** Host memory whose copies in and slab allocations fail while told to. */
  static final class FaultyMemory implements DeviceMemory {
    private final HostDeviceMemory delegate;
    volatile boolean failCopyIn;
    volatile boolean failAllocate;

    FaultyMemory(int slabs, int slabBytes) {
      this.delegate = new HostDeviceMemory(slabs, slabBytes);
    }

    @Override
    public String name() {
      return "faulty";
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
      if (failAllocate) {
        throw new OutOfMemoryError("injected: no memory for slab " + slab);
      }
      delegate.allocate(slab);
    }

    @Override
    public void copyIn(int slab, int offset, ByteBuffer src) {
      if (failCopyIn) {
        // Half the page lands before the failure, as a torn device copy would leave it.
        ByteBuffer half = src.duplicate();
        half.limit(half.position() + half.remaining() / 2);
        delegate.copyIn(slab, offset, half);
        throw new IllegalStateException("injected: copy to slab " + slab + " failed");
      }
      delegate.copyIn(slab, offset, src);
    }

    @Override
    public void copyOut(int slab, int offset, int length, ByteBuffer dst) {
      delegate.copyOut(slab, offset, length, dst);
    }

    @Override
    public ByteBuffer hostView(int slab) {
      return delegate.hostView(slab);
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

  private FaultyMemory memory;

  private HotTier tier() {
    return HotTier.builder(256 * 1024, MAX_PAGE)
        .shards(1)
        .slabBytes(32 * 1024)
        .memory((slabs, slabBytes) -> memory = new FaultyMemory(slabs, slabBytes))
        .build();
  }

  @Test
  void shouldDropOrKeepExactPagesWhenACopyInFails() {
    try (HotTier tier = tier()) {
      assertTrue(tier.put(TestPages.page(1, 1, 1, 3000)));
      assertTrue(tier.put(TestPages.page(1, 2, 1, 3000)));
      assertTrue(tier.put(TestPages.page(1, 3, 1, 3000)));
      long used = tier.usedBytes();
      memory.failCopyIn = true;

      // Same size class, nobody reading: replaced in place, so the old version is torn and dropped.
      assertThrows(IllegalStateException.class, () -> tier.put(TestPages.page(1, 1, 2, 3000)));
      assertEquals(Tier.MISS, tier.get(1, 1, ByteBuffer.allocate(MAX_PAGE)), "torn: a miss");
      // Other size class: written to a new frame first, so the old version stays whole.
      assertThrows(IllegalStateException.class, () -> tier.put(TestPages.page(1, 2, 2, 12_000)));
      assertEquals(1, TestPages.check(read(tier, 1, 2), 1, 2));
      // A new key: nothing stored.
      assertThrows(IllegalStateException.class, () -> tier.put(TestPages.page(1, 9, 1, 100)));
      assertFalse(tier.contains(1, 9));

      assertEquals(2, tier.pageCount());
      assertTrue(tier.usedBytes() < used, "the dropped page's frame is free again");
      memory.failCopyIn = false;
      for (int i = 0; i < 100; i++) {
        assertTrue(tier.put(TestPages.page(2, i, 1, 1000 * (i % 15))));
      }
      assertTrue(tier.put(TestPages.page(1, 1, 3, 3000)));
      assertEquals(3, TestPages.check(read(tier, 1, 1), 1, 1));
      assertTrue(tier.usedBytes() <= tier.capacityBytes());
    }
  }

  @Test
  void shouldChangeNothingWhenASlabCannotBeAllocated() {
    try (HotTier tier = tier()) {
      assertTrue(tier.put(TestPages.page(1, 1, 1, 3000)));
      memory.failAllocate = true;
      // A page of another class needs a new slab.
      assertThrows(OutOfMemoryError.class, () -> tier.put(TestPages.page(1, 2, 1, 12_000)));
      assertFalse(tier.contains(1, 2));
      assertEquals(1, tier.pageCount());
      assertEquals(1, TestPages.check(read(tier, 1, 1), 1, 1));
      memory.failAllocate = false;
      assertTrue(tier.put(TestPages.page(1, 2, 1, 12_000)));
      assertEquals(1, TestPages.check(read(tier, 1, 2), 1, 2));
    }
  }

  @Test
  void shouldStayConsistentWhenTheEvictionListenerThrows() {
    try (HotTier tier = tier()) {
      List<Long> told = new ArrayList<>();
      boolean[] fail = {true};
      tier.setEvictionListener(
          (hi, lo, page) -> {
            TestPages.check(page, hi, lo);
            told.add(lo);
            if (fail[0]) {
              throw new IllegalStateException("injected: listener failed");
            }
          });
      int payload = MAX_PAGE - PageFormat.HEADER_LENGTH;
      int i = 0;
      while (told.isEmpty()) {
        int key = i++;
        if (!told.isEmpty()) {
          break;
        }
        try {
          assertTrue(tier.put(TestPages.page(3, key, 1, payload)));
        } catch (IllegalStateException e) {
          assertEquals("injected: listener failed", e.getMessage());
          assertFalse(tier.contains(3, key), "the put that met the failure stored nothing");
        }
      }
      long victim = told.get(0);
      assertFalse(tier.contains(3, victim), "the victim is gone, as the listener was told");
      fail[0] = false;
      for (int k = 0; k < 40; k++) {
        assertTrue(tier.put(TestPages.page(4, k, 1, payload)));
      }
      for (int k = 0; k < i; k++) {
        ByteBuffer page = read(tier, 3, k);
        if (page != null) {
          TestPages.check(page, 3, k);
        }
      }
      assertTrue(tier.usedBytes() <= tier.capacityBytes());
      assertEquals(tier.pageCount() * (long) MAX_PAGE, tier.usedBytes(), "one largest frame each");
    }
  }

  private static ByteBuffer read(Tier tier, long hi, long lo) {
    ByteBuffer dst = ByteBuffer.allocate(MAX_PAGE);
    int length = tier.get(hi, lo, dst);
    return length == Tier.MISS ? null : dst.flip();
  }
}
