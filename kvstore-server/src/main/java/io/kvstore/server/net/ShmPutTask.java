package io.kvstore.server.net;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.PutOkFlyweight;
import io.kvstore.client.shm.ShmFrames;
import io.kvstore.server.shm.ServerRegion;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteBuffer;

/**
 * One PUT with flag SHM ({@code spec/4-shared-memory.md} §4.4), run on the store executor: each
 * descriptor is bounds-checked against the connection's PUT area (inside it, in increasing order,
 * not overlapping the previous one: else BAD_DESCRIPTOR for that page), the page is copied out of
 * the region into a daemon-owned direct buffer, and that copy is checked and stored exactly as a
 * TCP PUT page ({@link PutTask#storeOne}).
 *
 * <p>Why the copy before the checks: the client can write its region at any moment, so a page
 * checked in place could change between its CRC and namespace check and the store's copy.
 */
final class ShmPutTask {

  private ShmPutTask() {}

  static ByteBuf run(ByteBuf frame, long requestId, StoreOps store, long namespaceId,
      int maxPageLength, ServerContext context, ByteBufAllocator alloc, ServerRegion region) {
    int at = frame.readerIndex();
    int count = ShmFrames.count(frame, at);
    int[] statuses = new int[count];
    long notBefore = 0;
    for (int i = 0; i < count; i++) {
      long offset = ShmFrames.descriptorOffset(frame, at, i);
      long length = ShmFrames.descriptorLength(frame, at, i);
      long end = region.checkPut(offset, length, notBefore);
      if (end < 0) {
        statuses[i] = ErrorCode.BAD_DESCRIPTOR;
      } else {
        notBefore = end;
        statuses[i] = length > maxPageLength
            ? ErrorCode.PAGE_TOO_LARGE : storeCopy(region, offset, (int) length, store, namespaceId,
                maxPageLength, alloc);
      }
      if (statuses[i] != ErrorCode.OK) {
        Errors.count(context, statuses[i]);
      }
    }
    return PutOkFlyweight.encode(alloc, requestId, count, statuses);
  }

  private static int storeCopy(ServerRegion region, long offset, int length, StoreOps store,
      long namespaceId, int maxPageLength, ByteBufAllocator alloc) {
    ByteBuf staging = alloc.directBuffer(length, length);
    try {
      ByteBuffer page = staging.nioBuffer(0, length);
      region.copyOut(offset, length, page);
      return PutTask.storeOne(page, store, namespaceId, maxPageLength);
    } finally {
      staging.release();
    }
  }
}
