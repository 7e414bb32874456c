package io.kvstore.bench.targets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ByteSizeTest {

  @Test
  void shouldParseBinaryAndDecimalUnits() {
    assertEquals(65_536, ByteSize.parse("64KiB"));
    assertEquals(2L << 20, ByteSize.parse("2 MiB"));
    assertEquals(2L << 20, ByteSize.parse("2mib"));
    assertEquals(1L << 30, ByteSize.parse("1GiB"));
    assertEquals(500_000_000L, ByteSize.parse("500MB"));
    assertEquals(123, ByteSize.parse("123"));
    assertEquals(123, ByteSize.parse("123B"));
  }

  @Test
  void shouldRefuseAmbiguousOrMalformedSizes() {
    assertTrue(assertThrows(IllegalArgumentException.class, () -> ByteSize.parse("64k"))
        .getMessage().contains("unknown unit 'k'"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> ByteSize.parse("1.5GiB"))
        .getMessage().contains("is not a size"));
    assertThrows(IllegalArgumentException.class, () -> ByteSize.parse("-1"));
    assertThrows(IllegalArgumentException.class, () -> ByteSize.parse("99999999999TiB"));
  }

  @Test
  void shouldBoundPageSizesByThePageFormat() {
    assertEquals(2 << 20, ByteSize.parsePageBytes("2MiB"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> ByteSize.parsePageBytes("0"))
        .getMessage().contains("page size must be 1 B to 256 MiB"));
    assertThrows(IllegalArgumentException.class, () -> ByteSize.parsePageBytes("257MiB"));
  }
}
