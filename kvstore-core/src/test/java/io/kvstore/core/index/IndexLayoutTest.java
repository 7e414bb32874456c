package io.kvstore.core.index;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.function.Consumer;
import net.openhft.chronicle.bytes.Byteable;
import net.openhft.chronicle.bytes.BytesStore;
import net.openhft.chronicle.values.Values;
import org.junit.jupiter.api.Test;

/**
 * The block index's key and record have the byte layout spec/6-ssd-segments.md (6.4) gives, in
 * every JVM. The layout is the map file's format: Chronicle orders fields of equal size as
 * reflection lists the methods unless each field has its own {@code @Group}, and that order
 * differed between a daemon and the next process to open its file (the tier word was read from
 * the segment slot, and a cleanly closed store reopened without its pages). Each field is written
 * alone into zeroed off-heap memory through Chronicle's generated flyweight, and must land at its
 * offset, in native (little-endian) order.
 */
class IndexLayoutTest {

  @Test
  void recordFieldsHaveTheirSpecifiedOffsets() {
    IndexRecord r = Values.newNativeReference(IndexRecord.class);
    assertEquals(76, ((Byteable) r).maxSize(), "record size");
    assertAt(r, 0, 8, x -> x.setSegmentId(0x0102030405060708L));
    assertAt(r, 8, 8, x -> x.setSegmentOffset(0x0102030405060708L));
    assertAt(r, 16, 8, x -> x.setNamespaceId(0x0102030405060708L));
    assertAt(r, 24, 8, x -> x.setParentHi(0x0102030405060708L));
    assertAt(r, 32, 8, x -> x.setParentLo(0x0102030405060708L));
    assertAt(r, 40, 8, x -> x.setAccessCount(0x0102030405060708L));
    assertAt(r, 48, 8, x -> x.setLastAccessMs(0x0102030405060708L));
    assertAt(r, 56, 8, x -> x.setInsertTimeMs(0x0102030405060708L));
    assertAt(r, 64, 4, x -> x.setTiers(0x01020304));
    assertAt(r, 68, 4, x -> x.setPageLength(0x01020304));
    assertAt(r, 72, 4, x -> x.setSegmentSlot(0x01020304));
  }

  @Test
  void keyFieldsHaveTheirSpecifiedOffsets() {
    IndexKey k = Values.newNativeReference(IndexKey.class);
    assertEquals(16, ((Byteable) k).maxSize(), "key size");
    assertAt(k, 0, 8, x -> x.setHi(0x0102030405060708L));
    assertAt(k, 8, 8, x -> x.setLo(0x0102030405060708L));
  }

  /**
   * Writes one field (value bytes 01 02 .. {@code width}, most significant first) into zeroed
   * memory and checks it occupies exactly {@code [offset, offset + width)}, least significant
   * byte first.
   */
  private static <T> void assertAt(T flyweight, int offset, int width, Consumer<T> set) {
    Byteable b = (Byteable) flyweight;
    long size = b.maxSize();
    BytesStore<?, ?> store = BytesStore.nativeStoreWithFixedCapacity(size);
    try {
      for (long i = 0; i < size; i++) {
        store.writeByte(i, (byte) 0);
      }
      b.bytesStore(store, 0, size);
      set.accept(flyweight);
      StringBuilder expected = new StringBuilder();
      StringBuilder actual = new StringBuilder();
      for (long i = 0; i < size; i++) {
        int want = i >= offset && i < offset + width ? (int) (width - (i - offset)) : 0;
        expected.append(want).append(' ');
        actual.append(store.readByte(i)).append(' ');
      }
      assertEquals(expected.toString(), actual.toString(), "field at offset " + offset);
    } finally {
      store.releaseLast();
    }
  }
}
