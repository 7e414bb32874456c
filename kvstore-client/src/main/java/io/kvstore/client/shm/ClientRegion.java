package io.kvstore.client.shm;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The SDK's side of a shared region ({@code spec/4-shared-memory.md}): the mapping of the file the
 * daemon created, bounds checks for the GET descriptors the daemon sends, and the allocator of the
 * PUT area, which only the SDK writes. Plain {@link ByteBuffer} absolute access, no Agrona (the SDK
 * depends on Netty and kvstore-common only).
 */
public final class ClientRegion {

  private final MappedByteBuffer map;
  private final long length;
  private final long getOffset;
  private final long putOffset;
  private final long areaLength;
  private final UnitAllocator putUnits;

  private ClientRegion(MappedByteBuffer map, long length) {
    this.map = map;
    this.length = length;
    this.areaLength = RegionLayout.areaLength(length);
    this.getOffset = RegionLayout.HEADER_LENGTH;
    this.putOffset = RegionLayout.HEADER_LENGTH + areaLength;
    this.putUnits = new UnitAllocator((int) (areaLength / RegionLayout.UNIT));
  }

  /**
   * Maps the region file the daemon named and checks its header.
   *
   * @throws IOException when the file cannot be opened or mapped (another host, another user: the
   *     caller falls back to TCP) or its header does not describe a region of {@code length}
   */
  public static ClientRegion map(Path path, long length) throws IOException {
    if (length <= RegionLayout.HEADER_LENGTH || length > Integer.MAX_VALUE) {
      throw new IOException("region length " + length + " is out of range");
    }
    MappedByteBuffer map;
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      if (ch.size() != length) {
        throw new IOException("region file " + path + " has " + ch.size() + " bytes, not " + length);
      }
      map = ch.map(FileChannel.MapMode.READ_WRITE, 0, length);
    }
    String bad = RegionLayout.check(map, length);
    if (bad != null) {
      throw new IOException(bad);
    }
    return new ClientRegion(map, length);
  }

  /**
   * {@link #map} for a region the daemon offered to a connection whose pages may be up to {@code
   * maxPageLength} bytes: each area must hold one.
   *
   * @throws IOException as {@link #map}, or if an area is smaller than one page
   */
  public static ClientRegion mapForPages(String path, long length, long maxPageLength)
      throws IOException {
    ClientRegion region = map(Path.of(path), length);
    if (region.areaLength() < maxPageLength) {
      throw new IOException("region areas of " + region.areaLength()
          + " bytes are smaller than one page of " + maxPageLength);
    }
    return region;
  }

  /** The nonce the daemon wrote: echoing it proves this process read the file. */
  public byte[] nonce() {
    return RegionLayout.nonce(map);
  }

  /** Bytes of each area (GET, PUT). */
  public long areaLength() {
    return areaLength;
  }

  /** Whether {@code [offset, offset + length)} is a unit-aligned run inside the GET area. */
  public boolean inGetArea(long offset, long pageLength) {
    return offset >= getOffset && pageLength > 0 && (offset - getOffset) % RegionLayout.UNIT == 0
        && offset <= getOffset + areaLength - pageLength;
  }

  /** Copies a page from the region into {@code dst} at {@code dstIndex} (absolute, no position change). */
  public void copyOut(long offset, int pageLength, ByteBuffer dst, int dstIndex) {
    dst.put(dstIndex, map, (int) offset, pageLength);
  }

  /**
   * A read-only view of {@code pageLength} bytes at {@code offset} (position 0, limit and capacity
   * {@code pageLength}), for a page the caller reads in place; the caller has bounds-checked the
   * run with {@link #inGetArea}. No bytes are copied.
   */
  public ByteBuffer view(long offset, int pageLength) {
    return map.slice((int) offset, pageLength).asReadOnlyBuffer();
  }

  /**
   * Reserves room for a page of {@code pageLength} in the PUT area; returns its region offset, or
   * -1 when there is none (the caller sends the PUT over TCP).
   */
  public synchronized long allocatePut(int pageLength) {
    int start = putUnits.allocate(RegionLayout.units(pageLength));
    return start < 0 ? -1 : putOffset + (long) start * RegionLayout.UNIT;
  }

  /** Gives back what {@link #allocatePut} reserved. */
  public synchronized void freePut(long offset, int pageLength) {
    putUnits.free((int) ((offset - putOffset) / RegionLayout.UNIT), RegionLayout.units(pageLength));
  }

  /** Units of the PUT area not reserved (for tests and stats). */
  public synchronized int freePutUnits() {
    return putUnits.freeUnits();
  }

  /** Copies {@code src} (position to limit, unchanged) into the region at {@code offset}. */
  public void copyIn(long offset, ByteBuffer src) {
    map.put((int) offset, src, src.position(), src.remaining());
  }

  /** Copies {@code length} bytes of {@code src} from {@code srcOffset} into the region at {@code offset}. */
  public void copyIn(long offset, byte[] src, int srcOffset, int n) {
    map.put((int) offset, src, srcOffset, n);
  }

  /** Bytes of the region. */
  public long length() {
    return length;
  }
}
