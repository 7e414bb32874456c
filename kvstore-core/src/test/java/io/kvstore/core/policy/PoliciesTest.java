package io.kvstore.core.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class PoliciesTest {

  @Test
  void shouldCreateEveryListedPolicyUnderItsName() {
    for (String name : Policies.names()) {
      assertEquals(name, Policies.create(name, 16).name());
    }
    assertTrue(Policies.names().contains("lru"));
    assertTrue(Policies.names().contains("prefix-lru"));
  }

  @Test
  void shouldNameAValidDefault() {
    assertTrue(Policies.names().contains(Policies.DEFAULT), Policies.DEFAULT);
  }

  @Test
  void shouldListValidNamesForAnUnknownOne() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Policies.create("fifo", 16));
    assertTrue(e.getMessage().contains("'fifo'"), e.getMessage());
    for (String name : Policies.names()) {
      assertTrue(e.getMessage().contains(name), e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> Policies.create(null, 16));
    assertThrows(IllegalArgumentException.class, () -> Policies.create("lru", 0));
  }
}
