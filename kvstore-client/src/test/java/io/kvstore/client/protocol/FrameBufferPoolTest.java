package io.kvstore.client.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link FrameBufferPool}: reuse once released, bounds, sizes, close. */
class FrameBufferPoolTest {

  private static final int MIB = 1 << 20;

  private final FrameBufferPool pool = new FrameBufferPool(UnpooledByteBufAllocator.DEFAULT, 8L * MIB);

  @AfterEach
  void close() {
    pool.close();
  }

  @Test
  void shouldLendAnEmptyBufferOfExactlyTheCapacityAsked() {
    ByteBuf b = pool.lend(MIB + 5);
    assertNotNull(b);
    assertEquals(MIB + 5, b.capacity());
    assertEquals(MIB + 5, b.maxCapacity(), "never grown in place: its memory must not move");
    assertEquals(0, b.readerIndex());
    assertEquals(0, b.writerIndex());
    assertTrue(b.isDirect());
    assertEquals(2L * MIB, pool.pooledBytes(), "sized in 1 MiB steps");
    b.release();
  }

  @Test
  void shouldReuseTheMemoryOnceEverySliceIsReleased() {
    ByteBuf first = pool.lend(MIB);
    long address = first.memoryAddress();
    ByteBuf frame = first.writeZero(MIB).readRetainedSlice(MIB); // as the decoder hands a frame on
    first.release();
    assertEquals(1, pool.lentBuffers(), "the frame still holds the buffer");
    ByteBuf second = pool.lend(MIB);
    assertTrue(second.memoryAddress() != address, "a buffer a frame still reads is not lent again");
    second.release();
    frame.release();
    assertEquals(0, pool.lentBuffers());
    ByteBuf third = pool.lend(MIB);
    assertTrue(third.memoryAddress() == address || third.memoryAddress() == second.memoryAddress());
    assertEquals(2L * MIB, pool.pooledBytes(), "no new memory once two buffers are free");
    third.release();
  }

  @Test
  void shouldLendTheSmallestFreeBufferThatFits() {
    ByteBuf big = pool.lend(4 * MIB);
    ByteBuf small = pool.lend(MIB);
    long smallAddress = small.memoryAddress();
    big.release();
    small.release();
    ByteBuf again = pool.lend(MIB);
    assertEquals(smallAddress, again.memoryAddress());
    again.release();
  }

  @Test
  void shouldStayWithinItsBytesDroppingFreeBuffersForLargerOnes() {
    ByteBuf a = pool.lend(4 * MIB);
    ByteBuf b = pool.lend(4 * MIB);
    assertNull(pool.lend(MIB), "8 MiB are lent: the caller allocates as usual");
    a.release();
    ByteBuf c = pool.lend(2 * MIB);
    assertNotNull(c, "the free 4 MiB buffer serves a 2 MiB frame");
    c.release();
    b.release();
    ByteBuf d = pool.lend(8 * MIB);
    assertNotNull(d, "free buffers are dropped to make room");
    assertEquals(8L * MIB, pool.pooledBytes());
    assertNull(pool.lend(9 * MIB), "larger than the pool");
    d.release();
  }

  @Test
  void shouldNotPoolSmallFrames() {
    assertNull(pool.lend(FrameBufferPool.MIN_POOLED_FRAME_BYTES - 1));
    assertEquals(0, pool.pooledBytes());
  }

  @Test
  void shouldFreeLentBuffersWhenReleasedAfterClose() {
    ByteBuf lent = pool.lend(MIB);
    ByteBuf parent = lent.unwrap();
    pool.close();
    assertEquals(1, parent.refCnt(), "only the lent slice holds it now");
    assertNull(pool.lend(MIB), "a closed pool lends nothing");
    lent.release();
    assertEquals(0, parent.refCnt(), "freed with its last slice");
    assertEquals(0, pool.pooledBytes());
  }

  @Test
  void shouldRejectANegativeBound() {
    assertThrows(IllegalArgumentException.class,
        () -> new FrameBufferPool(UnpooledByteBufAllocator.DEFAULT, -1));
  }
}
