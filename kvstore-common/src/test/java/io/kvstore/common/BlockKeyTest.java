package io.kvstore.common;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class BlockKeyTest {

  @Test
  void shouldReadKeyBytesBigEndianSoThatHexIsTheBytesInOrder() {
    String hex = "032b8157dbb5e3a81b8d542b4870a0d5";
    byte[] bytes = HexFormat.of().parseHex(hex);
    BlockKey key = BlockKey.fromBytes(bytes, 0);
    assertEquals(0x032b8157dbb5e3a8L, key.hi());
    assertEquals(0x1b8d542b4870a0d5L, key.lo());
    assertEquals(hex, key.toHex());
    assertEquals(key, BlockKey.fromHex(hex));
    assertArrayEquals(bytes, key.toBytes());
  }

  @Test
  void shouldOrderKeysAsUnsignedNumbers() {
    BlockKey small = new BlockKey(1, 0);
    BlockKey big = new BlockKey(-1, 0); // 0xffff... is the largest, not negative
    assertTrue(small.compareTo(big) < 0);
    assertTrue(new BlockKey(0, 1).compareTo(new BlockKey(0, -1)) < 0);
  }

  @Test
  void shouldRecogniseTheRootParent() {
    assertTrue(BlockKey.ROOT_PARENT.isRoot());
    assertArrayEquals(new byte[16], BlockKey.ROOT_PARENT.toBytes());
  }

  @Test
  void shouldRejectMalformedHexAndShortArrays() {
    assertThrows(IllegalArgumentException.class, () -> BlockKey.fromHex("abc"));
    assertThrows(IllegalArgumentException.class,
        () -> BlockKey.fromHex("+00000000000000f0000000000000000"));
    assertThrows(IllegalArgumentException.class,
        () -> BlockKey.fromHex("g0000000000000000000000000000000"));
    assertThrows(IllegalArgumentException.class, () -> BlockKey.fromBytes(new byte[16], 1));
  }
}
