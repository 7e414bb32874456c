package io.kvstore.core.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DirtyKeysTest {

  @Test
  void shouldAgreeWithASetUnderRandomAddsAndRemoves() {
    DirtyKeys d = new DirtyKeys();
    Set<String> model = new HashSet<>();
    SplittableRandom r = new SplittableRandom(8);
    for (int i = 0; i < 200_000; i++) {
      long hi = r.nextInt(4);
      long lo = r.nextInt(3000);
      String key = hi + "/" + lo;
      if (r.nextInt(3) == 0) {
        assertEquals(model.remove(key), d.remove(hi, lo), "remove " + key);
      } else {
        d.add(hi, lo);
        model.add(key);
      }
      if (i % 997 == 0) {
        assertEquals(model.contains(key), d.contains(hi, lo));
      }
    }
    assertEquals(model.size(), d.size());
    long[] snap = d.snapshot();
    assertEquals(2 * model.size(), snap.length);
    for (int i = 0; i < snap.length; i += 2) {
      assertTrue(model.contains(snap[i] + "/" + snap[i + 1]));
    }
    for (String k : model) {
      String[] p = k.split("/");
      assertTrue(d.remove(Long.parseLong(p[0]), Long.parseLong(p[1])));
    }
    assertEquals(0, d.size());
    assertFalse(d.contains(0, 0));
  }
}
