package io.kvstore.client.shm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.ByteBuffer;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The region header of spec/4 §4.2, byte for byte (its test vector). */
class RegionHeaderTest {

  /** spec/4-shared-memory.md §4.2 test vector: a 1 MiB region of connection 7, nonce 00..0f. */
  private static final String VECTOR =
      "4b56534d 01000000 00001000 00000000 07000000 00000000 00010203 04050607"
          + "08090a0b 0c0d0e0f 00100000 00000000 00f00700 00000000 00000800 00000000"
          + "00f00700 00000000";

  private static byte[] nonce() {
    byte[] n = new byte[16];
    for (int i = 0; i < 16; i++) {
      n[i] = (byte) i;
    }
    return n;
  }

  @Test
  void shouldWriteTheSpecVector() {
    ByteBuffer region = ByteBuffer.allocate(1 << 20);
    RegionLayout.writeHeader(region, 1 << 20, 7, nonce());
    byte[] expected = HexFormat.of().parseHex(VECTOR.replace(" ", ""));
    byte[] actual = new byte[expected.length];
    region.get(0, actual);
    assertArrayEquals(expected, actual);
    for (int i = expected.length; i < RegionLayout.HEADER_LENGTH; i++) {
      assertEquals(0, region.get(i), "zero to 4096 at " + i);
    }
    assertEquals(520_192, RegionLayout.areaLength(1 << 20));
  }

  @Test
  void shouldAcceptItsOwnHeaderAndReadTheNonce() {
    ByteBuffer region = ByteBuffer.allocate(1 << 20);
    RegionLayout.writeHeader(region, 1 << 20, 7, nonce());
    assertNull(RegionLayout.check(region, 1 << 20));
    assertArrayEquals(nonce(), RegionLayout.nonce(region));
  }

  @Test
  void shouldRejectAHeaderForAnotherLengthOrWithoutMagic() {
    ByteBuffer region = ByteBuffer.allocate(1 << 20);
    RegionLayout.writeHeader(region, 1 << 20, 7, nonce());
    assertNotNull(RegionLayout.check(region, 2 << 20), "length disagrees with the mapping");
    region.put(0, (byte) 0);
    assertNotNull(RegionLayout.check(region, 1 << 20), "magic");
    assertNotNull(RegionLayout.check(ByteBuffer.allocate(100), 100), "too short for a header");
  }
}
