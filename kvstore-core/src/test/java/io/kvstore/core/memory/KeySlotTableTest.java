package io.kvstore.core.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class KeySlotTableTest {

  @Test
  void shouldAgreeWithHashMapUnderRandomPutsAndRemoves() {
    KeySlotTable table = new KeySlotTable(4);
    Map<Long, Integer> model = new HashMap<>();
    Random random = new Random(1);
    for (int op = 0; op < 200_000; op++) {
      // Few distinct keys and sequential low halves: long probe runs, many backward shifts.
      long lo = random.nextInt(3000);
      long hi = lo % 3;
      long modelKey = lo;
      if (random.nextInt(3) == 0) {
        Integer expected = model.remove(modelKey);
        assertEquals(expected == null ? KeySlotTable.MISSING : expected, table.remove(hi, lo));
      } else {
        int value = random.nextInt(1_000_000);
        Integer expected = model.put(modelKey, value);
        assertEquals(expected == null ? KeySlotTable.MISSING : expected, table.put(hi, lo, value));
      }
      assertEquals(model.size(), table.size());
    }
    for (long lo = 0; lo < 3000; lo++) {
      Integer expected = model.get(lo);
      assertEquals(expected == null ? KeySlotTable.MISSING : expected, table.get(lo % 3, lo));
    }
    table.clear();
    assertEquals(0, table.size());
    assertEquals(KeySlotTable.MISSING, table.get(0, 0));
  }

  @Test
  void shouldDistinguishKeysThatShareOneHalf() {
    KeySlotTable table = new KeySlotTable(16);
    table.put(1, 2, 10);
    table.put(2, 1, 20);
    table.put(1, 1, 30);
    assertEquals(10, table.get(1, 2));
    assertEquals(20, table.get(2, 1));
    assertEquals(30, table.get(1, 1));
    assertEquals(KeySlotTable.MISSING, table.get(2, 2));
  }

  @Test
  void shouldRejectNegativeValues() {
    KeySlotTable table = new KeySlotTable(16);
    assertThrows(IllegalArgumentException.class, () -> table.put(1, 1, -1));
    assertThrows(IllegalArgumentException.class, () -> new KeySlotTable(-1));
  }
}
