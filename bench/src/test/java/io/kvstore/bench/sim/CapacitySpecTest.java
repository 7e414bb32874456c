package io.kvstore.bench.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CapacitySpecTest {

  @Test
  void shouldRoundSharesDownAndKeepBlockCounts() {
    assertEquals(2196, CapacitySpec.parse("5%").resolve(43_924));
    assertEquals(2196, CapacitySpec.parse("0.05").resolve(43_924));
    assertEquals(4392, CapacitySpec.parse(" 10% ").resolve(43_924));
    assertEquals(43_924, CapacitySpec.parse("100%").resolve(43_924));
    assertEquals(2000, CapacitySpec.parse("2000").resolve(43_924));
    assertTrue(CapacitySpec.parse("5%").isShare());
  }

  @Test
  void shouldRejectWhatIsNeitherAShareNorACount() {
    for (String bad : new String[] {"", "x", "0", "-3", "0%", "101%", "1.5", "NaN%"}) {
      assertThrows(IllegalArgumentException.class, () -> CapacitySpec.parse(bad), bad);
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> CapacitySpec.parse("0.001%").resolve(1000));
    assertTrue(e.getMessage().contains("rounds down to 0"), e.getMessage());
  }
}
