package io.kvstore.core.tier.ssd;

import io.kvstore.common.RegionMapping;
import java.io.IOException;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.function.Supplier;

/**
 * What a restart after a process crash needs to reopen the block index the killed process left,
 * instead of rebuilding it from RocksDB's location records (spec/6-ssd-segments.md, 6.5 rule 6):
 * a small file in the segments directory, mapped while the tier is open, written with plain
 * stores (a killed process's stores into a shared mapping are in the page cache, so the next
 * process reads them; a machine crash is told apart by the kernel's boot id, and then nothing here
 * is trusted).
 *
 * <p>It holds:
 *
 * <ul>
 *   <li>the boot id of the machine that wrote it, and its state: {@link #OPEN} while a tier uses
 *       it, {@link #CLOSED} once the tier closed cleanly (its clean marker governs then), {@link
 *       #UNTRUSTED} once the tier did something a reopened index would not account for (a put that
 *       failed after its records were written, a location record RocksDB refused to delete, more
 *       puts in flight than intents);
 *   <li>the segment id of every slot (index entries name their segment's slot: a reopened index
 *       whose segments go back to their slots needs no entry rewritten);
 *   <li>the <em>intents</em>: the runs of pages whose location records may be written while their
 *       index entries are not yet (a put logs its records before its entries). A run is one
 *       segment id, offset and length, and its pages lie back to back there, so the pages are found
 *       by walking their headers. A kill inside that window leaves records the index does not know;
 *       the reopen repairs each (see {@link SsdTierLoader}), since a later delete of such a key,
 *       which the tier does not hold, would not delete the record, and a rebuild after a later
 *       crash would bring the page back;
 *   <li>the <em>tombstones</em>, in the same table: keys whose index entry a delete removed while
 *       their location record is not deleted yet (a {@link RecordDeleter} deletes it off the
 *       caller's thread). The open after a crash on this boot deletes those records first, whether
 *       it keeps the index or rebuilds it, so a deleted page never comes back.
 * </ul>
 *
 * Layout (big-endian): magic (u64), boot id (40 bytes, ASCII, zero padded), state (u32), slots
 * (u32), intents (u32), reserved to byte 64; the slot table (u64 per slot: segment id + 1, 0 for
 * none); the intents (three u64 each: segment id + 1 (0 for a free entry), offset, length; or, for
 * a tombstone, {@link #TOMBSTONE}, key hi, key lo).
 */
final class CrashJournal {

  static final String FILE_NAME = "journal";
  static final long MAGIC = 0x4b56_4a52_4e4c_3031L; // "KVJRNL01"
  static final int OPEN = 1;
  static final int CLOSED = 2;
  static final int UNTRUSTED = 3;
  /**
   * Entries of the intent table: runs of pages between their records and their entries, and
   * tombstones, at once. Deletes answered while the disk is frozen each hold one until it thaws,
   * so there are many (1.5 MiB of journal); journals of earlier runs had 256, still read.
   */
  static final int INTENTS = 65_536;
  /** The most entries a journal read back may have. */
  private static final int MAX_INTENTS = 1 << 20;
  /** The first word of an intent that is a tombstone (a segment id + 1 is never negative). */
  static final long TOMBSTONE = -1L;

  private static final int BOOT_OFFSET = 8;
  private static final int BOOT_BYTES = 40;
  private static final int STATE_OFFSET = 48;
  private static final int SLOTS_OFFSET = 52;
  private static final int INTENTS_OFFSET = 56;
  private static final int HEADER = 64;
  private static final int INTENT_BYTES = 24;

  /** Test hook: the boot id to use instead of the kernel's (null: the kernel's). */
  static volatile Supplier<String> bootIdForTest;

  private final RegionMapping mapping;
  /** The mapped file (absolute access only). */
  private final ByteBuffer map;
  private final int slotCount;
  private final int intentBase;
  /** 1 while an intent is claimed by a writer. */
  private final AtomicIntegerArray claimed = new AtomicIntegerArray(INTENTS);

  private CrashJournal(RegionMapping mapping, int slotCount) {
    this.mapping = mapping;
    this.map = mapping.buffer();
    this.slotCount = slotCount;
    this.intentBase = HEADER + 8 * slotCount;
  }

  /** A run of pages whose records may have been written without their index entries. */
  record Intent(long segmentId, long offset, long length) {}

  /**
   * What the journal of the last process says, read before the tier makes its own; {@code
   * tombstones} holds key hi, key lo pairs.
   */
  record Previous(
      String bootId,
      int state,
      Map<Long, Integer> slotOf,
      java.util.List<Intent> intents,
      long[] tombstones) {

    /**
     * Whether it was written on this very boot: then its tombstones hold whatever its state (the
     * stores of a killed process are in the page cache; after a reboot they may not be).
     */
    boolean sameBoot() {
      String now = currentBootId();
      return !now.isEmpty() && now.equals(bootId);
    }

    /**
     * Whether the last process left it open (it was killed, or its close failed) on this very boot,
     * with nothing done that a reopened index would not account for.
     */
    boolean trustworthy() {
      String now = currentBootId();
      return state == OPEN && !now.isEmpty() && now.equals(bootId);
    }
  }

  /** The kernel's boot id, or "" where it cannot be read (then no journal is ever trusted). */
  static String currentBootId() {
    Supplier<String> hook = bootIdForTest;
    if (hook != null) {
      return hook.get();
    }
    try {
      return Files.readString(Path.of("/proc/sys/kernel/random/boot_id"), StandardCharsets.US_ASCII)
          .trim();
    } catch (IOException | RuntimeException e) {
      return "";
    }
  }

  /** Bytes of a journal of {@code slots} slots. */
  static int bytesFor(int slots) {
    return HEADER + 8 * slots + INTENT_BYTES * INTENTS;
  }

  /**
   * Reads the journal the last process left in {@code segDir}, or null if there is none or it is
   * not whole (a file of an earlier run cut short, or of another format): then nothing is trusted.
   */
  static Previous read(Path segDir) {
    Path file = segDir.resolve(FILE_NAME);
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      return null;
    }
    ByteBuffer b = ByteBuffer.wrap(bytes);
    if (bytes.length < HEADER || b.getLong(0) != MAGIC) {
      return null;
    }
    int slots = b.getInt(SLOTS_OFFSET);
    int intents = b.getInt(INTENTS_OFFSET);
    if (slots < 0
        || intents <= 0
        || intents > MAX_INTENTS
        || bytes.length != (long) HEADER + 8L * slots + (long) INTENT_BYTES * intents) {
      return null;
    }
    int n = 0;
    while (n < BOOT_BYTES && bytes[BOOT_OFFSET + n] != 0) {
      n++;
    }
    String boot = new String(bytes, BOOT_OFFSET, n, StandardCharsets.US_ASCII);
    Map<Long, Integer> slotOf = new HashMap<>();
    for (int i = 0; i < slots; i++) {
      long id = b.getLong(HEADER + 8 * i) - 1;
      if (id >= 0) {
        slotOf.put(id, i);
      }
    }
    java.util.List<Intent> list = new java.util.ArrayList<>();
    long[] tombs = new long[2 * intents];
    int tombCount = 0;
    int base = HEADER + 8 * slots;
    for (int i = 0; i < intents; i++) {
      int at = base + INTENT_BYTES * i;
      long first = b.getLong(at);
      if (first == TOMBSTONE) {
        tombs[2 * tombCount] = b.getLong(at + 8);
        tombs[2 * tombCount + 1] = b.getLong(at + 16);
        tombCount++;
      } else if (first - 1 >= 0) {
        list.add(new Intent(first - 1, b.getLong(at + 8), b.getLong(at + 16)));
      }
    }
    return new Previous(
        boot, b.getInt(STATE_OFFSET), slotOf, list, Arrays.copyOf(tombs, 2 * tombCount));
  }

  /**
   * Makes this process's journal in {@code segDir}, replacing the last one atomically (a temporary
   * file renamed over it, so a kill leaves the old one or the new one, whole), with {@code
   * slotIds[i]} the segment id in slot {@code i} (-1 for none), and maps it.
   */
  static CrashJournal create(Path segDir, long[] slotIds) throws IOException {
    int slots = slotIds.length;
    ByteBuffer b = ByteBuffer.allocate(bytesFor(slots));
    b.putLong(0, MAGIC);
    byte[] boot = currentBootId().getBytes(StandardCharsets.US_ASCII);
    b.put(BOOT_OFFSET, boot, 0, Math.min(boot.length, BOOT_BYTES - 1));
    b.putInt(STATE_OFFSET, OPEN);
    b.putInt(SLOTS_OFFSET, slots);
    b.putInt(INTENTS_OFFSET, INTENTS);
    for (int i = 0; i < slots; i++) {
      b.putLong(HEADER + 8 * i, slotIds[i] + 1);
    }
    Path tmp = segDir.resolve(FILE_NAME + ".new");
    Path file = segDir.resolve(FILE_NAME);
    try (FileChannel ch =
        FileChannel.open(
            tmp,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.READ,
            StandardOpenOption.WRITE)) {
      while (b.hasRemaining()) {
        ch.write(b);
      }
      // The blocks are allocated now, so stores through the mapping never meet a full disk.
      ch.force(true);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      return new CrashJournal(RegionMapping.map(ch, bytesFor(slots)), slots);
    } catch (IOException | RuntimeException e) {
      io.kvstore.common.SyncedFiles.deleteAfter(e, tmp);
      throw e;
    }
  }

  /** Records that slot {@code slot} holds segment {@code id}, or none with -1. */
  void slot(int slot, long id) {
    if (slot >= 0 && slot < slotCount) {
      map.putLong(HEADER + 8 * slot, id + 1);
    }
  }

  /**
   * Claims an intent for the run {@code [offset, offset + length)} of segment {@code segmentId},
   * before its location records are written.
   *
   * @return the intent, for {@link #release}; -1 if every intent is taken (the journal is then
   *     untrusted: a crash rebuilds the directory from the records)
   */
  int claim(long segmentId, long offset, long length) {
    int start = (int) (Thread.currentThread().getId() % INTENTS);
    for (int k = 0; k < INTENTS; k++) {
      int i = (start + k) % INTENTS;
      if (claimed.get(i) == 0 && claimed.compareAndSet(i, 0, 1)) {
        int at = intentBase + INTENT_BYTES * i;
        map.putLong(at + 8, offset);
        map.putLong(at + 16, length);
        VarHandle.storeStoreFence();
        map.putLong(at, segmentId + 1);
        // The records are written after this: a JNI call, which no store moves past.
        VarHandle.fullFence();
        return i;
      }
    }
    untrusted();
    return -1;
  }

  /**
   * Claims an entry for a tombstone of the key, before its index entry is removed (its location
   * record is deleted later, by a {@link RecordDeleter}).
   *
   * @return the entry, for {@link #release} once the record is deleted; -1 if every entry is taken
   *     (the caller then deletes the record itself; the journal stays trusted)
   */
  int tombstone(long hi, long lo) {
    int start = (int) (Thread.currentThread().getId() % INTENTS);
    for (int k = 0; k < INTENTS; k++) {
      int i = (start + k) % INTENTS;
      if (claimed.get(i) == 0 && claimed.compareAndSet(i, 0, 1)) {
        int at = intentBase + INTENT_BYTES * i;
        map.putLong(at + 8, hi);
        map.putLong(at + 16, lo);
        VarHandle.storeStoreFence();
        map.putLong(at, TOMBSTONE);
        // The index entry is removed after this; a kill between finds the tombstone.
        VarHandle.fullFence();
        return i;
      }
    }
    return -1;
  }

  /**
   * Makes the journal in {@code dir} vouch for nothing (state {@link #UNTRUSTED}), keeping its
   * tombstones for the rebuild that follows; a journal with no tombstone of this boot is deleted
   * instead. One that holds tombstones and cannot be written in place is not deleted: its
   * tombstones are deletes the killed process answered, and without them the rebuild would serve
   * those pages again.
   *
   * @throws IOException if it can be neither marked nor deleted, or holds tombstones and cannot be
   *     marked (the message says which file, and why)
   */
  static void markUntrusted(Path dir) throws IOException {
    Path file = dir.resolve(FILE_NAME);
    Previous last = read(dir);
    if (last == null || last.tombstones().length == 0 || !last.sameBoot()) {
      Files.deleteIfExists(file); // nothing in it a rebuild could use
      return;
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      IOException fault = markFaultForTest;
      if (fault != null) {
        throw fault;
      }
      ByteBuffer state = ByteBuffer.allocate(4).putInt(0, UNTRUSTED);
      while (state.hasRemaining()) {
        ch.write(state, STATE_OFFSET + state.position());
      }
      ch.force(false);
    } catch (IOException e) {
      throw new IOException(
          "cannot mark the crash journal "
              + file
              + " untrusted before the directory is rebuilt ("
              + e
              + "); it is kept: it holds "
              + last.tombstones().length / 2
              + " deletes answered before the crash that the rebuild must apply",
          e);
    }
  }

  /** Test hook: the failure of the write that marks a journal untrusted (null: none). */
  static volatile IOException markFaultForTest;

  /** Releases an intent once the run's index entries are written (or nothing was written). */
  void release(int intent) {
    if (intent < 0) {
      return;
    }
    VarHandle.fullFence(); // the index entries' stores before the intent goes
    map.putLong(intentBase + INTENT_BYTES * intent, 0);
    claimed.set(intent, 0);
  }

  /** From now on a crash rebuilds the directory from the location records (sticky). */
  void untrusted() {
    map.putInt(STATE_OFFSET, UNTRUSTED);
  }

  /** The tier closed cleanly: its clean marker (written next) governs the next open. */
  void closed() {
    if (map.getInt(STATE_OFFSET) == OPEN) {
      map.putInt(STATE_OFFSET, CLOSED);
    }
  }

  /**
   * Unmaps the file (a mapping left to the garbage collector would keep the file system busy).
   * The caller makes sure nothing uses the journal any more.
   */
  void close() {
    mapping.unmapNow();
  }

  /** The state word, for tests. */
  int state() {
    return map.getInt(STATE_OFFSET);
  }
}
