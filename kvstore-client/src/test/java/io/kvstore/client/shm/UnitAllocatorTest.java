package io.kvstore.client.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The bitmap allocator behind GET leases and PUT room. */
class UnitAllocatorTest {

  @Test
  void shouldNeverHandOutOverlappingRunsAndReturnEveryUnit() {
    UnitAllocator a = new UnitAllocator(1000);
    boolean[] owned = new boolean[1000];
    List<int[]> live = new ArrayList<>();
    SplittableRandom r = new SplittableRandom(42);
    for (int step = 0; step < 20_000; step++) {
      if (live.isEmpty() || r.nextInt(3) > 0) {
        int n = 1 + r.nextInt(130);
        int start = a.allocate(n);
        if (start >= 0) {
          for (int i = start; i < start + n; i++) {
            assertFalse(owned[i], "unit " + i + " handed out twice");
            owned[i] = true;
          }
          live.add(new int[] {start, n});
        }
      } else {
        int[] run = live.remove(r.nextInt(live.size()));
        a.free(run[0], run[1]);
        for (int i = run[0]; i < run[0] + run[1]; i++) {
          owned[i] = false;
        }
      }
    }
    for (int[] run : live) {
      a.free(run[0], run[1]);
    }
    assertEquals(1000, a.freeUnits());
    assertEquals(0, a.allocate(1000), "all free again: one run of every unit");
  }

  @Test
  void shouldTakeTheLowestFreeRunSoRunsGivenBackAreReusedFirst() {
    UnitAllocator a = new UnitAllocator(100);
    // A stream of one-page GETs, each lease given back before the next: always the same units.
    for (int i = 0; i < 50; i++) {
      int start = a.allocate(16);
      assertEquals(0, start, "call " + i);
      a.free(start, 16);
    }
    assertEquals(0, a.allocate(10));
    assertEquals(10, a.allocate(10));
    assertEquals(20, a.allocate(10));
    a.free(10, 10);
    assertEquals(10, a.allocate(5), "the hole at 10, not the free space after 30");
    assertEquals(30, a.allocate(6), "6 units do not fit the 5 left at 15");
  }

  @Test
  void shouldRefuseWhenNoRunFits() {
    UnitAllocator a = new UnitAllocator(10);
    assertEquals(0, a.allocate(4));
    assertEquals(4, a.allocate(4));
    assertEquals(-1, a.allocate(3), "2 units left");
    a.free(0, 4);
    assertEquals(0, a.allocate(3), "the lowest free run");
    assertTrue(a.isUsed(2));
    assertEquals(-1, a.allocate(0));
    assertEquals(-1, a.allocate(11));
  }
}
