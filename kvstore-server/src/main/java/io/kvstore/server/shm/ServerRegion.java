package io.kvstore.server.shm;

import io.kvstore.client.shm.RegionLayout;
import io.kvstore.common.RegionMapping;
import io.kvstore.client.shm.UnitAllocator;
import io.kvstore.common.MappedFaults;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection's shared region on the daemon side ({@code spec/4-shared-memory.md} §4.2–4.5):
 * the mapping, the nonce the client must echo, the GET area's leases (allocator + lease table with
 * generations) and the bounds of the PUT area.
 *
 * <h2>Threads</h2>
 *
 * Leasing and releasing run under this object's monitor (a bitmap scan, no I/O). Copies into a
 * leased run, and out of the PUT area, happen outside it: a run belongs to one GET page until
 * released, and each copy is counted ({@link #enter()}, {@link #exit()}). {@link #close()} (the
 * connection closed) drops every lease and unlinks the file, and the mapping is given back as soon
 * as no copy runs ({@link RegionMapping#unmap()}): at once, or when the last running copy ends.
 * Nothing else uses the mapping, and no buffer of it leaves the daemon, so nothing can touch it
 * after that. (Until the mapping goes, the region's pages stay in the tmpfs, and in memory, even
 * after its file is unlinked and its client gone.)
 */
public final class ServerRegion implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ServerRegion.class);

  private final ShmManager manager;
  private final Path path;
  private final RegionMapping mapping;
  private final ByteBuffer map;
  private final long length;
  private final byte[] nonce;
  private final long getOffset;
  private final long putOffset;
  private final long areaLength;
  private final UnitAllocator leases;
  /** Per unit where a lease starts: its length in bytes (0: no lease starts here). */
  private final int[] leaseLength;
  /** Per unit where a lease starts: its generation. */
  private final int[] leaseGeneration;
  private int generation;
  private int leaseCount;
  private boolean attached;
  private boolean closed;
  /** A copy into the region faulted (its tmpfs out of room): no GET page goes through it any more. */
  private boolean faulted;
  /**
   * A read of the PUT area faulted (its file truncated, by its client or another process of the
   * daemon's user): no page goes through the region any more, either way.
   */
  private boolean putFaulted;
  /** Copies into or out of the mapping now running: the mapping goes when closed and none runs. */
  private int copies;

  ServerRegion(ShmManager manager, Path path, RegionMapping mapping, long length, byte[] nonce) {
    this.manager = manager;
    this.path = path;
    this.mapping = mapping;
    this.map = mapping.buffer();
    this.length = length;
    this.nonce = nonce.clone();
    this.areaLength = RegionLayout.areaLength(length);
    this.getOffset = RegionLayout.HEADER_LENGTH;
    this.putOffset = RegionLayout.HEADER_LENGTH + areaLength;
    int units = (int) (areaLength / RegionLayout.UNIT);
    this.leases = new UnitAllocator(units);
    this.leaseLength = new int[units];
    this.leaseGeneration = new int[units];
  }

  /** The region file. */
  public Path path() {
    return path;
  }

  /** Bytes of the region. */
  public long length() {
    return length;
  }

  /** Attaches the region if {@code echoed} is its nonce (constant-time); false otherwise. */
  public synchronized boolean attach(byte[] echoed) {
    if (closed || !MessageDigest.isEqual(nonce, echoed)) {
      return false;
    }
    attached = true;
    return true;
  }

  /** Whether the client proved it mapped the region. */
  public synchronized boolean attached() {
    return attached && !closed;
  }

  /**
   * Leases a run of the GET area for a page of {@code pageLength} bytes and copies {@code page}
   * (position to limit) into it. Returns {@code generation << 32 | offset / UNIT}, or -1 when no
   * run is free (the caller sends the page inline) or the region is closed.
   */
  public long leaseAndCopy(ByteBuffer page) {
    int pageLength = page.remaining();
    int start;
    int gen;
    synchronized (this) {
      if (closed || !attached || pageLength <= 0) {
        return -1;
      }
      if (faulted) {
        manager.pagesInline.incrementAndGet();
        return -1;
      }
      start = leases.allocate(RegionLayout.units(pageLength));
      if (start < 0) {
        manager.pagesInline.incrementAndGet();
        return -1;
      }
      gen = ++generation;
      if (gen == 0) {
        gen = generation = 1;
      }
      leaseLength[start] = pageLength;
      leaseGeneration[start] = gen;
      leaseCount++;
      manager.leases.incrementAndGet();
      copies++;
    }
    try {
      map.put((int) (getOffset + (long) start * RegionLayout.UNIT), page, page.position(), pageLength);
      MappedFaults.raisePending();
    } catch (InternalError e) {
      // SIGBUS: the sparse region file's tmpfs could not give a page (another program filled it
      // after the room was checked). This page, and every later one, goes inline over TCP.
      fault(e);
      synchronized (this) {
        if (leaseLength[start] == pageLength && leaseGeneration[start] == gen) {
          leases.free(start, RegionLayout.units(pageLength));
          leaseLength[start] = 0;
          leaseCount--;
          manager.leases.decrementAndGet();
        }
      }
      manager.pagesInline.incrementAndGet();
      return -1;
    } finally {
      exit();
    }
    manager.pagesOut.incrementAndGet();
    return ((long) gen << 32) | start;
  }

  /**
   * A copy into the region faulted (SIGBUS: its tmpfs could not give a page, another program having
   * filled it after the room was checked, or its file was truncated; the JVM raises it as an {@link
   * InternalError}, in the copy or soon after it): no GET page goes through the region any more,
   * each one goes inline. One WARN per region.
   */
  public void fault(InternalError e) {
    synchronized (this) {
      if (faulted) {
        return;
      }
      faulted = true;
    }
    manager.faults.incrementAndGet();
    // No look at the file here: this can run on an event loop (a GET of memory pages).
    LOG.warn("a copy into shared-memory region {} faulted ({}): its file system is out of room"
        + " (another program filled it?) or its file was truncated; its GET pages go inline over"
        + " TCP from now on", path, e.getMessage());
  }

  /**
   * A read of the PUT area faulted: the pages the client wrote are not there any more, so its file
   * was truncated (the daemon never shrinks it; only its client, or another process of the daemon's
   * user, can). Nothing goes through the region any more: GET pages go inline, and PUTs through it
   * are refused with SHM_UNAVAILABLE ({@link #enter()} is false). One WARN per region.
   */
  public void putFault(InternalError e) {
    boolean count;
    synchronized (this) {
      if (putFaulted) {
        return;
      }
      putFaulted = true;
      count = !faulted;
      faulted = true;
    }
    if (count) {
      manager.faults.incrementAndGet();
    }
    LOG.warn("a read of shared-memory region {}'s PUT area faulted ({}): {}; the connection's"
        + " PUTs through it are refused (SHM_UNAVAILABLE) and its GET pages go inline from now on",
        path, e.getMessage(), cause());
  }

  /**
   * Why a read of the PUT area faulted, for its WARN: a stat of the file, once per region, on the
   * store thread that met the fault.
   */
  private String cause() {
    try {
      long size = Files.size(path);
      return size < length
          ? "its file was truncated to " + size + " of " + length + " bytes (by its client?)"
          : "its file system is out of room (another program filled it?)";
    } catch (IOException e) {
      return "its file cannot be looked at (" + e + ")";
    }
  }

  /** The region offset of a lease returned by {@link #leaseAndCopy}. */
  public static long offsetOf(long lease) {
    return RegionLayout.HEADER_LENGTH + (lease & 0xFFFFFFFFL) * RegionLayout.UNIT;
  }

  /** The generation of a lease returned by {@link #leaseAndCopy}. */
  public static int generationOf(long lease) {
    return (int) (lease >>> 32);
  }

  /**
   * Gives a lease back; false (and nothing changes) unless a live lease starts at {@code offset}
   * with exactly this length and generation.
   */
  public synchronized boolean release(long offset, long pageLength, int gen) {
    if (closed || offset < getOffset || offset >= getOffset + areaLength
        || (offset - getOffset) % RegionLayout.UNIT != 0) {
      return false;
    }
    int start = (int) ((offset - getOffset) / RegionLayout.UNIT);
    if (leaseLength[start] == 0 || leaseLength[start] != pageLength
        || leaseGeneration[start] != gen) {
      return false;
    }
    leases.free(start, RegionLayout.units(pageLength));
    leaseLength[start] = 0;
    leaseCount--;
    manager.leases.decrementAndGet();
    return true;
  }

  /** Leases not given back. */
  public synchronized int leaseCount() {
    return leaseCount;
  }

  /**
   * Checks a PUT descriptor: inside the PUT area, starting at or after {@code notBefore} (the end
   * of the previous descriptor, so descriptors neither overlap nor go back). Returns the offset's
   * end, or -1 when it is out of bounds or overlapping.
   */
  public long checkPut(long offset, long pageLength, long notBefore) {
    if (offset < putOffset || offset < notBefore || pageLength <= 0
        || offset > putOffset + areaLength - pageLength) {
      return -1;
    }
    return offset + pageLength;
  }

  /**
   * Starts a use of the mapping (the copies of a PUT's pages out of the PUT area, through {@link
   * #putPage}): false once the region is closed (its client is gone; nothing may be read) or a
   * read of its PUT area faulted ({@link #putFault}). Every true is followed by one {@link
   * #exit()}, in a {@code finally}.
   */
  public boolean enter() {
    synchronized (this) {
      if (closed || putFaulted) {
        return false;
      }
      copies++;
      return true;
    }
  }

  /** Ends a use started by {@link #enter()}; the last one after {@link #close()} unmaps. */
  public void exit() {
    boolean unmap;
    synchronized (this) {
      unmap = --copies == 0 && closed;
    }
    if (unmap) {
      mapping.unmap();
    }
  }

  /**
   * A read-only view of the {@code pageLength} bytes at a checked PUT {@code offset}, for a store
   * call that copies them out once and checks only its copy ({@code TieredStore#putCopyVerified}):
   * the client may rewrite them meanwhile. Only between {@link #enter()} and {@link #exit()}, and
   * the view is not kept past the call. Counted as one page in.
   */
  public ByteBuffer putPage(long offset, int pageLength) {
    manager.pagesIn.incrementAndGet();
    return map.slice((int) offset, pageLength).asReadOnlyBuffer();
  }

  /**
   * Drops every lease, unlinks the file and gives the mapping back (now, or when the copy running
   * ends); idempotent. File-system work: call it off the event loop.
   */
  @Override
  public void close() {
    boolean unmap;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      manager.leases.addAndGet(-leaseCount);
      leaseCount = 0;
      unmap = copies == 0;
    }
    manager.closed(length);
    try {
      Files.deleteIfExists(path);
    } catch (IOException e) {
      LOG.warn("cannot unlink shared-memory region {}: {}", path, e.toString());
    }
    if (unmap) {
      mapping.unmap();
    }
  }
}
