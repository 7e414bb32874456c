package io.kvstore.common;

import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A file's mapping that is given back when its owner says so, not when the garbage collector finds
 * it: the shared-memory regions of the client and the daemon, and the SSD tier's crash journal
 * (a mapped file left to the garbage collector keeps its file system busy: it cannot be unmounted).
 * A tmpfs frees an unlinked file's pages only when the last mapping of it goes, and the daemon
 * allocates so little heap that the mapping of a closed connection's region could outlive it for
 * hours: six 4-second loads through a 2 GiB tmpfs, each from a client process that exited,
 * left 1.85 GB of it (and of RAM) held with no region open, and the seventh got TCP.
 *
 * <p>How the mapping is made and given back, by the JDK that runs (the code is compiled for 17, so
 * the newer API is reached through method handles):
 *
 * <ul>
 *   <li>JDK 22 and later: the file is mapped into a shared {@code java.lang.foreign.Arena}
 *       ({@code FileChannel.map(mode, offset, size, arena)}) and {@link #unmap()} closes the arena.
 *       A buffer of the region used after that throws {@link IllegalStateException}; it cannot
 *       touch unmapped memory. {@link #checkedAccess()} is true.
 *   <li>JDK 17 to 21: a {@link java.nio.MappedByteBuffer} that {@link #unmap()} gives back through
 *       its cleaner ({@code sun.misc.Unsafe#invokeCleaner}, in {@code jdk.unsupported}: no flag
 *       needed). A buffer used after that would crash the process, so an owner unmaps only when
 *       nothing can still use the region: its own copies counted, and no buffer of it lent out.
 *       (JDK 24 and later print a deprecation warning for that method, hence the arena there.)
 *   <li>Where neither can be reached, {@link #unmap()} does nothing and the mapping goes with the
 *       garbage collector, as before.
 * </ul>
 */
public final class RegionMapping {

  private static final MethodHandle OF_SHARED;
  private static final MethodHandle MAP_INTO;
  private static final MethodHandle AS_BYTE_BUFFER;
  private static final MethodHandle CLOSE_ARENA;
  private static final MethodHandle INVOKE_CLEANER;

  static {
    MethodHandle ofShared = null;
    MethodHandle mapInto = null;
    MethodHandle asByteBuffer = null;
    MethodHandle closeArena = null;
    MethodHandle invokeCleaner = null;
    MethodHandles.Lookup lookup = MethodHandles.publicLookup();
    if (Runtime.version().feature() >= 22) {
      try {
        Class<?> arena = Class.forName("java.lang.foreign.Arena");
        Class<?> segment = Class.forName("java.lang.foreign.MemorySegment");
        ofShared = lookup.findStatic(arena, "ofShared", MethodType.methodType(arena));
        mapInto = lookup.findVirtual(FileChannel.class, "map", MethodType.methodType(segment,
            FileChannel.MapMode.class, long.class, long.class, arena));
        asByteBuffer = lookup.findVirtual(segment, "asByteBuffer",
            MethodType.methodType(ByteBuffer.class));
        closeArena = lookup.findVirtual(arena, "close", MethodType.methodType(void.class));
      } catch (ReflectiveOperationException | RuntimeException e) {
        ofShared = null;
      }
    }
    if (ofShared == null) {
      try {
        Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
        Field theUnsafe = unsafeClass.getDeclaredField("theUnsafe");
        theUnsafe.setAccessible(true);
        invokeCleaner = lookup.findVirtual(unsafeClass, "invokeCleaner",
            MethodType.methodType(void.class, ByteBuffer.class)).bindTo(theUnsafe.get(null));
      } catch (ReflectiveOperationException | RuntimeException e) {
        invokeCleaner = null;
      }
    }
    OF_SHARED = ofShared;
    MAP_INTO = mapInto;
    AS_BYTE_BUFFER = asByteBuffer;
    CLOSE_ARENA = closeArena;
    INVOKE_CLEANER = invokeCleaner;
  }

  private final ByteBuffer buffer;
  /** The shared arena the file is mapped into (JDK 22+), or null. */
  private final Object arena;
  private boolean unmapped;

  private RegionMapping(ByteBuffer buffer, Object arena) {
    this.buffer = buffer;
    this.arena = arena;
  }

  /**
   * Maps {@code length} bytes of {@code channel} from offset 0, read-write. The mapping stays when
   * the channel is closed.
   */
  public static RegionMapping map(FileChannel channel, long length) throws IOException {
    if (OF_SHARED != null) {
      Object arena;
      try {
        arena = OF_SHARED.invoke();
      } catch (Throwable t) {
        throw new IOException("cannot make an arena for a shared-memory region", t);
      }
      try {
        Object segment = MAP_INTO.invoke(channel, FileChannel.MapMode.READ_WRITE, 0L, length, arena);
        return new RegionMapping((ByteBuffer) AS_BYTE_BUFFER.invoke(segment), arena);
      } catch (Throwable t) {
        closeQuietly(arena);
        if (t instanceof IOException) {
          throw (IOException) t;
        }
        throw new IOException("cannot map a shared-memory region of " + length + " bytes", t);
      }
    }
    return new RegionMapping(channel.map(FileChannel.MapMode.READ_WRITE, 0, length), null);
  }

  /**
   * The mapped bytes (position 0, capacity the length). Shared: use absolute access, or slices and
   * duplicates of it; every one of them is invalid after {@link #unmap()}.
   */
  public ByteBuffer buffer() {
    return buffer;
  }

  /**
   * Whether a buffer of a region used after {@link #unmap()} throws ({@link
   * IllegalStateException}) rather than crashes: true on JDK 22 and later (the arena).
   */
  public static boolean checkedAccess() {
    return OF_SHARED != null;
  }

  /**
   * Unmaps regions in the background. Unmapping a region of 160 MiB whose pages were all touched
   * took 10 ms, and 27 to 58 ms when it was the file's last mapping (the tmpfs frees the pages
   * then), measured on the development host: too long for an event loop, where a connection's
   * close runs, or a store thread. One thread, started when there is work and gone after a second
   * without any (a daemon thread: nothing for an owner to stop); each region is unmapped once, so
   * the queue holds at most the regions closed meanwhile.
   */
  private static final ThreadPoolExecutor UNMAPPER = new ThreadPoolExecutor(0, 1, 1,
      TimeUnit.SECONDS, new LinkedBlockingQueue<>(), task -> {
        Thread t = new Thread(task, "kvstore-region-unmap");
        t.setDaemon(true);
        return t;
      });

  /**
   * Gives the mapping back, on the unmapping thread (or leaves it to the garbage collector where
   * that cannot be done); idempotent. The caller makes sure that nothing uses the region any more
   * (see the class comment).
   */
  public void unmap() {
    synchronized (this) {
      if (unmapped) {
        return;
      }
      unmapped = true;
    }
    if (arena == null && INVOKE_CLEANER == null) {
      return;
    }
    try {
      UNMAPPER.execute(this::release);
    } catch (RejectedExecutionException e) {
      release(); // never with an unbounded queue; here, rather than never
    }
  }

  /**
   * Gives the mapping back now, on the calling thread (where it can be done); idempotent. For small
   * mappings, whose unmapping is quick, closed where waiting is fine. The caller makes sure that
   * nothing uses the mapping any more.
   */
  public void unmapNow() {
    synchronized (this) {
      if (unmapped) {
        return;
      }
      unmapped = true;
    }
    if (arena != null || INVOKE_CLEANER != null) {
      release();
    }
  }

  private void release() {
    if (arena != null) {
      closeQuietly(arena);
    } else {
      try {
        INVOKE_CLEANER.invokeExact(buffer);
      } catch (Throwable t) {
        // Not unmapped now: the garbage collector will.
      }
    }
  }

  /**
   * Waits until every unmap asked for before this call is done (for tests that look at the tmpfs
   * afterwards, and unmount it).
   *
   * @return false if that took longer than {@code timeoutMillis}
   */
  public static boolean awaitUnmaps(long timeoutMillis) throws InterruptedException {
    try {
      UNMAPPER.submit(() -> { }).get(timeoutMillis, TimeUnit.MILLISECONDS);
      return true;
    } catch (ExecutionException | TimeoutException e) {
      return false;
    }
  }

  private static void closeQuietly(Object arena) {
    try {
      CLOSE_ARENA.invoke(arena);
    } catch (Throwable t) {
      // Only an arena being closed twice or used by a native call throws; neither happens here.
    }
  }
}
