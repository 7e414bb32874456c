package io.kvstore.server.net;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.PutOkFlyweight;
import io.kvstore.client.shm.ShmFrames;
import io.kvstore.server.shm.ServerRegion;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.Arrays;

/**
 * One PUT with flag SHM ({@code spec/4-shared-memory.md} §4.4), run on the store executor: each
 * descriptor is bounds-checked against the connection's PUT area (inside it, in increasing order,
 * not overlapping the previous one: else BAD_DESCRIPTOR for that page), and the page is handed to
 * the store as a view of the region ({@link StoreOps#putCopyVerified}), which copies it once into
 * tier memory and checks that copy (header, namespace, both CRCs), with the statuses of a TCP PUT
 * page ({@link PutTask#storeOne}).
 *
 * <p>A client that truncates its region file makes the store's read of a page fault: that page
 * and the rest of the PUT get SHM_UNAVAILABLE and the region is withdrawn ({@link
 * ServerRegion#putFault}); the store thread and the connection carry on.
 *
 * <p>Why the store checks its copy and never the region: the client can write its region at any
 * moment, so a page checked in place could change between its check and the store's copy. Before,
 * the daemon copied each page into a staging buffer, checked it, and the store copied it again.
 */
final class ShmPutTask {

  private ShmPutTask() {}

  static ByteBuf run(ByteBuf frame, long requestId, StoreOps store, long namespaceId,
      int maxPageLength, ServerContext context, ByteBufAllocator alloc, ServerRegion region) {
    int at = frame.readerIndex();
    int count = ShmFrames.count(frame, at);
    int[] statuses = new int[count];
    if (!region.enter()) {
      // The region was closed (its client is gone) or its file truncated: nothing of it is read.
      Arrays.fill(statuses, ErrorCode.SHM_UNAVAILABLE);
      return PutOkFlyweight.encode(alloc, requestId, count, statuses);
    }
    try {
      putPages(frame, at, count, statuses, store, namespaceId, maxPageLength, context, region);
    } finally {
      region.exit();
    }
    return PutOkFlyweight.encode(alloc, requestId, count, statuses);
  }

  private static void putPages(ByteBuf frame, int at, int count, int[] statuses, StoreOps store,
      long namespaceId, int maxPageLength, ServerContext context, ServerRegion region) {
    long notBefore = 0;
    for (int i = 0; i < count; i++) {
      long offset = ShmFrames.descriptorOffset(frame, at, i);
      long length = ShmFrames.descriptorLength(frame, at, i);
      long end = region.checkPut(offset, length, notBefore);
      if (end < 0) {
        statuses[i] = ErrorCode.BAD_DESCRIPTOR;
      } else {
        notBefore = end;
        try {
          statuses[i] = length > maxPageLength
              ? ErrorCode.PAGE_TOO_LARGE
              : PutTask.storeCopyVerified(region.putPage(offset, (int) length), store,
                  namespaceId, maxPageLength);
        } catch (InternalError e) {
          // The store's read of the PUT area faulted (raised right after it, before anything was
          // stored: VerifiedCopyPut): the file was truncated under the mapping. This page and the
          // rest are refused; the region takes nothing more; the store is as it was.
          region.putFault(e);
          for (; i < count; i++) {
            statuses[i] = ErrorCode.SHM_UNAVAILABLE;
            Errors.count(context, ErrorCode.SHM_UNAVAILABLE);
          }
          return;
        }
      }
      if (statuses[i] != ErrorCode.OK) {
        Errors.count(context, statuses[i]);
      }
    }
  }
}
