package io.kvstore.server.e2e;

import io.kvstore.client.protocol.Opcode;
import io.kvstore.client.shm.ClientRegion;
import io.kvstore.client.shm.ShmFrames;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Shared-memory steps for a {@link RawClient} (spec/4 §4.1). */
final class ShmRaw {

  /** An opened region: the answer's path and length. */
  record Offer(Path path, long length) {}

  private ShmRaw() {}

  /** SHM_OPEN; the answer (SHM_OPEN_OK) decoded, or an AssertionError naming what came. */
  static Offer open(RawClient raw, long requestId) throws IOException {
    raw.send(ShmFrames.encodeOpen(UnpooledByteBufAllocator.DEFAULT, requestId, 0));
    RawClient.Frame f = raw.read();
    if (f.opcode() != Opcode.SHM_OPEN_OK) {
      throw new AssertionError("expected SHM_OPEN_OK, got " + f);
    }
    ByteBuffer b = ByteBuffer.wrap(f.body()).order(ByteOrder.LITTLE_ENDIAN);
    int pathLength = b.getShort(8) & 0xFFFF;
    return new Offer(Path.of(new String(f.body(), 12, pathLength, StandardCharsets.UTF_8)),
        b.getLong(0));
  }

  /** Opens, maps and attaches a region (ids requestId, requestId + 1); returns the mapping. */
  static ClientRegion attach(RawClient raw, long requestId) throws IOException {
    Offer offer = open(raw, requestId);
    ClientRegion region = ClientRegion.map(offer.path(), offer.length());
    raw.send(ShmFrames.encodeAttach(UnpooledByteBufAllocator.DEFAULT, requestId + 1, region.nonce()));
    RawClient.Frame f = raw.read();
    if (f.opcode() != Opcode.SHM_ATTACH_OK) {
      throw new AssertionError("expected SHM_ATTACH_OK, got " + f);
    }
    return region;
  }

  /** Sends SHM_RELEASE of one descriptor and returns the answer. */
  static RawClient.Frame release(RawClient raw, long requestId, long offset, long length,
      int generation) throws IOException {
    long[] d = {offset, ((long) generation << 32) | (length & 0xFFFFFFFFL)};
    raw.send(ShmFrames.encodeRelease(UnpooledByteBufAllocator.DEFAULT, requestId, d, 1));
    return raw.read();
  }

  /** Sends SHM_RELEASE of one descriptor with flag QUIET; reads nothing (none may come). */
  static void releaseQuietly(RawClient raw, long requestId, long offset, long length,
      int generation) throws IOException {
    long[] d = {offset, ((long) generation << 32) | (length & 0xFFFFFFFFL)};
    raw.send(ShmFrames.encodeRelease(UnpooledByteBufAllocator.DEFAULT, requestId,
        Opcode.FLAG_SHM_RELEASE_QUIET, d, 0, 1));
  }

  /** A GET_PAGE (SHM) frame's descriptor: offset, length, generation. */
  static long offset(RawClient.Frame f) {
    return ByteBuffer.wrap(f.body()).order(ByteOrder.LITTLE_ENDIAN).getLong(8);
  }

  static int length(RawClient.Frame f) {
    return f.bodyInt(16);
  }

  static int generation(RawClient.Frame f) {
    return f.bodyInt(20);
  }
}
