package io.kvstore.client.shm;

import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.client.protocol.Opcode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * The frames of the shared-memory extension ({@code spec/4-shared-memory.md}): SHM_OPEN(_OK),
 * SHM_ATTACH(_OK), SHM_RELEASE(_OK), the descriptor form of GET_PAGE (flag SHM) and of PUT (flag
 * SHM). Static encoders, layout checks (called by the frame decoder before a frame is delivered)
 * and readers at an absolute frame index; nothing here allocates per page.
 *
 * <p>A GET lease descriptor is packed in two longs wherever the code keeps many of them: the
 * region offset, then {@code (generation << 32) | length} (the wire order of the two u32 fields
 * read as one little-endian u64).
 */
public final class ShmFrames {

  /** SHM_OPEN: wanted region bytes (u64). */
  public static final int OPEN_WANTED_OFFSET = 16;
  public static final int OPEN_LENGTH = 24;
  /** SHM_OPEN_OK fields. */
  public static final int OPEN_OK_REGION_LENGTH_OFFSET = 16;
  public static final int OPEN_OK_PATH_LENGTH_OFFSET = 24;
  public static final int OPEN_OK_RESERVED_OFFSET = 26;
  public static final int OPEN_OK_PATH_OFFSET = 28;
  /** Longest region path. */
  public static final int MAX_PATH_BYTES = 1024;
  /** SHM_ATTACH: the 16-byte nonce. */
  public static final int ATTACH_NONCE_OFFSET = 16;
  public static final int NONCE_LENGTH = 16;
  public static final int ATTACH_LENGTH = ATTACH_NONCE_OFFSET + NONCE_LENGTH;
  /** SHM_RELEASE and PUT (SHM): count, reserved, then 16-byte descriptors. */
  public static final int COUNT_OFFSET = 16;
  public static final int COUNT_RESERVED_OFFSET = 20;
  public static final int DESCRIPTORS_OFFSET = 24;
  public static final int DESCRIPTOR_LENGTH = 16;
  /** SHM_RELEASE_OK: count, released. */
  public static final int RELEASED_OFFSET = 20;
  public static final int RELEASE_OK_LENGTH = 24;
  /** GET_PAGE (SHM): key index, reserved, offset, length, generation. */
  public static final int PAGE_KEY_INDEX_OFFSET = 16;
  public static final int PAGE_RESERVED_OFFSET = 20;
  public static final int PAGE_REGION_OFFSET = 24;
  public static final int PAGE_LENGTH_OFFSET = 32;
  public static final int PAGE_GENERATION_OFFSET = 36;
  public static final int GET_PAGE_SHM_LENGTH = 40;

  private ShmFrames() {}

  /** SHM_OPEN asking for {@code wantedBytes} (0: the daemon's default). */
  public static ByteBuf encodeOpen(ByteBufAllocator alloc, long requestId, long wantedBytes) {
    ByteBuf out = alloc.buffer(OPEN_LENGTH);
    FrameDescriptor.writeHeader(out, OPEN_LENGTH, Opcode.SHM_OPEN, 0, requestId);
    out.writeLongLE(wantedBytes);
    return out;
  }

  /** SHM_OPEN_OK naming the region file. */
  public static ByteBuf encodeOpenOk(
      ByteBufAllocator alloc, long requestId, long regionLength, String path) {
    byte[] p = path.getBytes(StandardCharsets.UTF_8);
    if (p.length > MAX_PATH_BYTES) {
      throw new IllegalArgumentException("region path longer than " + MAX_PATH_BYTES + " bytes");
    }
    int length = OPEN_OK_PATH_OFFSET + p.length;
    ByteBuf out = alloc.buffer(length);
    FrameDescriptor.writeHeader(out, length, Opcode.SHM_OPEN_OK, 0, requestId);
    out.writeLongLE(regionLength);
    out.writeShortLE(p.length);
    out.writeShortLE(0);
    out.writeBytes(p);
    return out;
  }

  /** SHM_ATTACH echoing the region's nonce. */
  public static ByteBuf encodeAttach(ByteBufAllocator alloc, long requestId, byte[] nonce) {
    if (nonce.length != NONCE_LENGTH) {
      throw new IllegalArgumentException("a nonce is " + NONCE_LENGTH + " bytes");
    }
    ByteBuf out = alloc.buffer(ATTACH_LENGTH);
    FrameDescriptor.writeHeader(out, ATTACH_LENGTH, Opcode.SHM_ATTACH, 0, requestId);
    out.writeBytes(nonce);
    return out;
  }

  /** A frame with a header only (SHM_ATTACH_OK). */
  public static ByteBuf encodeEmpty(ByteBufAllocator alloc, int opcode, long requestId) {
    ByteBuf out = alloc.buffer(FrameDescriptor.HEADER_LENGTH);
    FrameDescriptor.writeHeader(out, FrameDescriptor.HEADER_LENGTH, opcode, 0, requestId);
    return out;
  }

  /**
   * SHM_RELEASE of {@code count} packed lease descriptors (two longs each, see the class notes).
   */
  public static ByteBuf encodeRelease(
      ByteBufAllocator alloc, long requestId, long[] descriptors, int count) {
    return encodeRelease(alloc, requestId, 0, descriptors, 0, count);
  }

  /**
   * SHM_RELEASE with {@code flags} (0, or {@link Opcode#FLAG_SHM_RELEASE_QUIET}) of packed lease
   * descriptors {@code [from, from + count)}.
   */
  public static ByteBuf encodeRelease(ByteBufAllocator alloc, long requestId, int flags,
      long[] descriptors, int from, int count) {
    int length = DESCRIPTORS_OFFSET + DESCRIPTOR_LENGTH * count;
    ByteBuf out = alloc.buffer(length);
    FrameDescriptor.writeHeader(out, length, Opcode.SHM_RELEASE, flags, requestId);
    out.writeIntLE(count);
    out.writeIntLE(0);
    for (int i = from; i < from + count; i++) {
      out.writeLongLE(descriptors[2 * i]);
      out.writeLongLE(descriptors[2 * i + 1]);
    }
    return out;
  }

  /** SHM_RELEASE_OK. */
  public static ByteBuf encodeReleaseOk(
      ByteBufAllocator alloc, long requestId, int count, int released) {
    ByteBuf out = alloc.buffer(RELEASE_OK_LENGTH);
    FrameDescriptor.writeHeader(out, RELEASE_OK_LENGTH, Opcode.SHM_RELEASE_OK, 0, requestId);
    out.writeIntLE(count);
    out.writeIntLE(released);
    return out;
  }

  /** GET_PAGE with flag SHM: the page is at {@code regionOffset} in the client's region. */
  public static ByteBuf encodeGetPage(ByteBufAllocator alloc, long requestId, int keyIndex,
      long regionOffset, int length, int generation) {
    ByteBuf out = alloc.buffer(GET_PAGE_SHM_LENGTH);
    FrameDescriptor.writeHeader(out, GET_PAGE_SHM_LENGTH, Opcode.GET_PAGE,
        Opcode.FLAG_GET_PAGE_SHM, requestId);
    out.writeIntLE(keyIndex);
    out.writeIntLE(0);
    out.writeLongLE(regionOffset);
    out.writeIntLE(length);
    out.writeIntLE(generation);
    return out;
  }

  /** PUT with flag SHM: pages {@code [from, from + count)} at these region offsets and lengths. */
  public static ByteBuf encodePut(ByteBufAllocator alloc, long requestId, long[] offsets,
      int[] lengths, int from, int count) {
    int length = DESCRIPTORS_OFFSET + DESCRIPTOR_LENGTH * count;
    ByteBuf out = alloc.buffer(length);
    FrameDescriptor.writeHeader(out, length, Opcode.PUT, Opcode.FLAG_PUT_SHM, requestId);
    out.writeIntLE(count);
    out.writeIntLE(0);
    for (int i = from; i < from + count; i++) {
      out.writeLongLE(offsets[i]);
      out.writeIntLE(lengths[i]);
      out.writeIntLE(0);
    }
    return out;
  }

  /** Layout check of the SHM_* frames; null when well formed. */
  public static String check(ByteBuf buf, int index, int length, int opcode) {
    switch (opcode) {
      case Opcode.SHM_OPEN:
        return length == OPEN_LENGTH ? null : "SHM_OPEN must be " + OPEN_LENGTH + " bytes";
      case Opcode.SHM_ATTACH:
        return length == ATTACH_LENGTH ? null : "SHM_ATTACH must be " + ATTACH_LENGTH + " bytes";
      case Opcode.SHM_ATTACH_OK:
        return length == FrameDescriptor.HEADER_LENGTH ? null : "SHM_ATTACH_OK has no body";
      case Opcode.SHM_RELEASE_OK:
        return length == RELEASE_OK_LENGTH ? null
            : "SHM_RELEASE_OK must be " + RELEASE_OK_LENGTH + " bytes";
      case Opcode.SHM_OPEN_OK: {
        if (length < OPEN_OK_PATH_OFFSET) {
          return "SHM_OPEN_OK shorter than " + OPEN_OK_PATH_OFFSET + " bytes";
        }
        int pathLength = buf.getUnsignedShortLE(index + OPEN_OK_PATH_LENGTH_OFFSET);
        if (buf.getUnsignedShortLE(index + OPEN_OK_RESERVED_OFFSET) != 0) {
          return "SHM_OPEN_OK reserved field is not 0";
        }
        if (pathLength > MAX_PATH_BYTES || OPEN_OK_PATH_OFFSET + pathLength != length) {
          return "SHM_OPEN_OK path length " + pathLength + " does not match the frame";
        }
        return null;
      }
      case Opcode.SHM_RELEASE:
        return checkDescriptors(buf, index, length, "SHM_RELEASE", false);
      default:
        return "no shared-memory layout for " + Opcode.name(opcode);
    }
  }

  /** Layout check of a PUT with flag SHM. */
  public static String checkPutShm(ByteBuf buf, int index, int length) {
    return checkDescriptors(buf, index, length, "PUT (SHM)", true);
  }

  /** Layout check of a GET_PAGE with flag SHM. */
  public static String checkGetPageShm(ByteBuf buf, int index, int length) {
    if (length != GET_PAGE_SHM_LENGTH) {
      return "GET_PAGE (SHM) must be " + GET_PAGE_SHM_LENGTH + " bytes, got " + length;
    }
    if (buf.getIntLE(index + PAGE_RESERVED_OFFSET) != 0) {
      return "GET_PAGE reserved field is not 0";
    }
    return null;
  }

  private static String checkDescriptors(
      ByteBuf buf, int index, int length, String what, boolean reservedInDescriptor) {
    if (length < DESCRIPTORS_OFFSET) {
      return what + " shorter than " + DESCRIPTORS_OFFSET + " bytes";
    }
    if (buf.getIntLE(index + COUNT_RESERVED_OFFSET) != 0) {
      return what + " reserved field is not 0";
    }
    long count = buf.getUnsignedIntLE(index + COUNT_OFFSET);
    if (DESCRIPTORS_OFFSET + DESCRIPTOR_LENGTH * count != length) {
      return what + " of " + count + " descriptors must be "
          + (DESCRIPTORS_OFFSET + DESCRIPTOR_LENGTH * count) + " bytes, got " + length;
    }
    if (reservedInDescriptor) {
      for (int i = 0; i < count; i++) {
        if (buf.getIntLE(index + DESCRIPTORS_OFFSET + DESCRIPTOR_LENGTH * i + 12) != 0) {
          return what + " descriptor " + i + " reserved field is not 0";
        }
      }
    }
    return null;
  }

  /** The descriptor count of an SHM_RELEASE, a PUT (SHM) or an SHM_RELEASE_OK. */
  public static int count(ByteBuf frame, int index) {
    return frame.getIntLE(index + COUNT_OFFSET);
  }

  /** Offset field of descriptor {@code i}. */
  public static long descriptorOffset(ByteBuf frame, int index, int i) {
    return frame.getLongLE(index + DESCRIPTORS_OFFSET + DESCRIPTOR_LENGTH * i);
  }

  /** Length field (u32) of descriptor {@code i}. */
  public static long descriptorLength(ByteBuf frame, int index, int i) {
    return frame.getUnsignedIntLE(index + DESCRIPTORS_OFFSET + DESCRIPTOR_LENGTH * i + 8);
  }

  /** Generation field of SHM_RELEASE descriptor {@code i}. */
  public static int descriptorGeneration(ByteBuf frame, int index, int i) {
    return frame.getIntLE(index + DESCRIPTORS_OFFSET + DESCRIPTOR_LENGTH * i + 12);
  }

  /** The region path of an SHM_OPEN_OK. */
  public static String path(ByteBuf frame, int index) {
    int n = frame.getUnsignedShortLE(index + OPEN_OK_PATH_LENGTH_OFFSET);
    return frame.toString(index + OPEN_OK_PATH_OFFSET, n, StandardCharsets.UTF_8);
  }
}
