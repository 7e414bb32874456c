package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PageDirectoryTest {

  @Test
  void shouldAgreeWithAHashMapUnderRandomInsertsAndRemoves() {
    PageDirectory dir = new PageDirectory(300);
    Map<Long, Integer> model = new HashMap<>();
    Map<Long, Integer> ids = new HashMap<>();
    SplittableRandom rnd = new SplittableRandom(7);
    for (int i = 0; i < 100_000; i++) {
      // Few distinct keys so that probe chains collide and wrap around often.
      long k = rnd.nextInt(400);
      int id = dir.find(k, ~k);
      assertEquals(ids.getOrDefault(k, PageDirectory.NONE), id, "key " + k);
      if (id >= 0) {
        assertEquals(model.get(k), dir.length(id));
        if (rnd.nextBoolean()) {
          dir.remove(id);
          model.remove(k);
          ids.remove(k);
        }
      } else if (!dir.isFull()) {
        int len = rnd.nextInt(1 << 20);
        ids.put(k, dir.insert(k, ~k, len));
        model.put(k, len);
      }
      assertEquals(model.size(), dir.size());
    }
    for (Map.Entry<Long, Integer> e : ids.entrySet()) {
      int id = e.getValue();
      assertTrue(id >= 0 && id < 300);
      assertEquals(e.getKey(), dir.keyHi(id));
    }
  }

  @Test
  void shouldRefuseAnInsertWhenFull() {
    PageDirectory dir = new PageDirectory(2);
    dir.insert(1, 1, 10);
    dir.insert(2, 2, 10);
    assertTrue(dir.isFull());
    assertThrows(IllegalStateException.class, () -> dir.insert(3, 3, 10));
  }
}
