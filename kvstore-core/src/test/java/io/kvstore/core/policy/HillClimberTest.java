package io.kvstore.core.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class HillClimberTest {

  private static void epoch(HillClimber climber, int hits, int misses) {
    for (int i = 0; i < hits; i++) {
      climber.record(true);
    }
    for (int i = 0; i < misses; i++) {
      climber.record(false);
    }
  }

  @Test
  void shouldKeepDirectionWhileTheHitRateDoesNotDrop() {
    HillClimber c = new HillClimber(1.0, 0, 2, 0.5, 0.1, 0.5, 4);
    epoch(c, 2, 2);
    assertEquals(1.5, c.value(), 1e-12);
    epoch(c, 3, 1);
    assertEquals(1.75, c.value(), 1e-12);
  }

  @Test
  void shouldReverseWhenTheHitRateDrops() {
    HillClimber c = new HillClimber(1.0, 0, 2, 0.5, 0.1, 0.5, 4);
    epoch(c, 3, 1);
    assertEquals(1.5, c.value(), 1e-12);
    // Worse: step back down by the halved step.
    epoch(c, 1, 3);
    assertEquals(1.25, c.value(), 1e-12);
    // Worse again: reverse again, by 0.125.
    epoch(c, 0, 4);
    assertEquals(1.375, c.value(), 1e-12);
    // Still worse (0 of 4 is not below 0 of 4): keep going up, the step at its floor of 0.1.
    epoch(c, 0, 4);
    assertEquals(1.475, c.value(), 1e-12);
  }

  @Test
  void shouldStayWithinBoundsAndResetToTheStart() {
    HillClimber c = new HillClimber(1.9, 0, 2, 0.5, 0.5, 1.0, 2);
    epoch(c, 1, 1);
    assertEquals(2.0, c.value(), 1e-12);
    c.reset();
    assertEquals(1.9, c.value(), 1e-12);
  }

  @Test
  void shouldNotMoveWithAZeroStep() {
    HillClimber c = new HillClimber(0.3, 0, 2, 0, 0, 0.98, 2);
    epoch(c, 1, 1);
    epoch(c, 0, 2);
    assertEquals(0.3, c.value(), 1e-12);
    assertThrows(IllegalArgumentException.class, () -> new HillClimber(3, 0, 2, 0.1, 0.01, 1, 1));
  }
}
