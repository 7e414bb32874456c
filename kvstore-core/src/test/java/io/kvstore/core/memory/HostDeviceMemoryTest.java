package io.kvstore.core.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.core.index.ForkedJvm;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Field;
import java.nio.BufferOverflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.agrona.BufferUtil;
import org.junit.jupiter.api.Test;

class HostDeviceMemoryTest {

  @Test
  void shouldAlignRegionsAndFreeThemOnClose() {
    long before = directBytes();
    OffHeapRegion region = new OffHeapRegion(10_000, 4096);
    assertEquals(0, BufferUtil.address(region.byteBuffer()) % 4096);
    assertEquals(10_000, region.capacity());
    assertTrue(directBytes() >= before + 10_000);
    region.close();
    region.close();
    assertTrue(region.isClosed());
    assertEquals(before, directBytes());
  }

  @Test
  void shouldAllocateSlabsLazilyAndCopyAtOffsets() {
    // Freed explicitly: other tests measure the direct pool and must not see it shrink under them.
    ByteBuffer dst = ByteBuffer.allocateDirect(1000);
    try (HostDeviceMemory memory = new HostDeviceMemory(5, 8192)) {
      assertEquals(0, memory.allocatedBytes(), "nothing before the first allocate");
      memory.allocate(1);
      memory.allocate(3);
      memory.allocate(3);
      assertEquals(2 * 8192, memory.allocatedBytes());
      for (int slab : new int[] {1, 3}) {
        ByteBuffer src = ByteBuffer.allocate(1000);
        for (int i = 0; i < 1000; i++) {
          src.put(i, (byte) (slab * 31 + i));
        }
        src.position(10);
        memory.copyIn(slab, 7000, src);
        assertEquals(10, src.position(), "copyIn must not move the source");
      }
      for (int slab : new int[] {1, 3}) {
        dst.clear().position(7);
        memory.copyOut(slab, 7000, 990, dst);
        assertEquals(997, dst.position());
        ByteBuffer view = memory.hostView(slab);
        assertEquals(8192, view.capacity());
        assertEquals(0, BufferUtil.address(view) % HostDeviceMemory.SLAB_ALIGNMENT, "aligned slabs");
        for (int i = 0; i < 990; i++) {
          byte expected = (byte) (slab * 31 + 10 + i);
          assertEquals(expected, dst.get(7 + i));
          assertEquals(expected, view.get(7000 + i));
        }
      }
      assertThrows(IndexOutOfBoundsException.class, () -> memory.hostView(0), "not allocated");
    } finally {
      BufferUtil.free(dst);
    }
  }

  @Test
  void shouldRejectOutOfRangeAccessAndUseAfterClose() {
    HostDeviceMemory memory = new HostDeviceMemory(2, 128);
    memory.allocate(0);
    assertThrows(IndexOutOfBoundsException.class, () -> memory.allocate(2));
    assertThrows(IndexOutOfBoundsException.class, () -> memory.copyIn(2, 0, ByteBuffer.allocate(1)));
    assertThrows(IndexOutOfBoundsException.class, () -> memory.copyIn(1, 0, ByteBuffer.allocate(1)));
    assertThrows(IndexOutOfBoundsException.class, () -> memory.copyIn(0, 0, ByteBuffer.allocate(129)));
    assertThrows(IndexOutOfBoundsException.class, () -> memory.copyIn(0, 100, ByteBuffer.allocate(29)));
    assertThrows(IndexOutOfBoundsException.class, () -> memory.copyOut(-1, 0, 1, ByteBuffer.allocate(1)));
    assertThrows(BufferOverflowException.class, () -> memory.copyOut(0, 0, 100, ByteBuffer.allocate(99)));
    ByteBuffer staging = memory.allocateStaging(300);
    assertEquals(300, staging.capacity());
    memory.close();
    assertThrows(IllegalStateException.class, () -> memory.copyOut(0, 0, 1, ByteBuffer.allocate(1)));
    assertThrows(IllegalStateException.class, () -> memory.allocateStaging(1));
    assertThrows(IllegalStateException.class, () -> memory.allocate(1));
    assertFalse(memory.name().isEmpty());
  }

  @Test
  void shouldTakeSlabsAllocatedAheadAndNeverHoldMoreThanItsCount() throws Exception {
    try (HostDeviceMemory memory = new HostDeviceMemory(3, 1 << 20)) {
      for (int slab : new int[] {0, 2, 1}) {
        awaitPrepared(memory);
        memory.allocate(slab);
      }
      assertEquals(3, memory.slabsFromPrepared(), "every slab was ready when asked for");
      assertEquals(0, memory.slabsAllocatedInline());
      assertEquals(3L << 20, memory.allocatedBytes());
      // All three are allocated: the preparer must not allocate a fourth.
      Thread.sleep(50);
      assertFalse(memory.preparedSlabReady(), "no slab beyond the count is prepared");
      assertEquals(3L << 20, memory.heldBytes(), "held: the three slabs, nothing more");
    }
  }

  @Test
  void shouldFreeThePreparedSlabAndStopThePreparerOnClose() throws Exception {
    long before = directBytes();
    HostDeviceMemory memory = new HostDeviceMemory(4, 1 << 20);
    Thread preparer = preparerOf(memory);
    awaitPrepared(memory);
    assertTrue(directBytes() >= before + (1 << 20), "one slab allocated ahead");
    assertEquals(0, memory.allocatedBytes(), "and not counted as allocated");
    assertEquals(1L << 20, memory.heldBytes(), "but held");
    memory.allocate(2);
    awaitPrepared(memory);
    memory.allocateStaging(4096);
    assertEquals((2L << 20) + 4096, memory.heldBytes(), "one slab taken, the next ahead, staging");
    memory.close();
    assertEquals(0, memory.heldBytes(), "nothing held once closed");
    assertFalse(memory.preparedSlabReady());
    assertEquals(before, directBytes(), "close frees the prepared slab");
    assertFalse(preparer.isAlive(), "close stops and joins the preparer");
  }

  @Test
  void shouldAllocateEverySlabAheadWhenPrefaulting() throws Exception {
    long before = directBytes();
    HostDeviceMemory memory = new HostDeviceMemory(4, 1 << 20, true);
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (memory.preparedSlabs() < 4) {
      assertTrue(System.nanoTime() < deadline, "all four slabs are allocated within 10 s");
      Thread.sleep(1);
    }
    assertTrue(directBytes() >= before + (4L << 20), "the whole capacity is held");
    Thread.sleep(50);
    assertEquals(4, memory.preparedSlabs(), "and never more than the slab count");
    assertEquals(4L << 20, memory.heldBytes());
    memory.allocate(3);
    memory.allocate(0);
    assertEquals(2, memory.slabsFromPrepared());
    assertEquals(2, memory.preparedSlabs());
    assertEquals(2L << 20, memory.allocatedBytes());
    memory.close();
    assertEquals(before, directBytes(), "close frees the allocated and the prepared slabs");
  }

  @Test
  void shouldHandEverySlabOnceWhenShardsAllocateConcurrently() throws Exception {
    int slabs = 64;
    try (HostDeviceMemory memory = new HostDeviceMemory(slabs, 64 << 10)) {
      ExecutorService pool = Executors.newFixedThreadPool(4);
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int first = t * (slabs / 4);
        done.add(pool.submit(() -> {
          for (int i = first; i < first + slabs / 4; i++) {
            memory.allocate(i);
            memory.copyIn(i, 0, ByteBuffer.wrap(new byte[] {(byte) i}));
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
      pool.shutdown();
      assertEquals((long) slabs * (64 << 10), memory.allocatedBytes());
      assertEquals(slabs, memory.slabsFromPrepared() + memory.slabsAllocatedInline());
      Thread.sleep(50);
      assertFalse(memory.preparedSlabReady(), "every slab is allocated: none more is prepared");
      ByteBuffer one = ByteBuffer.allocate(1);
      for (int i = 0; i < slabs; i++) {
        one.clear();
        memory.copyOut(i, 0, 1, one);
        assertEquals((byte) i, one.get(0), "slab " + i);
      }
    }
  }

  @Test
  void shouldStopPreparingAtTheDirectMemoryLimitAndLetAllocateFailWithIt() throws Exception {
    Process p = ForkedJvm.builder(List.of("-XX:MaxDirectMemorySize=8m"), DirectLimitProbe.class)
        .redirectErrorStream(true)
        .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), out);
    assertTrue(out.contains("ok: "), out);
  }

  private static Thread preparerOf(HostDeviceMemory memory) throws Exception {
    Field f = HostDeviceMemory.class.getDeclaredField("preparer");
    f.setAccessible(true);
    return (Thread) f.get(memory);
  }

  private static void awaitPrepared(HostDeviceMemory memory) throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!memory.preparedSlabReady()) {
      assertTrue(System.nanoTime() < deadline, "a slab is prepared within 10 s");
      Thread.sleep(1);
    }
  }

  @Test
  void shouldRejectBadSizes() {
    assertThrows(IllegalArgumentException.class, () -> new HostDeviceMemory(0, 128));
    assertThrows(IllegalArgumentException.class, () -> new HostDeviceMemory(1, 0));
    assertThrows(
        IllegalArgumentException.class,
        () -> new HostDeviceMemory(1, HostDeviceMemory.MAX_SLAB_BYTES + 1));
    assertThrows(IllegalArgumentException.class, () -> new OffHeapRegion(100, 3));
    assertThrows(IllegalArgumentException.class, () -> new OffHeapRegion(0, 64));
  }

  private static long directBytes() {
    for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
      if (pool.getName().equals("direct")) {
        return pool.getMemoryUsed();
      }
    }
    throw new IllegalStateException("no direct buffer pool");
  }
}
