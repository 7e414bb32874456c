package io.kvstore.core.tier.ssd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * One append-only segment file of the SSD tier: pages back to back, each with its own header
 * ({@code spec/6-ssd-segments.md}). Knows its reserved size, its live bytes and pages, and the keys
 * written into it with their offsets, so that dropping it removes exactly the pages it holds.
 *
 * <p>Reads and writes hold the read side of {@link #io}; dropping the segment takes the write side,
 * so a drop waits for the I/O in flight and no I/O starts on a dropped segment. {@link #size}, the
 * key list and {@link #sealed} are guarded by the tier's allocation lock.
 */
final class Segment {

  /** Suffix of segment file names: {@code <id as 16 hex digits>.seg}. */
  static final String SUFFIX = ".seg";
  /** Prefix of a dropped segment's file kept for reuse: {@code free-<id>.seg}. */
  static final String FREE_PREFIX = "free-";

  final long id;
  final int slot;
  final Path path;
  final ReentrantReadWriteLock io = new ReentrantReadWriteLock();
  /** Guards the channel's position during {@link #writeAll}. */
  private final Object gatherLock = new Object();
  final AtomicLong liveBytes = new AtomicLong();
  final AtomicInteger livePages = new AtomicInteger();
  /** Runs reserved in it and not yet written (or failed); guarded by the tier's allocation lock. */
  int runsInFlight;
  volatile long lastAccessMs;
  /** Whether pages were written into it since the tier opened (forced on close). */
  volatile boolean written;
  private volatile FileChannel channel;
  /** Guarded by {@link #io}'s write lock (set) and read lock (checked). */
  boolean dropped;

  // ---- guarded by the tier's allocation lock ----
  long size;
  /**
   * Bytes the file takes on disk: its size, or more when it is a recycled file whose earlier
   * content has not been overwritten yet.
   */
  long diskLength;
  /** Bytes and pages counted as going while the segment is being dropped. */
  long goingBytes;
  long goingPages;
  boolean sealed;
  private long[] keys = new long[32];
  private long[] offsets = new long[16];
  private int count;

  private Segment(long id, int slot, Path path, FileChannel channel, long size) {
    this.id = id;
    this.slot = slot;
    this.path = path;
    this.channel = channel;
    this.size = size;
    this.diskLength = size;
  }

  static Path pathOf(Path dir, long id) {
    return dir.resolve(String.format("%016x", id) + SUFFIX);
  }

  /** Parses a segment file name; -1 if it is not one. */
  static long idOf(String fileName) {
    if (!fileName.endsWith(SUFFIX) || fileName.length() != 16 + SUFFIX.length()) {
      return -1;
    }
    try {
      return Long.parseUnsignedLong(fileName.substring(0, 16), 16);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Creates a new, empty segment file. */
  static Segment create(Path dir, long id, int slot) throws IOException {
    Path p = pathOf(dir, id);
    FileChannel ch =
        FileChannel.open(
            p, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
    return new Segment(id, slot, p, ch, 0);
  }

  /**
   * Starts a new, empty segment in a dropped segment's file (renamed to the new id), so that its
   * pages overwrite blocks the file system already allocated instead of allocating new ones.
   */
  static Segment reuse(Path dir, long id, int slot, Segment free) throws IOException {
    Path p = pathOf(dir, id);
    Files.move(free.path, p);
    Segment s = new Segment(id, slot, p, free.channel, 0);
    s.diskLength = free.diskLength;
    return s;
  }

  /** Renames the file of this dropped segment to {@code free-<id>.seg} for reuse; the channel stays open. */
  Segment toFree(Path dir) throws IOException {
    Path p = dir.resolve(FREE_PREFIX + String.format("%016x", id) + SUFFIX);
    Files.move(path, p);
    Segment free = new Segment(id, -1, p, channel, 0);
    free.diskLength = diskLength;
    return free;
  }

  /** Opens an existing segment file (sealed: nothing is appended to a segment after a restart). */
  static Segment open(Path dir, long id, int slot) throws IOException {
    Path p = pathOf(dir, id);
    FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
    Segment s = new Segment(id, slot, p, ch, ch.size());
    s.sealed = true;
    return s;
  }

  /** Remembers that the page of key (hi, lo) was placed at {@code offset}. */
  void addKey(long hi, long lo, long offset) {
    if (count == offsets.length) {
      offsets = Arrays.copyOf(offsets, count * 2);
      keys = Arrays.copyOf(keys, count * 4);
    }
    keys[2 * count] = hi;
    keys[2 * count + 1] = lo;
    offsets[count] = offset;
    count++;
  }

  /** Forgets the last key placed, if it was placed at {@code offset} (a write that failed). */
  void removeLastKey(long offset) {
    if (count > 0 && offsets[count - 1] == offset) {
      count--;
    }
  }

  int keyCount() {
    return count;
  }

  long keyHi(int i) {
    return keys[2 * i];
  }

  long keyLo(int i) {
    return keys[2 * i + 1];
  }

  long offset(int i) {
    return offsets[i];
  }

  /** Writes all of {@code src[position, limit)} at {@code offset}; does not move {@code src}. */
  void write(ByteBuffer src, long offset) throws IOException {
    ByteBuffer b = src.duplicate();
    long pos = offset;
    while (b.hasRemaining()) {
      pos += channel().write(b, pos);
    }
    written = true;
  }

  /**
   * Writes {@code srcs[from, from + n)}, each {@code [position, limit)}, back to back from {@code
   * offset} with gathering writes ({@code writev}: one system call for the run of pages instead of
   * one per page); leaves the buffers' positions as they were ({@code positions} is scratch of at
   * least {@code n}). FileChannel has no positional gathering write, so the channel's position is
   * set and used under {@link #gatherLock}; every other write and read of a segment is positional.
   */
  void writeAll(ByteBuffer[] srcs, int from, int n, long offset, int[] positions) throws IOException {
    long total = 0;
    for (int j = 0; j < n; j++) {
      positions[j] = srcs[from + j].position();
      total += srcs[from + j].remaining();
    }
    try {
      FileChannel ch = channel();
      synchronized (gatherLock) {
        ch.position(offset);
        for (long done = 0; done < total; ) {
          done += ch.write(srcs, from, n);
        }
      }
      written = true;
    } finally {
      for (int j = 0; j < n; j++) {
        srcs[from + j].position(positions[j]);
      }
    }
  }

  /**
   * Reads {@code length} bytes at {@code offset} into {@code dst} from its position, without moving
   * the position.
   *
   * @return false if the file ends before (the page is not there)
   */
  boolean read(ByteBuffer dst, long offset, int length) throws IOException {
    ByteBuffer b = dst.duplicate();
    b.limit(b.position() + length);
    long pos = offset;
    while (b.hasRemaining()) {
      int n = channel().read(b, pos);
      if (n < 0) {
        return false;
      }
      pos += n;
    }
    return true;
  }

  void force() throws IOException {
    channel().force(false);
  }

  void truncate(long length) throws IOException {
    channel().truncate(length);
  }

  /**
   * The file channel, reopened if a thread interrupted during I/O closed it (FileChannel closes
   * itself on interrupt), so one interrupted reader cannot take the segment away from the others.
   */
  private FileChannel channel() throws IOException {
    FileChannel ch = channel;
    if (ch.isOpen()) {
      return ch;
    }
    synchronized (this) {
      if (dropped) {
        throw new ClosedChannelException();
      }
      if (!channel.isOpen()) {
        channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
      }
      return channel;
    }
  }

  /** Closes the file (kept on disk). */
  void close() {
    try {
      channel.close();
    } catch (IOException e) {
      // Closing a file opened for plain reads and writes fails only if the OS is failing; the file
      // is still released by the process.
    }
  }

  /** Closes and deletes the file; called with the write side of {@link #io} held. */
  void delete() throws IOException {
    synchronized (this) {
      close();
    }
    Files.deleteIfExists(path);
  }
}
