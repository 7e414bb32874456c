package io.kvstore.core.tier.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SizeClassesTest {

  @Test
  void shouldGrowByFactorInCacheLineStepsUpToLargestPage() {
    SizeClasses classes = SizeClasses.of(4096, 2 * 1024 * 1024 + 64, 1.25);
    assertEquals(4096, classes.smallest());
    assertEquals(2 * 1024 * 1024 + 64, classes.largest());
    for (int c = 1; c < classes.count(); c++) {
      int previous = classes.slotBytes(c - 1);
      int size = classes.slotBytes(c);
      assertEquals(0, size % SizeClasses.SLOT_ALIGNMENT);
      assertTrue(size > previous);
      if (c < classes.count() - 1) {
        assertTrue(size <= previous * 1.25 + SizeClasses.SLOT_ALIGNMENT, "step " + c);
      }
    }
  }

  @Test
  void shouldPickSmallestClassThatHoldsThePage() {
    SizeClasses classes = SizeClasses.of(4096, 16384, 2.0);
    assertEquals("[4096, 8192, 16384]", classes.toString());
    assertEquals(0, classes.classFor(64));
    assertEquals(0, classes.classFor(4096));
    assertEquals(1, classes.classFor(4097));
    assertEquals(2, classes.classFor(16384));
    assertEquals(-1, classes.classFor(16385));
  }

  @Test
  void shouldUseOneClassWhenLargestPageIsBelowMinimum() {
    SizeClasses classes = SizeClasses.of(4096, 1000, 1.25);
    assertEquals(1, classes.count());
    assertEquals(1024, classes.largest());
  }

  @Test
  void shouldRejectBadSettings() {
    assertThrows(IllegalArgumentException.class, () -> SizeClasses.of(0, 100, 1.25));
    assertThrows(IllegalArgumentException.class, () -> SizeClasses.of(64, 100, 1.0));
    assertThrows(IllegalArgumentException.class, () -> SizeClasses.of(64, 100, Double.NaN));
  }
}
