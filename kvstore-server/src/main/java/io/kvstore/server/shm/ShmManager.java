package io.kvstore.server.shm;

import io.kvstore.client.shm.RegionLayout;
import io.kvstore.common.RegionMapping;
import io.kvstore.client.shm.ShmFrames;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's shared-memory regions ({@code spec/4-shared-memory.md}): the directory (0700, the
 * daemon's user only), one region file (0600) per connection that asks, the total budget over all
 * regions, and the clean-up of a previous run's files at start.
 *
 * <p>A manager that could not make its directory safe is {@linkplain #enabled() disabled}: every
 * SHM_OPEN is refused and clients use TCP; the daemon itself runs on.
 */
public final class ShmManager {

  private static final Logger LOG = LoggerFactory.getLogger(ShmManager.class);
  static final String SUFFIX = ".region";
  static final String LOCK_SUFFIX = ".lock";
  private static final Set<PosixFilePermission> DIR_PERMS = PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> FILE_PERMS = PosixFilePermissions.fromString("rw-------");

  private final Path dir;
  private final long regionBytes;
  private final long totalBytes;
  private final boolean enabled;
  private final String runId;
  private final SecureRandom random = new SecureRandom();
  private final AtomicLong usedBytes = new AtomicLong();
  private final AtomicLong regions = new AtomicLong();
  /** Pages sent through regions (GET), received through regions (PUT), sent inline for want of room. */
  final AtomicLong pagesOut = new AtomicLong();
  final AtomicLong pagesIn = new AtomicLong();
  final AtomicLong pagesInline = new AtomicLong();
  /** GET leases held by clients over all open regions (page views not yet closed, mostly). */
  final AtomicLong leases = new AtomicLong();
  /** Regions whose memory faulted under a copy (tmpfs out of room, file truncated); see faults(). */
  final AtomicLong faults = new AtomicLong();
  private FileChannel runLockChannel;
  private FileLock runLock;

  private ShmManager(Path dir, long regionBytes, long totalBytes, boolean enabled) {
    this.dir = dir;
    this.regionBytes = regionBytes;
    this.totalBytes = totalBytes;
    this.enabled = enabled;
    byte[] id = new byte[6];
    random.nextBytes(id);
    this.runId = HexFormat.of().formatHex(id);
  }

  /**
   * Makes the directory (0700) if it is missing, refuses one with other permissions or another
   * owner, and removes the region files a previous run left; {@code regionBytes} 0 turns shared
   * memory off.
   */
  public static ShmManager create(Path dir, long regionBytes, long totalBytes) {
    if (regionBytes <= 0) {
      return new ShmManager(dir, 0, 0, false);
    }
    long min = RegionLayout.HEADER_LENGTH + 2L * RegionLayout.UNIT;
    if (regionBytes < min) {
      LOG.warn("shm.region.bytes {} is below {}; shared memory is off", regionBytes, min);
      return new ShmManager(dir, 0, 0, false);
    }
    try {
      if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(DIR_PERMS));
      }
      if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        throw new IOException(dir + " is not a directory");
      }
      Set<PosixFilePermission> perms = Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS);
      String owner = Files.getOwner(dir, LinkOption.NOFOLLOW_LINKS).getName();
      String me = System.getProperty("user.name");
      if (!perms.equals(DIR_PERMS) || (me != null && !owner.equals(me))) {
        throw new IOException(dir + " has permissions " + PosixFilePermissions.toString(perms)
            + " and owner " + owner + "; it must be rwx------ and owned by " + me);
      }
      removeStale(dir);
      // The run's lock file is taken with the first region (a daemon, or a test context, that
      // never serves shared memory leaves nothing in the directory).
      return new ShmManager(dir, regionBytes, totalBytes, true);
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      LOG.warn("shared memory is off: cannot use {}: {}", dir, e.toString());
      return new ShmManager(dir, 0, 0, false);
    }
  }

  /**
   * Removes the region files of runs that are over: a run holds an exclusive lock on {@code
   * <run id>.lock} for its life (the kernel drops it when the process dies, SIGKILL included), so
   * a lock that can be taken belongs to a dead daemon, and its regions go. Regions of a daemon
   * still running (another daemon sharing the directory) are left alone.
   */
  static int removeStale(Path dir) throws IOException {
    int removed = 0;
    try (DirectoryStream<Path> locks = Files.newDirectoryStream(dir, "*" + LOCK_SUFFIX)) {
      for (Path lock : locks) {
        String run = lock.getFileName().toString();
        run = run.substring(0, run.length() - LOCK_SUFFIX.length());
        if (!runIsOver(lock)) {
          continue;
        }
        try (DirectoryStream<Path> regions = Files.newDirectoryStream(dir, run + "-*" + SUFFIX)) {
          for (Path p : regions) {
            Files.deleteIfExists(p);
            removed++;
          }
        }
        Files.deleteIfExists(lock);
      }
    }
    // Region files without any lock file (a run that crashed between the two, or older files).
    try (DirectoryStream<Path> regions = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
      for (Path p : regions) {
        String name = p.getFileName().toString();
        int dash = name.indexOf('-');
        if (dash > 0 && !Files.exists(dir.resolve(name.substring(0, dash) + LOCK_SUFFIX))) {
          Files.deleteIfExists(p);
          removed++;
        }
      }
    }
    if (removed > 0) {
      LOG.info("removed {} shared-memory region files of earlier runs from {}", removed, dir);
    }
    return removed;
  }

  private static boolean runIsOver(Path lock) {
    try (FileChannel ch = FileChannel.open(lock, StandardOpenOption.WRITE)) {
      FileLock taken = ch.tryLock();
      if (taken == null) {
        return false; // a live process holds it
      }
      taken.release();
      return true;
    } catch (OverlappingFileLockException e) {
      return false; // held by this JVM: a daemon running in this process
    } catch (IOException e) {
      return false;
    }
  }

  private synchronized void holdRunLock() throws IOException {
    if (runLockChannel != null) {
      return;
    }
    Path lock = dir.resolve(runId + LOCK_SUFFIX);
    runLockChannel = FileChannel.open(lock, Set.of(StandardOpenOption.CREATE_NEW,
        StandardOpenOption.WRITE), PosixFilePermissions.asFileAttribute(FILE_PERMS));
    runLock = runLockChannel.lock();
  }

  /**
   * Ends this run: unlinks the run's lock file (regions are unlinked by their connections). Called
   * by the server once its connections are closed.
   */
  public synchronized void close() {
    if (runLockChannel == null) {
      return;
    }
    try {
      Files.deleteIfExists(dir.resolve(runId + LOCK_SUFFIX));
      runLock.release();
      runLockChannel.close();
    } catch (IOException e) {
      LOG.debug("cannot remove the shared-memory run lock: {}", e.toString());
    }
    runLockChannel = null;
  }

  /** Whether SHM_OPEN can succeed at all. */
  public boolean enabled() {
    return enabled;
  }

  /** The region directory. */
  public Path dir() {
    return dir;
  }

  /** Bytes of all open regions. */
  public long usedBytes() {
    return usedBytes.get();
  }

  /** GET pages copied into regions. */
  public long pagesOut() {
    return pagesOut.get();
  }

  /** PUT pages read from regions. */
  public long pagesIn() {
    return pagesIn.get();
  }

  /** GET pages sent inline because their connection's GET area was full. */
  public long pagesInline() {
    return pagesInline.get();
  }

  /**
   * GET leases not given back, over all open regions: pages a client holds as views (or has not
   * released yet). Back to 0 when every client has released or gone.
   */
  public long leases() {
    return leases.get();
  }

  /**
   * Regions whose memory faulted under the daemon's copy (SIGBUS: their tmpfs out of room, filled
   * by another program after the region was given, or their file truncated), since start; their
   * GET pages go inline, and a truncated region's PUTs are refused.
   */
  public long faults() {
    return faults.get();
  }

  /** Open regions. */
  public long regions() {
    return regions.get();
  }

  /**
   * Creates, maps and stamps a region for a connection; null when shared memory is off or the
   * total budget has no room for it. Touches the file system: call it off the event loop.
   *
   * @param wanted bytes the client asked for (0: the configured size); never more than configured
   */
  public ServerRegion open(long connectionId, long wanted) throws IOException {
    if (!enabled) {
      return null;
    }
    long length = wanted <= 0 ? regionBytes : Math.min(wanted, regionBytes);
    if (RegionLayout.areaLength(length) < RegionLayout.UNIT) {
      length = regionBytes;
    }
    long claimed;
    while (true) {
      long used = usedBytes.get();
      if (used + length > totalBytes) {
        return null;
      }
      if (usedBytes.compareAndSet(used, used + length)) {
        claimed = used + length;
        break;
      }
    }
    Path path = dir.resolve(runId + "-" + connectionId + SUFFIX);
    boolean ok = false;
    try {
      holdRunLock(); // before the first region file: a crash leaves regions under a free lock
      checkRoom(claimed, length);
      RegionMapping mapping;
      try (FileChannel ch = FileChannel.open(path, Set.of(StandardOpenOption.CREATE_NEW,
          StandardOpenOption.READ, StandardOpenOption.WRITE), PosixFilePermissions.asFileAttribute(FILE_PERMS))) {
        mapping = RegionMapping.map(ch, length);
      }
      byte[] nonce = new byte[ShmFrames.NONCE_LENGTH];
      random.nextBytes(nonce);
      try {
        RegionLayout.writeHeader(mapping.buffer(), length, connectionId, nonce);
      } catch (RuntimeException | Error e) {
        mapping.unmap();
        throw e;
      }
      ServerRegion region = new ServerRegion(this, path, mapping, length, nonce);
      regions.incrementAndGet();
      ok = true;
      return region;
    } finally {
      if (!ok) {
        usedBytes.addAndGet(-length);
        Files.deleteIfExists(path);
      }
    }
  }

  /**
   * Refuses a region that the file system (a tmpfs) might not be able to give its pages to, counting
   * every live region at its full length: {@code bytes} (this region and the others, as the budget
   * counts them) must fit in what the file system has free. Region files are sparse, and a process
   * touching a page the tmpfs cannot give gets SIGBUS: the daemon's store thread setting a region up
   * (seen on a 32 MiB tmpfs with 160 MiB regions: {@code InternalError: a fault occurred in a recent
   * unsafe memory access operation}, the thread gone and the client's SHM_OPEN unanswered), or the
   * engine writing a PUT into its region. Docker's default {@code /dev/shm} is 64 MiB. Counting
   * the live regions at full length over-counts the pages they already use, so this refuses early,
   * never late; a tmpfs that others fill up after a region was given is not covered (writing every
   * page of the file at open would be, at the cost of committing whole regions; see
   * docs/configuration.md).
   */
  private void checkRoom(long bytes, long length) throws IOException {
    long free = Files.getFileStore(dir).getUsableSpace();
    if (free < bytes) {
      throw new IOException(
          "no room for a shared-memory region of " + length + " bytes in " + dir + ": its file"
              + " system has " + free + " bytes free and the daemon's regions would need up to "
              + bytes + " (is it, e.g. /dev/shm, smaller than shm.total.bytes?)");
    }
  }

  /** A region was closed: its bytes go back to the budget. */
  void closed(long length) {
    usedBytes.addAndGet(-length);
    regions.decrementAndGet();
  }
}
