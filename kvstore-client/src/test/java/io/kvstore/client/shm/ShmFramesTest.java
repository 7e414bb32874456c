package io.kvstore.client.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.client.protocol.Opcode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.api.Test;

/** The frames of spec/4, byte for byte, and their layout checks. */
class ShmFramesTest {

  private static final UnpooledByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;

  private static String hex(ByteBuf b) {
    try {
      return ByteBufUtil.hexDump(b);
    } finally {
      b.release();
    }
  }

  @Test
  void shouldEncodeTheGetPageDescriptorAsSpecified() {
    // GET_PAGE 0xC4 flag 0x01, id 3; key index 2; offset 0x3000; length 0x10040; generation 9.
    assertEquals("28000000" + "c4" + "01" + "0000" + "0300000000000000"
        + "02000000" + "00000000" + "0030000000000000" + "40000100" + "09000000",
        hex(ShmFrames.encodeGetPage(ALLOC, 3, 2, 0x3000, 0x10040, 9)));
  }

  @Test
  void shouldEncodeReleaseAndPutDescriptorsAsSpecified() {
    long[] d = {0x1000, (5L << 32) | 0x40};
    assertEquals("28000000" + "0b" + "00" + "0000" + "0700000000000000" + "01000000" + "00000000"
        + "0010000000000000" + "40000000" + "05000000",
        hex(ShmFrames.encodeRelease(ALLOC, 7, d, 1)));
    assertEquals("28000000" + "05" + "01" + "0000" + "0800000000000000" + "01000000" + "00000000"
        + "0020000000000000" + "41000000" + "00000000",
        hex(ShmFrames.encodePut(ALLOC, 8, new long[] {0x2000}, new int[] {0x41}, 0, 1)));
  }

  @Test
  void shouldRoundTripOpenOkAndCheckLayouts() {
    ByteBuf ok = ShmFrames.encodeOpenOk(ALLOC, 2, 64 << 20, "/dev/shm/kvstore-u/ab-1.region");
    try {
      assertNull(ShmFrames.check(ok, 0, ok.readableBytes(), Opcode.SHM_OPEN_OK));
      assertEquals("/dev/shm/kvstore-u/ab-1.region", ShmFrames.path(ok, 0));
      assertNotNull(ShmFrames.check(ok, 0, ok.readableBytes() - 1, Opcode.SHM_OPEN_OK));
    } finally {
      ok.release();
    }
    ByteBuf put = ShmFrames.encodePut(ALLOC, 8, new long[] {0x2000}, new int[] {0x41}, 0, 1);
    try {
      assertNull(ShmFrames.checkPutShm(put, 0, put.readableBytes()));
      put.setIntLE(FrameDescriptor.HEADER_LENGTH + 8 + 12, 1);
      assertNotNull(ShmFrames.checkPutShm(put, 0, put.readableBytes()), "descriptor reserved != 0");
      assertNotNull(ShmFrames.checkPutShm(put, 0, put.readableBytes() - 16), "count vs length");
    } finally {
      put.release();
    }
    ByteBuf page = ShmFrames.encodeGetPage(ALLOC, 3, 2, 0x3000, 0x10040, 9);
    try {
      assertNull(ShmFrames.checkGetPageShm(page, 0, 40));
      assertNotNull(ShmFrames.checkGetPageShm(page, 0, 39));
    } finally {
      page.release();
    }
  }
}
