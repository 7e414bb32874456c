package io.kvstore.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class SizesTest {

  @ParameterizedTest
  @CsvSource({
    "0, 0",
    "123, 123",
    "123B, 123",
    "123b, 123",
    "1KiB, 1024",
    "1kib, 1024",
    "64MiB, 67108864",
    "64 MiB, 67108864",
    "' 64MIB ', 67108864",
    "1GiB, 1073741824",
    "16GiB, 17179869184",
    "2TiB, 2199023255552",
    "1KB, 1000",
    "500MB, 500000000",
    "3gb, 3000000000",
    "1TB, 1000000000000",
    "8388607TiB, 9223370937343148032",
  })
  void shouldParseSizesInEveryUnit(String text, long expected) {
    assertEquals(expected, Sizes.parseBytes(text));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", " ", "MiB", "-1", "-1MiB", "1.5GiB", "512k", "1G", "1M", "1 Mi", "1MiBs",
      "1 2", "0x10", "1e6", "+5", "1_000"})
  void shouldRejectWhatIsNotInTheGrammarAndSayWhatIsExpected(String text) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Sizes.parseBytes(text));
    assertTrue(e.getMessage().contains("expected a size"), e.getMessage());
  }

  @Test
  void shouldRejectSizesBeyondLongRange() {
    assertThrows(IllegalArgumentException.class, () -> Sizes.parseBytes("8388608TiB"));
    assertThrows(IllegalArgumentException.class, () -> Sizes.parseBytes("99999999999999999999"));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Sizes.parseBytes("10000000TB"));
    assertTrue(e.getMessage().contains("too large"), e.getMessage());
  }

  @Test
  void shouldRejectNull() {
    assertThrows(IllegalArgumentException.class, () -> Sizes.parseBytes(null));
  }

  @ParameterizedTest
  @CsvSource({
    "0, 0B",
    "1, 1B",
    "1000, 1000B",
    "1024, 1KiB",
    "1536, 1536 (1.50KiB)",
    "67108864, 64MiB",
    "2097216, 2097216 (2.00MiB)",
    "1073741824, 1GiB",
    "17179869184, 16GiB",
    "3298534883328, 3TiB",
  })
  void shouldFormatInTheLargestExactBinaryUnit(long bytes, String expected) {
    assertEquals(expected, Sizes.format(bytes));
  }

  @ParameterizedTest
  @ValueSource(longs = {0, 1, 1024, 1L << 20, 5L << 30, 7L << 40, 3L << 10})
  void shouldReadBackExactFormats(long bytes) {
    assertEquals(bytes, Sizes.parseBytes(Sizes.format(bytes)));
  }

  @Test
  void shouldRejectNegativeSizesWhenFormatting() {
    assertThrows(IllegalArgumentException.class, () -> Sizes.format(-1));
  }
}
