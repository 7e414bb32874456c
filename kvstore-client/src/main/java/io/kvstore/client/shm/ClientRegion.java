package io.kvstore.client.shm;

import io.kvstore.client.KvStoreException;
import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.common.MappedFaults;
import io.kvstore.common.RegionMapping;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The SDK's side of a shared region ({@code spec/4-shared-memory.md}): the mapping of the file the
 * daemon created, bounds checks for the GET descriptors the daemon sends, and the allocator of the
 * PUT area, which only the SDK writes. Plain {@link ByteBuffer} absolute access, no Agrona (the SDK
 * depends on Netty and kvstore-common only).
 *
 * <p>Its life: {@link #close()} (the connection is gone) gives the mapping back once no copy in or
 * out of it runs and every page view lent from it has come back ({@link #viewsReturned}); until
 * then the tmpfs keeps the region's pages although the daemon has unlinked its file. Where a
 * buffer used after the unmap would crash the process (JDK 17 to 21, see {@link RegionMapping}),
 * a region that ever lent a view is left to the garbage collector: the caller's code could still
 * hold a view it closed.
 */
public final class ClientRegion {

  private static final System.Logger LOG = System.getLogger(ClientRegion.class.getName());

  private final RegionMapping mapping;
  private final ByteBuffer map;
  private final long length;
  private final long getOffset;
  private final long putOffset;
  private final long areaLength;
  private final UnitAllocator putUnits;
  // Guarded by this.
  private int copies;
  private long viewsOut;
  private boolean viewLent;
  private boolean closed;
  private boolean faulted;

  private ClientRegion(RegionMapping mapping, long length) {
    this.mapping = mapping;
    this.map = mapping.buffer();
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
    RegionMapping mapping;
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      if (ch.size() != length) {
        throw new IOException("region file " + path + " has " + ch.size() + " bytes, not " + length);
      }
      mapping = RegionMapping.map(ch, length);
    }
    String bad = RegionLayout.check(mapping.buffer(), length);
    if (bad != null) {
      mapping.unmap();
      throw new IOException(bad);
    }
    return new ClientRegion(mapping, length);
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
    enter();
    try {
      return RegionLayout.nonce(map);
    } finally {
      exit();
    }
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
    enter();
    try {
      dst.put(dstIndex, map, (int) offset, pageLength);
    } finally {
      exit();
    }
  }

  /**
   * A read-only view of {@code pageLength} bytes at {@code offset} (position 0, limit and capacity
   * {@code pageLength}), for a page the caller reads in place; the caller has bounds-checked the
   * run with {@link #inGetArea}. No bytes are copied. The view is lent: the mapping stays until
   * {@link #viewsReturned} counts it back.
   *
   * @throws KvStoreException CONNECTION_CLOSED once the region is closed
   */
  public ByteBuffer view(long offset, int pageLength) {
    synchronized (this) {
      checkOpen();
      viewsOut++;
      viewLent = true;
    }
    return map.slice((int) offset, pageLength).asReadOnlyBuffer();
  }

  /** {@code n} views lent by {@link #view} are no longer read (closed, refused, never handed out). */
  public void viewsReturned(int n) {
    boolean unmap;
    synchronized (this) {
      viewsOut -= n;
      unmap = unmappable();
    }
    if (unmap) {
      mapping.unmap();
    }
  }

  /**
   * Reserves room for a page of {@code pageLength} in the PUT area; returns its region offset, or
   * -1 when there is none (the caller sends the PUT over TCP).
   */
  public synchronized long allocatePut(int pageLength) {
    if (faulted) {
      return -1;
    }
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

  /**
   * Copies {@code src} (position to limit, unchanged) into the region at {@code offset}; false if
   * the region's memory faulted (see {@link #faulted()}): the caller sends the page over TCP.
   *
   * @throws KvStoreException CONNECTION_CLOSED once the region is closed
   */
  public boolean copyIn(long offset, ByteBuffer src) {
    return copyIn(offset, null, 0, 0, src);
  }

  /**
   * As {@link #copyIn(long, ByteBuffer)}, with {@code prefixLength} bytes of {@code prefix} from
   * {@code prefixOffset} first (a page header the SDK built apart from its payload), or none when
   * {@code prefix} is null.
   *
   * @throws KvStoreException CONNECTION_CLOSED once the region is closed
   */
  public boolean copyIn(long offset, byte[] prefix, int prefixOffset, int prefixLength,
      ByteBuffer src) {
    enter();
    try {
      long at = offset;
      if (prefix != null) {
        map.put((int) at, prefix, prefixOffset, prefixLength);
        at += prefixLength;
      }
      map.put((int) at, src, src.position(), src.remaining());
      MappedFaults.raisePending();
      return true;
    } catch (InternalError e) {
      return fault(e);
    } finally {
      exit();
    }
  }

  /**
   * Whether a write into the region faulted: its file is sparse, and a page its tmpfs could not
   * give (another program filled it after the daemon checked its room) raises SIGBUS, which the JVM
   * turns into an {@link InternalError} in the copy. From then on {@link #allocatePut} gives no
   * room, so every PUT of the connection goes over TCP; GETs still come through the pages the
   * daemon managed to write (the daemon falls back likewise).
   */
  public synchronized boolean faulted() {
    return faulted;
  }

  /**
   * The failure of a request whose encode met a fault in {@code region}'s memory (or another
   * {@link InternalError}, when {@code region} is null): the region, if any, takes no more PUTs.
   */
  public static KvStoreException faultFailure(ClientRegion region, InternalError e) {
    if (region != null) {
      region.fault(e);
    }
    return new KvStoreException(ErrorCode.SHM_UNAVAILABLE,
        "a fault in the connection's shared-memory region (" + e.getMessage() + "); retry: its"
            + " PUTs now go over TCP", e);
  }

  /**
   * Records a fault in the region's memory met by the caller's code (the JVM raises the {@link
   * InternalError} where it notices the SIGBUS, not always inside the copy); see {@link
   * #faulted()}. Returns false.
   */
  public boolean fault(InternalError e) {
    boolean first;
    synchronized (this) {
      first = !faulted;
      faulted = true;
    }
    if (first) {
      LOG.log(System.Logger.Level.WARNING, "a write into the shared-memory region faulted ({0}):"
          + " its tmpfs is out of room (another program filled it?); this connection''s PUTs go"
          + " over TCP", e.getMessage());
    }
    return false;
  }

  /** Bytes of the region. */
  public long length() {
    return length;
  }

  /**
   * The connection is gone: no copy or view starts any more, and the mapping is given back now, or
   * when the last copy ends or the last view comes back (see the class comment). Idempotent.
   */
  public void close() {
    boolean unmap;
    synchronized (this) {
      closed = true;
      unmap = unmappable();
    }
    if (unmap) {
      mapping.unmap();
    }
  }

  /** Whether {@link #close()} has run (for tests). */
  public synchronized boolean isClosed() {
    return closed;
  }

  /** Whether the mapping has been given back (for tests): closed, nothing using it, unmappable. */
  public synchronized boolean unmapped() {
    return unmappable();
  }

  private synchronized void enter() {
    checkOpen();
    copies++;
  }

  private void exit() {
    boolean unmap;
    synchronized (this) {
      copies--;
      unmap = unmappable();
    }
    if (unmap) {
      mapping.unmap();
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new KvStoreException(ErrorCode.CONNECTION_CLOSED,
          "the connection's shared-memory region is closed");
    }
  }

  /** Closed and unused, and unmapping cannot harm a view the caller's code still holds. */
  private boolean unmappable() {
    return closed && copies == 0 && viewsOut == 0 && (!viewLent || RegionMapping.checkedAccess());
  }
}
