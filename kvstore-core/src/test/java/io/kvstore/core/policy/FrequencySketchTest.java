package io.kvstore.core.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class FrequencySketchTest {

  @Test
  void shouldCountAndSaturateAtFifteen() {
    FrequencySketch sketch = new FrequencySketch(1024);
    assertEquals(0, sketch.frequency(42));
    for (int i = 1; i <= 20; i++) {
      sketch.increment(42);
      assertEquals(Math.min(i, 15), sketch.frequency(42));
    }
  }

  @Test
  void shouldRarelyOverestimateUnseenItems() {
    FrequencySketch sketch = new FrequencySketch(1024);
    for (long item = 0; item < 1024; item++) {
      sketch.increment(item);
    }
    int overestimated = 0;
    for (long item = 1_000_000; item < 1_001_024; item++) {
      overestimated += sketch.frequency(item) > 0 ? 1 : 0;
    }
    assertTrue(overestimated < 50, "unseen items with a count: " + overestimated);
  }

  @Test
  void shouldHalveCountersAfterASample() {
    // 16 expected items: a sample of 160 increments.
    FrequencySketch sketch = new FrequencySketch(16);
    for (int i = 0; i < 12; i++) {
      sketch.increment(7);
    }
    assertEquals(12, sketch.frequency(7));
    for (long item = 100; item < 248; item++) {
      sketch.increment(item);
    }
    int f = sketch.frequency(7);
    assertTrue(f >= 6 && f < 12, "after halving: " + f);
  }

  @Test
  void shouldClear() {
    FrequencySketch sketch = new FrequencySketch(64);
    sketch.increment(1);
    sketch.clear();
    assertEquals(0, sketch.frequency(1));
    assertThrows(IllegalArgumentException.class, () -> new FrequencySketch(0));
  }
}
